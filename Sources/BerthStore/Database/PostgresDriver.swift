import BerthCore
import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// A pool of PostgreSQL connections (`PostgresClient`, run in a task of its own). A transaction
/// pins one connection for its whole body, at READ COMMITTED, and is run again (up to 4 times)
/// when PostgreSQL reports a serialization failure or a deadlock: bodies only touch the database,
/// so running one again is safe.
final class PostgresDriver: StoreDriver {
    let dialect = StoreDialect.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let record: @Sendable (String, Duration) -> Void
    private let logger: Logger

    /// How long ``open(location:logger:record:)`` waits for a first connection before it gives up.
    static let reachTimeout: Duration = .seconds(10)

    /// Connects once, outside the pool, and only then builds the pool. The pool retries a server it
    /// cannot reach for a minute before failing its callers, and never says why; this first
    /// connection fails at once (or after ``reachTimeout``) with PostgreSQL's own reason: refused,
    /// unknown host, wrong password, no such database.
    static func open(location: PostgresLocation, logger: Logger, record: @escaping @Sendable (String, Duration) -> Void) async throws -> PostgresDriver {
        try await probe(location, logger: logger)
        return PostgresDriver(location: location, logger: logger, record: record)
    }

    private static func probe(_ location: PostgresLocation, logger: Logger) async throws {
        let address = location.redactedURL
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let configuration = try connectionConfiguration(location)
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                    try? await connection.close()
                }
                group.addTask {
                    try await Task.sleep(for: reachTimeout)
                    throw BerthError(.storeUnavailable, "PostgreSQL at \(address) did not answer within \(reachTimeout).")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.storeUnavailable, "Cannot connect to PostgreSQL at \(address): \(StoreErrors.describe(error)).")
        }
    }

    /// The settings of one connection (the probe's), as the pool's are made in `init`.
    private static func connectionConfiguration(_ location: PostgresLocation) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch tlsConfiguration(location.tls) {
        case .none: tls = .disable
        case .some(let configuration) where location.tls == .prefer: tls = .prefer(try NIOSSLContext(configuration: configuration))
        case .some(let configuration): tls = .require(try NIOSSLContext(configuration: configuration))
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls
        )
        configuration.options.connectTimeout = .seconds(5)
        if let searchPath = location.searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        return configuration
    }

    private init(location: PostgresLocation, logger: Logger, record: @escaping @Sendable (String, Duration) -> Void) {
        let tls: PostgresClient.Configuration.TLS
        switch Self.tlsConfiguration(location.tls) {
        case .none: tls = .disable
        case .some(let configuration) where location.tls == .prefer: tls = .prefer(configuration)
        case .some(let configuration): tls = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls
        )
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(5)
        if let searchPath = location.searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        // The pool's own messages (a lease asked for a moment before its run loop started, a
        // connection that failed and is retried) are noise unless they are errors: every query
        // that fails reports the database's reason itself.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.client = client
        self.runner = Task { await client.run() }
        self.record = record
        self.logger = logger
    }

    /// NIOSSL's settings for an `sslmode`; nil for `disable`. `prefer` and `require` encrypt
    /// without checking the certificate (as libpq does); `verify-full` checks it and the host name.
    private static func tlsConfiguration(_ mode: PostgresLocation.TLSMode) -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable:
            return nil
        case .prefer, .require:
            configuration.certificateVerification = .none
            return configuration
        case .verifyFull:
            return configuration
        }
    }

    func run<R: Sendable>(_ operation: String, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let started = ContinuousClock.now
        defer { record(operation, ContinuousClock.now - started) }
        do {
            return try await client.withConnection { connection in
                try await body(connection.sql(queryLogLevel: nil))
            }
        } catch {
            throw StoreErrors.map(error)
        }
    }

    func transaction<R: Sendable>(_ body: @Sendable (any SQLRunner) async throws -> R) async throws -> R {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (record, logger) = (record, logger)
                return try await client.withConnection { connection in
                    let database = connection.sql(queryLogLevel: nil)
                    try await database.raw("BEGIN ISOLATION LEVEL READ COMMITTED").run()
                    let pinned = PinnedRunner(database: database, dialect: .postgres, record: record, health: TransactionHealth())
                    do {
                        let result = try await body(pinned)
                        try pinned.health.checkCommittable()
                        // An aborted transaction answers COMMIT with the tag ROLLBACK and no error.
                        let commit = try await connection.query("COMMIT", logger: logger).get()
                        guard commit.metadata.command == "COMMIT" else {
                            throw TransactionHealth.rolledBack("PostgreSQL answered COMMIT with \(commit.metadata.command)")
                        }
                        return result
                    } catch {
                        try? await database.raw("ROLLBACK").run()
                        throw error
                    }
                }
            } catch where attempt < 4 && StoreErrors.isRetryable(error) {
                continue
            } catch {
                throw StoreErrors.map(error)
            }
        }
    }

    func close() async throws {
        runner.cancel()
        await runner.value
    }
}
