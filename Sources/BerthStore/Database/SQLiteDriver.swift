import BerthCore
import Logging
import SQLKit
import SQLiteKit
import SQLiteNIO

/// One SQLite file in WAL mode behind one connection: statements and transactions take turns
/// (``AsyncGate``), and a transaction is `BEGIN IMMEDIATE`, so it holds the write lock from its
/// first statement.
final class SQLiteDriver: StoreDriver {
    let dialect = StoreDialect.sqlite
    private let connection: SQLiteConnection
    private let gate = AsyncGate()
    private let record: @Sendable (String, Duration) -> Void

    static func open(path: String?, logger: Logger, record: @escaping @Sendable (String, Duration) -> Void) async throws -> SQLiteDriver {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: path.map { .file(path: $0) } ?? .memory, logger: logger)
        } catch {
            throw BerthError(.storeUnavailable, "cannot open the database at \(path ?? ":memory:"): \(StoreErrors.describe(error))")
        }
        let driver = SQLiteDriver(connection: connection, record: record)
        do {
            // busy_timeout first: switching a new file to WAL takes an exclusive lock, which
            // another process opening the same file at that moment holds for a while.
            for pragma in ["PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"] {
                _ = try await connection.query(pragma)
            }
        } catch {
            try? await connection.close().get()
            throw BerthError(.storeUnavailable, "cannot prepare the database at \(path ?? ":memory:"): \(StoreErrors.describe(error))")
        }
        return driver
    }

    private init(connection: SQLiteConnection, record: @escaping @Sendable (String, Duration) -> Void) {
        self.connection = connection
        self.record = record
    }

    func run<R: Sendable>(_ operation: String, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let database = connection.sql()
        let record = record
        return try await gate.withGate {
            let started = ContinuousClock.now
            defer { record(operation, ContinuousClock.now - started) }
            do {
                return try await body(database)
            } catch {
                throw StoreErrors.map(error)
            }
        }
    }

    func transaction<R: Sendable>(_ body: @Sendable (any SQLRunner) async throws -> R) async throws -> R {
        let database = connection.sql()
        let pinned = PinnedRunner(database: database, dialect: dialect, record: record, health: TransactionHealth())
        return try await gate.withGate {
            do {
                try await database.raw("BEGIN IMMEDIATE").run()
            } catch {
                throw StoreErrors.map(error)
            }
            do {
                let result = try await body(pinned)
                try pinned.health.checkCommittable()
                try await database.raw("COMMIT").run()
                return result
            } catch {
                try? await database.raw("ROLLBACK").run()
                throw StoreErrors.map(error)
            }
        }
    }

    func close() async throws {
        // The future-based close runs even in a cancelled task (the async one is skipped there,
        // which leaves the handle open: a leak, and an assertion failure in debug builds).
        try await connection.close().get()
    }
}
