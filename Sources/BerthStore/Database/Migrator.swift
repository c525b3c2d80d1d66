import BerthCore
import Foundation
import Logging
import SQLKit

/// Applies the migrations a database has not recorded yet, each in its own transaction.
///
/// It refuses a database that records a migration this Berth does not know (written by a newer
/// Berth). On PostgreSQL, replicas starting together take turns through an advisory lock, and
/// DDL is transactional. On SQLite, a database that already holds data is first copied to
/// `<file>.pre-<first pending migration>` (`VACUUM INTO`).
enum Migrator {
    static func apply(_ migrations: [Migration], on driver: any StoreDriver, sqlitePath: String?, logger: Logger) async throws {
        let dialect = driver.dialect
        let timeType = dialect == .sqlite ? "REAL" : "DOUBLE PRECISION"
        // Under the lock: two PostgreSQL sessions running CREATE TABLE IF NOT EXISTS at once can
        // both find it missing, and the second fails with a unique violation on pg_type.
        try await driver.transaction { runner in
            try await runner.run("migrate") { db in
                try await lock(db, dialect)
                try await db.raw(SQLQueryString("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at \(unsafeRaw: timeType) NOT NULL)")).run()
            }
        }
        let known = migrations.map(\.name)
        let applied = try await appliedNames(driver)
        if let unknown = applied.first(where: { !known.contains($0) }) {
            throw BerthError(
                .storeUnavailable,
                "The database records the migration '\(unknown)', which this Berth does not know: it was written by a newer Berth. Run that version, or restore a backup."
            )
        }
        let pending = migrations.filter { !applied.contains($0.name) }
        guard let first = pending.first else { return }
        if dialect == .sqlite, !applied.isEmpty, let path = sqlitePath {
            try await backUp(path: path, before: first.name, driver: driver, logger: logger)
        }
        for migration in pending {
            let didApply = try await driver.transaction { runner in
                try await runner.run("migrate") { db in
                    try await lock(db, dialect)
                    // Another replica (or another process on the SQLite file, whose write lock
                    // BEGIN IMMEDIATE holds) may have applied it while this one waited.
                    let done = try await db.raw("SELECT name FROM schema_migrations WHERE name = \(bind: migration.name)").all()
                    if !done.isEmpty { return false }
                    for statement in migration.statements(for: dialect) {
                        try await db.raw(SQLQueryString(statement)).run()
                    }
                    try await db.raw(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: Date().timeIntervalSince1970))"
                    ).run()
                    return true
                }
            }
            if didApply {
                logger.info("applied migration", metadata: ["migration.name": "\(migration.name)", "store.dialect": "\(dialect.rawValue)"])
            }
        }
    }

    /// Takes the migration lock until the transaction ends: on PostgreSQL an advisory lock per
    /// schema (so replicas on one schema take turns, and tests in schemas of their own do not
    /// wait for each other); on SQLite the transaction's `BEGIN IMMEDIATE` is the lock.
    private static func lock(_ db: any SQLDatabase, _ dialect: StoreDialect) async throws {
        guard dialect == .postgres else { return }
        try await db.raw("SELECT pg_advisory_xact_lock(hashtext('berth.migrate.' || coalesce(current_schema(), '')))").run()
    }

    static func appliedNames(_ runner: any SQLRunner) async throws -> [String] {
        try await runner.run("appliedMigrations") { db in
            try await db.raw("SELECT name FROM schema_migrations ORDER BY name").all().map { row in
                try RowDecoding.column(row, "name", as: String.self, table: "schema_migrations", key: "name")
            }
        }
    }

    private static func backUp(path: String, before migration: String, driver: any StoreDriver, logger: Logger) async throws {
        let copy = "\(path).pre-\(migration)"
        guard !FileManager.default.fileExists(atPath: copy) else { return }
        try await driver.run("migrate") { db in
            try await db.raw("VACUUM INTO \(bind: copy)").run()
        }
        logger.notice("copied the database before migrating it", metadata: ["store.backup": "\(copy)", "migration.name": "\(migration)"])
    }
}
