import BerthCore
import BerthStore
import Foundation
import Logging
import PostgresNIO

/// The databases the store suite runs on: SQLite always, PostgreSQL when
/// `BERTH_TEST_POSTGRES_URL` names a server (`make test` starts one and sets it).
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// SQLite, and PostgreSQL when its URL is set.
    public static var enabled: [StoreBackend] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// The server the PostgreSQL runs use (`BERTH_TEST_POSTGRES_URL`).
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["BERTH_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True when PostgreSQL must run (`BERTH_TEST_REQUIRE_POSTGRES=1`, set by `make test`): a
    /// missing URL is then a failure, not a quiet SQLite-only run.
    public static var postgresRequired: Bool {
        ProcessInfo.processInfo.environment["BERTH_TEST_REQUIRE_POSTGRES"] == "1"
    }
}

/// A fresh, empty database for one test: an in-memory SQLite database, or a PostgreSQL schema of
/// its own (dropped afterwards), so tests run in parallel without seeing each other's rows.
public func withTestDatabase<R: Sendable>(
    _ backend: StoreBackend, _ body: @Sendable (BerthDatabase) async throws -> R
) async throws -> R {
    switch backend {
    case .sqlite:
        return try await withOpenDatabase(.sqlite(path: nil), body)
    case .postgres:
        return try await withPostgresSchema { location in try await withOpenDatabase(location, body) }
    }
}

/// Two handles on one fresh database, as two servers sharing it would hold: two connection pools
/// on one PostgreSQL schema, or, for SQLite (one connection per process), the same handle twice.
public func withTwoTestDatabases<R: Sendable>(
    _ backend: StoreBackend, _ body: @Sendable (BerthDatabase, BerthDatabase) async throws -> R
) async throws -> R {
    switch backend {
    case .sqlite:
        return try await withOpenDatabase(.sqlite(path: nil)) { database in try await body(database, database) }
    case .postgres:
        return try await withPostgresSchema { location in
            try await withOpenDatabase(location) { first in
                try await withOpenDatabase(location) { second in try await body(first, second) }
            }
        }
    }
}

/// Opens the database at `location`, runs `body`, and closes it whatever happened.
private func withOpenDatabase<R: Sendable>(
    _ location: DatabaseLocation, _ body: @Sendable (BerthDatabase) async throws -> R
) async throws -> R {
    let database = try await BerthDatabase.open(location: location, logger: quietStoreLogger)
    do {
        let result = try await body(database)
        try await database.close()
        return result
    } catch {
        try? await database.close()
        throw error
    }
}

/// A fresh schema on the test server for `body`, dropped afterwards whatever happened.
private func withPostgresSchema<R: Sendable>(_ body: @Sendable (DatabaseLocation) async throws -> R) async throws -> R {
    let schema = try await TestPostgres.createSchema()
    do {
        let result = try await body(try DatabaseLocation.parse(try TestPostgres.url(schema: schema)))
        try await TestPostgres.dropSchema(schema)
        return result
    } catch {
        try? await TestPostgres.dropSchema(schema)
        throw error
    }
}

/// Migrations applied to each test's fresh database are not news.
private let quietStoreLogger: Logger = {
    var logger = Logger(label: "berth.test.store")
    logger.logLevel = .warning
    return logger
}()

/// Schemas (and, for the replica tests, databases) on the test server.
public enum TestPostgres {
    /// The server's URL with `search_path` set to `schema`.
    public static func url(schema: String) throws -> String {
        guard let base = StoreBackend.postgresURL else { throw FixtureError("BERTH_TEST_POSTGRES_URL is not set") }
        return base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)"
    }

    /// Creates a schema with a random name and answers it.
    public static func createSchema() async throws -> String {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try await execute("CREATE SCHEMA \(schema)")
        return schema
    }

    public static func dropSchema(_ schema: String) async throws {
        try await execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }

    /// Runs one statement on the test server (names in it are the caller's, never user input).
    public static func execute(_ statement: String) async throws {
        guard let base = StoreBackend.postgresURL else { throw FixtureError("BERTH_TEST_POSTGRES_URL is not set") }
        guard case .postgres(let location) = try DatabaseLocation.parse(base) else {
            throw FixtureError("BERTH_TEST_POSTGRES_URL is not a postgres:// URL: \(base)")
        }
        let configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable
        )
        var logger = Logger(label: "berth.test.postgres")
        logger.logLevel = .error
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
