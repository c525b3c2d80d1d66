import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import SQLKit

/// Values and helpers the play, lab and workspace repository suites share.
enum PlayFixtures {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)
    static let ada = Owner(kind: .user, id: "usr_ada")
    static let crew = Owner(kind: .team, id: "team_crew")
    /// Quotes, a backslash, a percent sign, combining marks, emoji and right-to-left text, long.
    static let awkward = "it's \"quoted\" \\ 100% — café́ ☃️🚩 שלום " + String(repeating: "ü€𝄞", count: 3000)

    /// Runs `body` with the URL of a storage that outlives one ``BerthDatabase``: a SQLite file in a
    /// temporary directory, or a PostgreSQL schema of its own (dropped afterwards), so a test can
    /// close the database and open it again.
    static func withStorage(_ backend: StoreBackend, _ body: (String) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            try await TemporaryDirectory.with(prefix: "berth-play") { directory in try await body(directory.path("berth.db").path) }
        case .postgres:
            let schema = try await TestPostgres.createSchema()
            do {
                try await body(try TestPostgres.url(schema: schema))
                try await TestPostgres.dropSchema(schema)
            } catch {
                try? await TestPostgres.dropSchema(schema)
                throw error
            }
        }
    }

    /// Opens the database at `url` without the migrations' log lines.
    static func open(_ url: String) async throws -> BerthDatabase {
        var logger = Logger(label: "berth.test.play")
        logger.logLevel = .warning
        return try await BerthDatabase.open(url: url, logger: logger)
    }

    /// Runs statements behind the repositories' back, as a hand edit or a bad restore would.
    static func execute(_ database: BerthDatabase, _ statements: String...) async throws {
        try await database.play.sql.run { db in
            for statement in statements { try await db.raw(SQLQueryString(statement)).run() }
        }
    }
}
