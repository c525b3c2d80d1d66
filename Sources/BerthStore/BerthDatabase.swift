import BerthCore
import BerthMetrics
import Foundation
import Logging
import Synchronization

/// Berth's persistent state: one repository per aggregate, on SQLite (the embedded default, one
/// replica) or PostgreSQL (several replicas), with the same queries on both.
///
/// Each repository call runs on its own; `withTransaction` runs several, of one repository or
/// of many, as one transaction.
public final class BerthDatabase: Sendable {
    public let location: DatabaseLocation
    private let driver: any StoreDriver
    /// Leadership on SQLite (``ClusterRepository/withLeadership(_:_:)``): one process per file.
    private let localLeaders = LocalLeadership()

    public var dialect: StoreDialect { driver.dialect }
    public var accounts: AccountRepository { AccountRepository(sql: driver) }
    public var teams: TeamRepository { TeamRepository(sql: driver) }
    public var instances: InstanceRepository { InstanceRepository(sql: driver) }
    public var recordings: RecordingRepository { RecordingRepository(sql: driver) }
    public var audit: AuditRepository { AuditRepository(sql: driver) }
    public var play: PlayRepository { PlayRepository(sql: driver) }
    public var labs: LabRepository { LabRepository(sql: driver) }
    public var workspaces: WorkspaceRepository { WorkspaceRepository(sql: driver) }
    public var sharedState: SharedStateRepository { SharedStateRepository(sql: driver) }
    public var terminalHolders: TerminalHolderRepository { TerminalHolderRepository(sql: driver) }
    public var presence: PresenceRepository { PresenceRepository(sql: driver) }
    public var cluster: ClusterRepository { ClusterRepository(sql: driver, localLeaders: localLeaders) }

    /// Names of every migration this version knows, in order.
    public static var migrationNames: [String] { StoreMigrations.all.map(\.name) }

    /// Opens the database at `url` (see ``DatabaseLocation/parse(_:)``) and applies pending
    /// migrations. With `metrics`, every call's duration is recorded under the repository method
    /// that made it.
    public static func open(url: String, logger: Logger = Logger(label: "berth.store"), metrics: BerthMetrics? = nil) async throws -> BerthDatabase {
        try await open(location: DatabaseLocation.parse(url), logger: logger, metrics: metrics)
    }

    /// Opens a SQLite database (in memory with nil).
    public static func open(path: String?, logger: Logger = Logger(label: "berth.store"), metrics: BerthMetrics? = nil) async throws -> BerthDatabase {
        try await open(location: .sqlite(path: path), logger: logger, metrics: metrics)
    }

    public static func open(location: DatabaseLocation, logger: Logger = Logger(label: "berth.store"), metrics: BerthMetrics? = nil) async throws -> BerthDatabase {
        let record: @Sendable (String, Duration) -> Void = { operation, duration in metrics?.storeCall(operation, duration: duration) }
        let driver: any StoreDriver
        var sqlitePath: String?
        switch location {
        case .sqlite(let path):
            driver = try await SQLiteDriver.open(path: path, logger: logger, record: record)
            sqlitePath = path
        case .postgres(let postgres):
            driver = try await PostgresDriver.open(location: postgres, logger: logger, record: record)
        }
        do {
            try await Migrator.apply(StoreMigrations.all, on: driver, sqlitePath: sqlitePath, logger: logger)
        } catch {
            try? await driver.close()
            throw error
        }
        return BerthDatabase(location: location, driver: driver)
    }

    private init(location: DatabaseLocation, driver: any StoreDriver) {
        self.location = location
        self.driver = driver
    }

    /// Runs `body` in one transaction across repositories: committed when it returns, rolled
    /// back when it throws. On SQLite, `body` must reach the database only through `tx` (the one
    /// connection is held by the transaction).
    public func withTransaction<R: Sendable>(_ body: @Sendable (Repositories) async throws -> R) async throws -> R {
        try await driver.transaction { pinned in try await body(Repositories(sql: pinned)) }
    }

    /// Succeeds when the database answers a query.
    public func ping() async throws {
        try await driver.run("ping") { db in try await db.raw("SELECT 1").run() }
    }

    /// ``ping()``, failing with `store_unavailable` once `timeout` has passed: a PostgreSQL server
    /// that went away after start-up would otherwise keep the pool's caller waiting for a
    /// connection for a minute. The probe is left to finish (or fail) on its own.
    public func ping(timeout: Duration) async throws {
        let answered = Mutex(false)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let finish: @Sendable (Result<Void, any Error>) -> Void = { result in
                guard answered.withLock({ done in defer { done = true }; return !done }) else { return }
                continuation.resume(with: result)
            }
            let probe = Task {
                do { try await self.ping(); finish(.success(())) } catch { finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                finish(.failure(BerthError(.storeUnavailable, "The database did not answer within \(timeout).")))
                probe.cancel()
            }
        }
    }

    /// Names of the migrations applied, in order.
    public func appliedMigrations() async throws -> [String] {
        try await Migrator.appliedNames(driver)
    }

    /// Releases the connections.
    public func close() async throws {
        try await driver.close()
    }
}

/// Every repository, bound to one transaction (``BerthDatabase/withTransaction(_:)``).
public struct Repositories: Sendable {
    public let accounts: AccountRepository
    public let teams: TeamRepository
    public let instances: InstanceRepository
    public let recordings: RecordingRepository
    public let audit: AuditRepository
    public let play: PlayRepository
    public let labs: LabRepository
    public let workspaces: WorkspaceRepository
    public let sharedState: SharedStateRepository
    public let terminalHolders: TerminalHolderRepository
    public let presence: PresenceRepository
    public let cluster: ClusterRepository

    init(sql: any SQLRunner) {
        accounts = AccountRepository(sql: sql)
        teams = TeamRepository(sql: sql)
        instances = InstanceRepository(sql: sql)
        recordings = RecordingRepository(sql: sql)
        audit = AuditRepository(sql: sql)
        play = PlayRepository(sql: sql)
        labs = LabRepository(sql: sql)
        workspaces = WorkspaceRepository(sql: sql)
        sharedState = SharedStateRepository(sql: sql)
        terminalHolders = TerminalHolderRepository(sql: sql)
        presence = PresenceRepository(sql: sql)
        cluster = ClusterRepository(sql: sql)
    }
}
