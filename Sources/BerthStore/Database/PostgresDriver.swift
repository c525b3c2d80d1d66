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

    init(location: PostgresLocation, logger: Logger, record: @escaping @Sendable (String, Duration) -> Void) {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: Self.tls(location.tls)
        )
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(5)
        if let searchPath = location.searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
        self.record = record
    }

    private static func tls(_ mode: PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable:
            return .disable
        case .prefer:
            configuration.certificateVerification = .none
            return .prefer(configuration)
        case .require:
            configuration.certificateVerification = .none
            return .require(configuration)
        case .verifyFull:
            return .require(configuration)
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
                let record = record
                return try await client.withConnection { connection in
                    let database = connection.sql(queryLogLevel: nil)
                    try await database.raw("BEGIN ISOLATION LEVEL READ COMMITTED").run()
                    do {
                        let result = try await body(PinnedRunner(database: database, dialect: .postgres, record: record))
                        try await database.raw("COMMIT").run()
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
