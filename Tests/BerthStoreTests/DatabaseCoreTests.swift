import BerthCore
@testable import BerthStore
import BerthTestSupport
import Foundation
import Logging
import SQLKit
import Testing

/// A database that can be opened more than once: a SQLite file in a temporary directory, or a
/// PostgreSQL schema of its own (dropped afterwards). `body` gets the URL and, for SQLite, the path.
func withReopenableDatabase<R: Sendable>(
    _ backend: StoreBackend, _ body: @Sendable (_ url: String, _ sqlitePath: String?) async throws -> R
) async throws -> R {
    switch backend {
    case .sqlite:
        return try await TemporaryDirectory.with(prefix: "berth-core") { directory in
            let path = directory.path("berth.db").path
            return try await body(path, path)
        }
    case .postgres:
        let schema = try await TestPostgres.createSchema()
        do {
            let result = try await body(try TestPostgres.url(schema: schema), nil)
            try await TestPostgres.dropSchema(schema)
            return result
        } catch {
            try? await TestPostgres.dropSchema(schema)
            throw error
        }
    }
}

/// Opens the driver under `BerthDatabase` itself, for tests of the migrator with made-up migrations.
func withDriver<R: Sendable>(_ url: String, _ body: @Sendable (any StoreDriver) async throws -> R) async throws -> R {
    let driver: any StoreDriver
    switch try DatabaseLocation.parse(url) {
    case .sqlite(let path): driver = try await SQLiteDriver.open(path: path, logger: coreTestLogger, record: { _, _ in })
    case .postgres(let location): driver = try await PostgresDriver.open(location: location, logger: coreTestLogger, record: { _, _ in })
    }
    do {
        let result = try await body(driver)
        try await driver.close()
        return result
    } catch {
        try? await driver.close()
        throw error
    }
}

let coreTestLogger: Logger = {
    var logger = Logger(label: "berth.test.core")
    logger.logLevel = .warning
    return logger
}()

/// Runs one statement outside any repository.
func execute(_ database: BerthDatabase, _ query: SQLQueryString) async throws {
    try await database.accounts.sql.run("test") { db in try await db.raw(query).run() }
}

/// The single integer a query answers.
func integer(_ runner: any SQLRunner, _ query: SQLQueryString) async throws -> Int {
    try await runner.run("test") { db in
        let rows = try await db.raw(query).all()
        guard rows.count == 1, let row = rows.first else { throw FixtureError("expected one row, got \(rows.count)") }
        return try row.decode(column: "n", as: Int.self)
    }
}

func userCount(_ runner: any SQLRunner) async throws -> Int {
    try await integer(runner, "SELECT COUNT(*) AS n FROM users")
}

func insertUser(_ runner: any SQLRunner, id: String, name: String) async throws {
    try await runner.run("test") { db in
        try await db.raw("INSERT INTO users (id, name, role, created_at) VALUES (\(bind: id), \(bind: name), 'player', \(bind: 1_700_000_000.5))").run()
    }
}

/// The `BerthError` `body` throws; fails the test when it throws something else or nothing.
func berthError(_ body: () async throws -> Void) async -> BerthError? {
    do {
        try await body()
        Issue.record("expected an error")
        return nil
    } catch let error as BerthError {
        return error
    } catch {
        Issue.record("expected a BerthError, got \(type(of: error)): \(error)")
        return nil
    }
}

/// An error of the caller's, thrown from a transaction's body.
let bodyFailure = BerthError(.invalidRequest, "the body gave up")

@Suite("The store on SQLite and PostgreSQL")
struct DatabaseCoreTests {
    @Test("make test runs the store suite on PostgreSQL too")
    func postgresIsThereWhenRequired() {
        if StoreBackend.postgresRequired {
            #expect(StoreBackend.postgresURL != nil, "BERTH_TEST_REQUIRE_POSTGRES=1 but BERTH_TEST_POSTGRES_URL is not set")
        }
    }

    @Test("a ping with a timeout answers store_unavailable when the database does not answer in time, and passes when it does")
    func pingTimeout() async throws {
        try await withTestDatabase(.sqlite) { (database: BerthDatabase) async throws in
            try await database.ping(timeout: .seconds(5))
            // A transaction holds SQLite's one connection for 3 s; a ping waiting for it gives up.
            let holder = Task { try await database.withTransaction { _ in try await Task.sleep(for: .seconds(3)) } }
            try await Task.sleep(for: .milliseconds(100))
            let error = await berthError { try await database.ping(timeout: .milliseconds(200)) }
            #expect(error?.code == .storeUnavailable)
            try await holder.value
            try await database.ping(timeout: .seconds(5))
        }
    }

    @Test("a new database has every migration, in order", arguments: StoreBackend.enabled)
    func migrations(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            #expect(try await database.appliedMigrations() == BerthDatabase.migrationNames)
            #expect(database.dialect.rawValue == backend.rawValue)
            try await database.ping()
        }
    }

    // MARK: Transactions

    @Test("a transaction whose body throws leaves nothing behind, and its error passes unchanged", arguments: StoreBackend.enabled)
    func rollback(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            let error = await berthError {
                try await database.withTransaction { tx in
                    try await insertUser(tx.accounts.sql, id: "usr_1", name: "ada")
                    try await insertUser(tx.teams.sql, id: "usr_2", name: "grace")
                    #expect(try await userCount(tx.accounts.sql) == 2, "the transaction sees its own writes")
                    throw bodyFailure
                }
            }
            #expect(error == bodyFailure)
            #expect(try await userCount(database.accounts.sql) == 0)
        }
    }

    @Test("a committed transaction is visible afterwards, and answers the body's value", arguments: StoreBackend.enabled)
    func commit(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            let answer = try await database.withTransaction { tx in
                try await insertUser(tx.accounts.sql, id: "usr_1", name: "ada")
                try await insertUser(tx.accounts.sql, id: "usr_2", name: "grace")
                return "done"
            }
            #expect(answer == "done")
            #expect(try await userCount(database.accounts.sql) == 2)
            let viaRepository = try await database.accounts.withTransaction { repo in try await userCount(repo.sql) }
            #expect(viaRepository == 2)
        }
    }

    @Test("a later write that fails rolls back the earlier ones; the failure is store_conflict", arguments: StoreBackend.enabled)
    func laterWriteFails(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            try await insertUser(database.accounts.sql, id: "usr_0", name: "taken")
            let error = await berthError {
                try await database.withTransaction { tx in
                    try await insertUser(tx.accounts.sql, id: "usr_1", name: "ada")
                    try await insertUser(tx.accounts.sql, id: "usr_2", name: "taken")
                }
            }
            #expect(error?.code == .storeConflict, "\(String(describing: error))")
            #expect(try await userCount(database.accounts.sql) == 1)
        }
    }

    @Test("20 concurrent read-modify-write transactions with FOR UPDATE lose no update", arguments: StoreBackend.enabled)
    func concurrentIncrements(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            try await execute(database, "CREATE TABLE core_counters (id TEXT PRIMARY KEY, value BIGINT NOT NULL)")
            try await execute(database, "INSERT INTO core_counters (id, value) VALUES ('c', 0)")
            let forUpdate = database.dialect.forUpdate
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await database.withTransaction { tx in
                            let value = try await integer(tx.accounts.sql, "SELECT value AS n FROM core_counters WHERE id = 'c' \(unsafeRaw: forUpdate)")
                            // Give another transaction every chance to read the same value.
                            await Task.yield()
                            try await tx.accounts.sql.run("test") { db in
                                try await db.raw("UPDATE core_counters SET value = \(bind: value + 1) WHERE id = 'c'").run()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await integer(database.accounts.sql, "SELECT value AS n FROM core_counters WHERE id = 'c'") == 20)
        }
    }

    @Test("an inner withTransaction joins the outer one: an inner throw rolls back all", arguments: StoreBackend.enabled)
    func nested(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            let error = await berthError {
                try await database.withTransaction { tx in
                    try await insertUser(tx.accounts.sql, id: "usr_1", name: "ada")
                    try await tx.teams.withTransaction { teams in
                        try await insertUser(teams.sql, id: "usr_2", name: "grace")
                        throw bodyFailure
                    }
                }
            }
            #expect(error == bodyFailure)
            #expect(try await userCount(database.accounts.sql) == 0)

            // An inner one that succeeds is not committed on its own: the outer throw undoes it.
            _ = await berthError {
                try await database.withTransaction { tx in
                    try await tx.accounts.withTransaction { accounts in try await insertUser(accounts.sql, id: "usr_3", name: "edsger") }
                    throw bodyFailure
                }
            }
            #expect(try await userCount(database.accounts.sql) == 0)

            // A repository's own withTransaction outside any is a transaction of its own.
            _ = await berthError {
                try await database.accounts.withTransaction { accounts in
                    try await insertUser(accounts.sql, id: "usr_4", name: "barbara")
                    throw bodyFailure
                }
            }
            #expect(try await userCount(database.accounts.sql) == 0)
        }
    }

    @Test("a failed statement whose error the body catches still rolls the transaction back, on both databases", arguments: StoreBackend.enabled)
    func swallowedFailure(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            try await insertUser(database.accounts.sql, id: "usr_0", name: "taken")
            let error = await berthError {
                try await database.withTransaction { tx in
                    try await insertUser(tx.accounts.sql, id: "usr_1", name: "ada")
                    do {
                        try await insertUser(tx.accounts.sql, id: "usr_2", name: "taken")
                    } catch {
                        // PostgreSQL has aborted the transaction here; going on would lose usr_1 silently.
                    }
                }
            }
            #expect(error?.code == .storeUnavailable)
            #expect(error?.message.contains("rolled back") == true, "\(String(describing: error))")
            #expect(try await userCount(database.accounts.sql) == 1)

            // An error of Berth's own (a row that does not decode, a refused request) leaves the
            // transaction usable: the body may catch it and commit.
            try await database.withTransaction { tx in
                try await insertUser(tx.accounts.sql, id: "usr_3", name: "grace")
                do {
                    try await tx.accounts.sql.run("test") { _ in throw bodyFailure }
                } catch {}
            }
            #expect(try await userCount(database.accounts.sql) == 2)
        }
    }

    // MARK: Errors

    @Test("a database error is store_unavailable with the database's message", arguments: StoreBackend.enabled)
    func syntaxError(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            let error = await berthError { try await execute(database, "SELEC 1") }
            #expect(error?.code == .storeUnavailable)
            #expect(error?.message.contains("syntax error") == true, "\(String(describing: error?.message))")
            #expect(error?.message.contains("SELEC") == true, "the message names the bad token")

            let missing = await berthError { try await execute(database, "SELECT * FROM no_such_table") }
            #expect(missing?.code == .storeUnavailable)
            #expect(missing?.message.contains("no_such_table") == true, "\(String(describing: missing?.message))")

            // The same failure inside a transaction is mapped the same way when the transaction ends.
            let inside = await berthError {
                try await database.withTransaction { tx in
                    try await tx.accounts.sql.run("test") { db in try await db.raw("SELEC 1").run() }
                }
            }
            #expect(inside?.code == .storeUnavailable)
            #expect(inside?.message.contains("syntax error") == true)
        }
    }

    @Test("a unique violation outside any repository is store_conflict; a missing reference is invalid_reference", arguments: StoreBackend.enabled)
    func constraintErrors(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            try await insertUser(database.accounts.sql, id: "usr_1", name: "ada")
            let sameID = await berthError { try await insertUser(database.accounts.sql, id: "usr_1", name: "other") }
            #expect(sameID?.code == .storeConflict, "\(String(describing: sameID))")
            let sameName = await berthError { try await insertUser(database.accounts.sql, id: "usr_2", name: "ada") }
            #expect(sameName?.code == .storeConflict, "\(String(describing: sameName))")

            let dangling = await berthError {
                try await execute(
                    database,
                    "INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ('tok_1', 'usr_missing', 'ci', 'hash', 0)"
                )
            }
            #expect(dangling?.code == .invalidReference, "\(String(describing: dangling))")
            #expect(try await integer(database.accounts.sql, "SELECT COUNT(*) AS n FROM api_tokens") == 0)

            // Deleting a user cascades to its tokens: the foreign keys are on (SQLite needs a pragma).
            try await execute(database, "INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES ('tok_2', 'usr_1', 'ci', 'hash', 0)")
            try await execute(database, "DELETE FROM users WHERE id = 'usr_1'")
            #expect(try await integer(database.accounts.sql, "SELECT COUNT(*) AS n FROM api_tokens") == 0)
        }
    }

    @Test("a row that does not decode is store_row_invalid naming its table and id", arguments: StoreBackend.enabled)
    func rowInvalid(_ backend: StoreBackend) async throws {
        struct Row: Decodable { var id: String; var createdAt: Double }
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            try await insertUser(database.accounts.sql, id: "usr_good", name: "1.5")
            try await insertUser(database.accounts.sql, id: "usr_bad", name: "not a number")
            let error = await berthError {
                // `name` read as the time: one row decodes, the other must fail the whole read.
                _ = try await database.accounts.sql.run("test") { db in
                    let rows = try await db.raw("SELECT id, name AS created_at FROM users ORDER BY id").all()
                    return try RowDecoding.models(rows, as: Row.self, table: "users", key: "id").map(\.id)
                }
            }
            #expect(error?.code == .storeRowInvalid)
            #expect(error?.message.contains("users(usr_bad)") == true, "\(String(describing: error?.message))")
        }
    }

    @Test("quotes, unicode, NUL-free control characters and long strings pass through binds unchanged", arguments: StoreBackend.enabled)
    func awkwardValues(_ backend: StoreBackend) async throws {
        let names = [
            "O'Brien", #"say "hi"; DROP TABLE users; --"#, "Zoë 名前 🚀", "tab\tnew\nline", "back\\slash $1 ? :name",
            String(repeating: "long-é-", count: 5000),
        ]
        try await withTestDatabase(backend) { (database: BerthDatabase) async throws in
            for (index, name) in names.enumerated() {
                try await insertUser(database.accounts.sql, id: "usr_\(index)", name: name)
            }
            let read = try await database.accounts.sql.run("test") { db in
                try await db.raw("SELECT name FROM users ORDER BY id").all().map { try $0.decode(column: "name", as: String.self) }
            }
            #expect(read == names)
            for (index, name) in names.enumerated() {
                #expect(try await integer(database.accounts.sql, "SELECT COUNT(*) AS n FROM users WHERE name = \(bind: name) AND id = \(bind: "usr_\(index)")") == 1)
            }
        }
    }

    @Test("PostgreSQL that cannot be reached fails open with store_unavailable at once, not after the pool's minute")
    func unreachable() async throws {
        let started = ContinuousClock.now
        let error = await berthError {
            // Nothing listens on port 1 of the loopback address: the connection is refused.
            _ = try await BerthDatabase.open(url: "postgres://berth:hunter2@127.0.0.1:1/berth", logger: coreTestLogger)
        }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("127.0.0.1:1") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("hunter2") == false)
        // Generous: the pool alone would wait 60 s; the probe fails as soon as the refusal comes.
        #expect(elapsed < .seconds(20), "open took \(elapsed)")
    }

    @Test("a PostgreSQL database that does not exist is named in the error", .enabled(if: StoreBackend.postgresURL != nil))
    func unknownDatabase() async throws {
        let base = try #require(StoreBackend.postgresURL)
        guard case .postgres(var location) = try DatabaseLocation.parse(base) else { throw FixtureError("not a postgres URL") }
        location.database = "berth_no_such_database"
        let error = await berthError { _ = try await BerthDatabase.open(location: .postgres(location), logger: coreTestLogger) }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("berth_no_such_database") == true, "\(String(describing: error?.message))")
    }

    // MARK: The migrator

    @Test("a database that records a migration this Berth does not know is refused: a newer Berth wrote it", arguments: StoreBackend.enabled)
    func unknownMigration(_ backend: StoreBackend) async throws {
        try await withReopenableDatabase(backend) { url, _ in
            let first = try await BerthDatabase.open(url: url, logger: coreTestLogger)
            try await execute(first, "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future', 0)")
            try await first.close()
            let error = await berthError { _ = try await BerthDatabase.open(url: url, logger: coreTestLogger) }
            #expect(error?.code == .storeUnavailable)
            #expect(error?.message.contains("9999_from_the_future") == true)
            #expect(error?.message.contains("newer Berth") == true, "\(String(describing: error?.message))")
        }
    }

    // PostgreSQL only: on SQLite, Berth holds one connection per file per process, and several
    // connections of one process contending for a file's write lock can starve SQLiteNIO's shared
    // thread pool (the waiters' busy handlers sleep on its threads). Replicas are processes.
    @Test("several BerthDatabase.open at once on one PostgreSQL schema apply each migration once (advisory lock)", .enabled(if: StoreBackend.postgresURL != nil))
    func concurrentOpens() async throws {
        try await withReopenableDatabase(.postgres) { url, _ in
            let databases = try await withThrowingTaskGroup(of: BerthDatabase.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await BerthDatabase.open(url: url, logger: coreTestLogger) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for database in databases {
                #expect(try await database.appliedMigrations() == BerthDatabase.migrationNames)
            }
            if let database = databases.first {
                let count = try await integer(database.accounts.sql, "SELECT COUNT(*) AS n FROM schema_migrations")
                #expect(count == BerthDatabase.migrationNames.count)
            }
            for database in databases { try await database.close() }
        }
    }

    @Test("opening a database again, while it is open, applies nothing and sees the data", arguments: StoreBackend.enabled)
    func reopen(_ backend: StoreBackend) async throws {
        try await withReopenableDatabase(backend) { url, sqlitePath in
            let first = try await BerthDatabase.open(url: url, logger: coreTestLogger)
            try await insertUser(first.accounts.sql, id: "usr_1", name: "ada")
            let second = try await BerthDatabase.open(url: url, logger: coreTestLogger)
            #expect(try await second.appliedMigrations() == BerthDatabase.migrationNames)
            #expect(try await userCount(second.accounts.sql) == 1)
            try await second.close()
            try await first.close()
            if let sqlitePath {
                let directory = URL(fileURLWithPath: sqlitePath).deletingLastPathComponent().path
                let copies = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".pre-") }
                #expect(copies.isEmpty, "no migration was pending, so no copy: \(copies)")
            }
        }
    }

    @Test("a migration that fails is rolled back whole and not recorded; the next open tries it again", arguments: StoreBackend.enabled)
    func failedMigration(_ backend: StoreBackend) async throws {
        let first = Migration(name: "0001_a", sqlite: ["CREATE TABLE a (id TEXT PRIMARY KEY)"], postgres: ["CREATE TABLE a (id TEXT PRIMARY KEY)"])
        let broken = Migration(
            name: "0002_b",
            sqlite: ["CREATE TABLE b (id TEXT PRIMARY KEY)", "INSERT INTO a (id) VALUES ('x')", "CREATE TABEL c (id TEXT)"],
            postgres: ["CREATE TABLE b (id TEXT PRIMARY KEY)", "INSERT INTO a (id) VALUES ('x')", "CREATE TABEL c (id TEXT)"]
        )
        let fixed = Migration(
            name: "0002_b",
            sqlite: ["CREATE TABLE b (id TEXT PRIMARY KEY)", "INSERT INTO a (id) VALUES ('x')"],
            postgres: ["CREATE TABLE b (id TEXT PRIMARY KEY)", "INSERT INTO a (id) VALUES ('x')"]
        )
        try await withReopenableDatabase(backend) { url, _ in
            try await withDriver(url) { driver in
                let error = await berthError { try await Migrator.apply([first, broken], on: driver, sqlitePath: nil, logger: coreTestLogger) }
                #expect(error?.code == .storeUnavailable)
                #expect(try await Migrator.appliedNames(driver) == ["0001_a"])
                #expect(try await integer(driver, "SELECT COUNT(*) AS n FROM a") == 0, "the broken migration's insert is undone")
                let tableB = await berthError { _ = try await integer(driver, "SELECT COUNT(*) AS n FROM b") }
                #expect(tableB?.code == .storeUnavailable, "the broken migration's table is undone (DDL is transactional on both)")

                try await Migrator.apply([first, fixed], on: driver, sqlitePath: nil, logger: coreTestLogger)
                #expect(try await Migrator.appliedNames(driver) == ["0001_a", "0002_b"])
                #expect(try await integer(driver, "SELECT COUNT(*) AS n FROM a") == 1)
            }
        }
    }

    @Test("SQLite: a file that already has migrations is copied to <file>.pre-<migration> before a new one runs, and only then")
    func sqliteBackup() async throws {
        let first = Migration(name: "0001_a", sqlite: ["CREATE TABLE a (id TEXT PRIMARY KEY, note TEXT)"], postgres: [])
        let second = Migration(name: "0002_b", sqlite: ["CREATE TABLE b (id TEXT PRIMARY KEY)", "ALTER TABLE a ADD COLUMN extra TEXT"], postgres: [])
        try await TemporaryDirectory.with(prefix: "berth-core") { directory in
            let path = directory.path("berth.db").path
            try await withDriver(path) { driver in
                try await Migrator.apply([first], on: driver, sqlitePath: path, logger: coreTestLogger)
                #expect(!FileManager.default.fileExists(atPath: "\(path).pre-0001_a"), "a new database has nothing to keep")
                try await driver.run("test") { db in try await db.raw("INSERT INTO a (id, note) VALUES ('row1', 'kept')").run() }

                try await Migrator.apply([first], on: driver, sqlitePath: path, logger: coreTestLogger)
                let noPending = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.contains(".pre-") }
                #expect(noPending.isEmpty, "nothing pending, no copy: \(noPending)")

                try await Migrator.apply([first, second], on: driver, sqlitePath: path, logger: coreTestLogger)
                #expect(try await Migrator.appliedNames(driver) == ["0001_a", "0002_b"])
            }
            let backup = "\(path).pre-0002_b"
            #expect(FileManager.default.fileExists(atPath: backup))
            // The copy is the database as it was before 0002_b: the row, no table b, one migration.
            try await withDriver(backup) { (copy: any StoreDriver) async throws in
                #expect(try await Migrator.appliedNames(copy) == ["0001_a"])
                #expect(try await integer(copy, "SELECT COUNT(*) AS n FROM a WHERE note = 'kept'") == 1)
                #expect(try await integer(copy, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'b'") == 0)
            }
        }
    }
}
