import BerthCore
@testable import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

/// `Fixtures/berth-v1.sql`: a dump of a real `berth.db` written by the store before store v2
/// (migrations 0001 to 0006); `Fixtures/README.md` lists its rows, which this suite checks.
enum BerthV1Fixture {
    static var dump: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/berth-v1.sql")
    }

    /// The migrations the dump records.
    static let migrations = ["0001_initial", "0002_recordings", "0003_audit", "0004_play", "0005_labs", "0006_workspaces"]

    /// Rows per table, as the README lists them.
    static let rowCounts: [(String, Int)] = [
        ("users", 4), ("api_tokens", 3), ("sessions", 3), ("teams", 1), ("memberships", 2), ("instances", 5), ("events", 23),
        ("recordings", 2), ("audit_log", 57), ("settings", 3), ("submissions", 3), ("solves", 1), ("hint_unlocks", 1),
        ("lab_progress", 2), ("lab_checks", 2), ("lab_hints", 1), ("workspaces", 1), ("schema_migrations", 6),
    ]

    /// Writes the dump into a new SQLite file at `path`, the way an operator's file looks: with
    /// Python's sqlite3 (`executescript`), since the dump is a script and SQLiteNIO prepares one
    /// statement at a time.
    static func load(into path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2], encoding='utf-8').read()); c.close()",
            path, dump.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else { throw FixtureError("loading \(dump.path) failed: \(message)") }
    }

    /// Loads the dump into `<temporary directory>/berth.db` and hands over the path.
    static func withLoaded<R: Sendable>(_ body: @Sendable (String, TemporaryDirectory) async throws -> R) async throws -> R {
        try await TemporaryDirectory.with(prefix: "berth-v1") { directory in
            let path = directory.path("berth.db").path
            try load(into: path)
            return try await body(path, directory)
        }
    }
}

/// Raw reads through a repository's runner (the repositories of store v2 are not in this tree yet).
private func strings(_ database: BerthDatabase, _ query: SQLQueryString, column: String) async throws -> [String] {
    try await database.accounts.sql.run("test") { db in
        try await db.raw(query).all().map { try $0.decode(column: column, as: String.self) }
    }
}

private func count(_ database: BerthDatabase, _ table: String) async throws -> Int {
    try await integer(database.accounts.sql, "SELECT COUNT(*) AS n FROM \(unsafeRaw: table)")
}

private func backups(in directory: TemporaryDirectory) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.contains(".pre-") }.sorted()
}

@Suite("An existing berth.db migrates in place")
struct MigrationTests {
    @Test("the v1 fixture opens with BerthDatabase: known migrations only, a copy only if one was applied, every row intact")
    func v1OpensInPlace() async throws {
        try await BerthV1Fixture.withLoaded { path, directory in
            let database = try await BerthDatabase.open(url: path, logger: coreTestLogger)
            do {
                let applied = try await database.appliedMigrations()
                #expect(Array(applied.prefix(BerthV1Fixture.migrations.count)) == BerthV1Fixture.migrations)
                #expect(applied == BerthDatabase.migrationNames, "every migration recorded is a known one, and all known ones are applied")
                let added = BerthDatabase.migrationNames.filter { !BerthV1Fixture.migrations.contains($0) }
                let copies = try backups(in: directory)
                if let first = added.first {
                    #expect(copies == ["berth.db.pre-\(first)"], "a migration was applied, so the v1 file was copied first")
                } else {
                    #expect(copies.isEmpty, "no migration was pending, so no copy: \(copies)")
                }

                for (table, expected) in BerthV1Fixture.rowCounts where table != "schema_migrations" {
                    #expect(try await count(database, table) == expected, "rows of \(table)")
                }
                #expect(try await count(database, "schema_migrations") == BerthDatabase.migrationNames.count)

                // Accounts: names keep their case and stay unique regardless of it.
                #expect(try await strings(database, "SELECT name FROM users ORDER BY name", column: "name") == ["Bob", "admin", "alice", "carol"])
                #expect(try await strings(database, "SELECT id FROM users WHERE lower(name) = lower(\(bind: "BOB"))", column: "id") == ["usr_t1178tpka3rnx6c0"])
                let duplicate = await berthError {
                    try await insertUser(database.accounts.sql, id: "usr_new", name: "ALICE")
                }
                #expect(duplicate?.code == .storeConflict, "the NOCASE index of v1 still holds")
                #expect(try await strings(database, "SELECT name FROM api_tokens WHERE id = 'tok_tc4y6k2gcz39pwd8'", column: "name") == ["bob's script"])
                // Tokens are stored as the SHA-256 of their secret: alice's still matches.
                #expect(
                    try await strings(database, "SELECT id FROM api_tokens WHERE secret_hash = '4f6870ba72bfdc5a3e7e67dec563df82384a880f6bbaf0d3f5534cdc297c2d77'", column: "id")
                        == ["tok_06zpxxzq7nry3knd"]
                )
                #expect(try await strings(database, "SELECT user_id FROM memberships WHERE team_id = 'team_1bme5yd8np9ws786' ORDER BY user_id", column: "user_id").count == 2)

                // Instances: the running one keeps its endpoints and its port.
                let states = try await strings(database, "SELECT state FROM instances ORDER BY id", column: "state")
                #expect(states.filter { $0 == "running" }.count == 1 && states.filter { $0 == "stopped" }.count == 4)
                let endpoints = try await strings(database, "SELECT endpoints FROM instances WHERE id = 'inst_wpj412kb4g0kde6r'", column: "endpoints")
                let decoded = try JSONColumn.decode([Endpoint].self, from: endpoints.first ?? "", table: "instances", row: "inst_wpj412kb4g0kde6r", column: "endpoints")
                #expect(decoded.map(\.hostPort) == [20000])
                #expect(try await strings(database, "SELECT owner_kind FROM instances WHERE id = 'inst_smdk8vc4a01eft7y'", column: "owner_kind") == ["team"])

                // The audit chain: sequences 1 to 57, linked, with the README's head.
                let hashes = try await database.accounts.sql.run("test") { db in
                    try await db.raw("SELECT sequence, previous_hash, hash FROM audit_log ORDER BY sequence").all().map { row in
                        (try row.decode(column: "sequence", as: Int.self), try row.decode(column: "previous_hash", as: String.self), try row.decode(column: "hash", as: String.self))
                    }
                }
                #expect(hashes.map(\.0) == Array(1...57))
                #expect(hashes.first?.1 == String(repeating: "0", count: 64))
                #expect(zip(hashes, hashes.dropFirst()).allSatisfy { $0.2 == $1.1 }, "each entry names the hash before it")
                #expect(hashes.last?.2 == "af904860151fe790a0a1eb80ff7728c7ad6d4192077b94bc6193672f250a8d6d")

                // Play, labs, workspaces.
                #expect(try await strings(database, "SELECT value FROM settings WHERE key = 'registration'", column: "value") == ["open"])
                #expect(try await strings(database, "SELECT value FROM settings WHERE key = 'defaultTTL'", column: "value") == ["2700"])
                #expect(try await strings(database, "SELECT environment FROM solves", column: "environment") == ["linux-basics"])
                #expect(try await strings(database, "SELECT current_step FROM lab_progress WHERE owner_kind = 'user'", column: "current_step") == ["save-listing"])
                #expect(try await strings(database, "SELECT sync_state FROM workspaces WHERE id = 'ws_kz8rb30dges3wpz7'", column: "sync_state") == ["local_only"])
                let failures = try await strings(database, "SELECT failures FROM lab_checks WHERE status = 'failed'", column: "failures")
                #expect(failures.first?.contains("there is no folder") == true)

                // The events' sequence goes on from 23: a new event does not reuse a number.
                try await execute(database, "INSERT INTO events (time, kind, instance_id, user_id, detail) VALUES (0, 'test', NULL, NULL, '')")
                #expect(try await integer(database.accounts.sql, "SELECT MAX(sequence) AS n FROM events") == 24)
                try await database.close()
            } catch {
                try? await database.close()
                throw error
            }

            // Opening it again applies nothing and copies nothing more.
            let copiesBefore = try backups(in: directory)
            let again = try await BerthDatabase.open(url: "sqlite://\(path)", logger: coreTestLogger)
            #expect(try await again.appliedMigrations() == BerthDatabase.migrationNames)
            #expect(try await count(again, "users") == 4)
            try await again.close()
            #expect(try backups(in: directory) == copiesBefore)
        }
    }

    @Test("a new migration on the v1 file: the file is copied to berth.db.pre-<migration> first, and every row stays")
    func newMigrationOnV1() async throws {
        let next = Migration(
            name: "9001_test_next",
            sqlite: ["CREATE TABLE port_leases_test (port INTEGER PRIMARY KEY, instance_id TEXT NOT NULL REFERENCES instances(id))",
                     "INSERT INTO port_leases_test (port, instance_id) SELECT 20000, id FROM instances WHERE state = 'running'"],
            postgres: []
        )
        try await BerthV1Fixture.withLoaded { path, directory in
            try await withDriver(path) { (driver: any StoreDriver) async throws in
                try await Migrator.apply(StoreMigrations.all + [next], on: driver, sqlitePath: path, logger: coreTestLogger)
                #expect(try await Migrator.appliedNames(driver) == BerthDatabase.migrationNames + ["9001_test_next"])
                #expect(try await integer(driver, "SELECT COUNT(*) AS n FROM port_leases_test") == 1)
                #expect(try await integer(driver, "SELECT COUNT(*) AS n FROM audit_log") == 57)
            }
            let copies = try backups(in: directory)
            let expectedCopy = "berth.db.pre-" + (BerthDatabase.migrationNames.first { !BerthV1Fixture.migrations.contains($0) } ?? "9001_test_next")
            #expect(copies == [expectedCopy])
            try await withDriver(directory.path(expectedCopy).path) { (copy: any StoreDriver) async throws in
                #expect(try await Migrator.appliedNames(copy) == BerthV1Fixture.migrations)
                #expect(try await integer(copy, "SELECT COUNT(*) AS n FROM users") == 4)
                #expect(try await integer(copy, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'port_leases_test'") == 0)
            }
        }
    }

    @Test("a corrupted instances.state in the v1 file is there to see in a raw read")
    func corruptedState() async throws {
        try await BerthV1Fixture.withLoaded { path, _ in
            let database = try await BerthDatabase.open(url: path, logger: coreTestLogger)
            do {
                try await execute(database, "UPDATE instances SET state = 'exploded' WHERE id = 'inst_wasy79nyc9fkvmt0'")
                let raw = try await strings(database, "SELECT state FROM instances WHERE id = 'inst_wasy79nyc9fkvmt0'", column: "state")
                #expect(raw == ["exploded"])
                #expect(InstanceState(rawValue: "exploded") == nil, "not a state Berth knows")
                // Through the repository, the row is an error that names it, never a list without it.
                for read in [
                    { _ = try await database.instances.instances(InstanceQuery()) },
                    { _ = try await database.instances.instance(id: "inst_wasy79nyc9fkvmt0") },
                ] as [@Sendable () async throws -> Void] {
                    do {
                        try await read()
                        Issue.record("a corrupted instance row was read without an error")
                    } catch let error as BerthError {
                        #expect(error.code == .storeRowInvalid)
                        #expect(error.message.contains("instances(inst_wasy79nyc9fkvmt0)"), "\(error.message)")
                    }
                }
                try await database.close()
            } catch {
                try? await database.close()
                throw error
            }
        }
    }
}
