@testable import BerthCore
import Foundation
import Testing

@Suite("DatabaseLocation.parse and BERTH_DATABASE_URL")
struct DatabaseLocationTests {
    private func postgres(_ url: String) throws -> PostgresLocation {
        guard case .postgres(let location) = try DatabaseLocation.parse(url) else {
            Issue.record("\(url) did not parse as PostgreSQL")
            throw CancellationError()
        }
        return location
    }

    /// The `invalid_config` error for `url`; fails the test when it parses.
    private func refusal(_ url: String) -> BerthError? {
        do {
            let location = try DatabaseLocation.parse(url)
            Issue.record("'\(url)' was accepted as \(location)")
            return nil
        } catch let error as BerthError {
            #expect(error.code == .invalidConfig)
            return error
        } catch {
            Issue.record("'\(url)' failed with \(error), not a BerthError")
            return nil
        }
    }

    @Test("a postgres URL with user, password, port, database, sslmode and search_path")
    func fullPostgresURL() throws {
        let location = try postgres("postgres://berth:s3cret@db.example.org:6432/berth_prod?sslmode=require&search_path=tenant_a")
        #expect(location.host == "db.example.org")
        #expect(location.port == 6432)
        #expect(location.username == "berth")
        #expect(location.password == "s3cret")
        #expect(location.database == "berth_prod")
        #expect(location.tls == .require)
        #expect(location.searchPath == "tenant_a")
        #expect(!location.redactedURL.contains("s3cret"))
        #expect(location.redactedURL == "postgres://berth@db.example.org:6432/berth_prod?sslmode=require&search_path=tenant_a")
        #expect(try DatabaseLocation.parse("postgres://berth:s3cret@db.example.org:6432/berth_prod").description.contains("s3cret") == false)
    }

    @Test("postgresql:// is the same scheme; defaults are port 5432, sslmode prefer, no password, the user's database")
    func postgresDefaults() throws {
        let location = try postgres("postgresql://berth@127.0.0.1")
        #expect(location.host == "127.0.0.1")
        #expect(location.port == 5432)
        #expect(location.password == nil)
        #expect(location.database == nil)
        #expect(location.tls == .prefer)
        #expect(location.searchPath == nil)
        #expect(try postgres("postgres://berth@127.0.0.1/").database == nil)
    }

    @Test("every sslmode Berth knows", arguments: [
        ("disable", PostgresLocation.TLSMode.disable), ("prefer", .prefer), ("require", .require), ("verify-full", .verifyFull),
    ])
    func sslModes(_ text: String, _ mode: PostgresLocation.TLSMode) throws {
        #expect(try postgres("postgres://u@h/d?sslmode=\(text)").tls == mode)
    }

    @Test("a percent-encoded password is decoded; an IPv6 host keeps its brackets in the redacted form")
    func encodedPasswordAndIPv6() throws {
        let location = try postgres("postgres://berth:p%40ss%3Aw%2Frd@[::1]:55432/berth")
        #expect(location.password == "p@ss:w/rd")
        #expect(location.host == "::1", "the host is the address to connect to, without brackets")
        #expect(location.port == 55432)
        #expect(location.redactedURL == "postgres://berth@[::1]:55432/berth")
        #expect(!location.redactedURL.contains("p@ss"))
    }

    @Test("SQLite: sqlite:///absolute, sqlite:relative, a bare path and :memory:")
    func sqliteForms() throws {
        #expect(try DatabaseLocation.parse("sqlite:///srv/berth/berth.db") == .sqlite(path: "/srv/berth/berth.db"))
        #expect(try DatabaseLocation.parse("sqlite:data/berth.db") == .sqlite(path: "data/berth.db"))
        #expect(try DatabaseLocation.parse("/srv/berth/berth.db") == .sqlite(path: "/srv/berth/berth.db"))
        #expect(try DatabaseLocation.parse("./data/berth.db") == .sqlite(path: "./data/berth.db"))
        #expect(try DatabaseLocation.parse("  /srv/x.db\n") == .sqlite(path: "/srv/x.db"), "surrounding white space is dropped")
        #expect(try DatabaseLocation.parse("/srv/a file é.db") == .sqlite(path: "/srv/a file é.db"))
        #expect(try DatabaseLocation.parse(":memory:") == .sqlite(path: nil))
        #expect(try DatabaseLocation.parse("sqlite::memory:") == .sqlite(path: nil))
        #expect(DatabaseLocation.sqlite(path: nil).description == "sqlite::memory:")
        #expect(DatabaseLocation.sqlite(path: "/a.db").description == "sqlite:/a.db")
    }

    @Test("refused: empty, an unknown scheme, no user, no host, an unknown option, a bad sslmode, a bad port, no file")
    func refusals() throws {
        #expect(refusal("")?.message.contains("empty") == true)
        #expect(refusal("   ")?.message.contains("empty") == true)
        #expect(refusal("mysql://root:pw@db/berth")?.message.contains("'mysql' is not supported") == true)
        #expect(refusal("postgres://db.example.org/berth")?.message.contains("no user") == true)
        #expect(refusal("postgres://:pw@db.example.org/berth")?.message.contains("no user") == true)
        #expect(refusal("postgres:///berth")?.message.contains("no host") == true)
        #expect(refusal("postgres://u@h/d?connect_timeout=5")?.message.contains("'connect_timeout' is not supported") == true)
        #expect(refusal("postgres://u@h/d?sslmode=verify-ca")?.message.contains("sslmode must be") == true)
        #expect(refusal("postgres://u@h/d?sslmode")?.message.contains("sslmode must be") == true)
        #expect(refusal("postgres://u@h/d?search_path=")?.message.contains("search_path") == true)
        #expect(refusal("postgres://u@h:0/d")?.message.contains("port") == true)
        #expect(refusal("postgres://u@h/d/e")?.message.contains("one database") == true)
        #expect(refusal("sqlite:")?.message.contains("no file") == true)
        #expect(refusal("sqlite://")?.message.contains("no file") == true)
    }

    @Test("a refusal never prints the password, even when the URL does not parse", arguments: [
        "postgres://berth:hunter2-secret@db.example.org/berth?sslmode=bogus",
        "postgres://berth:hunter2-secret@db.example.org/berth?unknown=1",
        "postgres://berth:hunter2-secret@/berth",
        "postgres://berth:hunter2 secret@db.example.org/berth?sslmode=x",
        "postgres://berth:hunter2@secret@db.example.org/berth?sslmode=x",
        "postgresql://berth:hunter2-secret@db.example.org:99999/berth",
        "mysql://berth:hunter2-secret@db.example.org/berth",
    ])
    func refusalRedactsThePassword(_ url: String) throws {
        let error = try #require(refusal(url))
        #expect(!error.message.contains("hunter2"), "\(error.message)")
        #expect(!error.description.contains("hunter2"), "\(error.description)")
        #expect(error.message.contains("***"), "the message shows where the password was: \(error.message)")
    }

    @Test("the redaction works on the text, so a URL too broken to parse loses its password too")
    func redactionOfText() {
        #expect(PostgresLocation.redacted("postgres://u:pw@h/d") == "postgres://u:***@h/d")
        #expect(PostgresLocation.redacted("postgres://u:p@w@h/d") == "postgres://u:***@h/d", "up to the last @")
        #expect(PostgresLocation.redacted("postgres://u:p w%zz[@h/d?x=1") == "postgres://u:***@h/d?x=1")
        #expect(PostgresLocation.redacted("postgres://u@h/d") == "postgres://u@h/d", "no password, nothing to hide")
        #expect(PostgresLocation.redacted("/srv/berth/berth.db") == "/srv/berth/berth.db")
        #expect(PostgresLocation.redacted("postgres://u@h:5432/d?search_path=a@b") == "postgres://u@h:***@b", "an @ further on hides too much, never too little")
    }

    @Test("BERTH_DATABASE_URL: unset is <data-dir>/berth.db; set, it is validated when loaded and kept")
    func configuration() throws {
        let defaults = try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_DATA_DIR": "/srv/berth"], configFileYAML: nil)
        #expect(defaults.databaseURL == nil)
        #expect(try defaults.databaseLocation() == .sqlite(path: "/srv/berth/berth.db"))

        let relative = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: nil)
        guard case .sqlite(let path?) = try relative.databaseLocation() else {
            Issue.record("the default database is not a SQLite file")
            return
        }
        #expect(path.hasPrefix("/") && path.hasSuffix("/data/berth.db"), "\(path)")

        let url = "postgres://berth:s3cret@db:5432/berth?sslmode=disable"
        let fromEnvironment = try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_DATABASE_URL": url], configFileYAML: nil)
        #expect(fromEnvironment.databaseURL == url)
        guard case .postgres(let location) = try fromEnvironment.databaseLocation() else {
            Issue.record("BERTH_DATABASE_URL did not give PostgreSQL")
            return
        }
        #expect(location.host == "db" && location.tls == .disable && location.password == "s3cret")

        let fromFile = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: "databaseUrl: sqlite:///var/lib/berth/state.db\n")
        #expect(try fromFile.databaseLocation() == .sqlite(path: "/var/lib/berth/state.db"))
        #expect(BerthConfiguration.environmentVariable(for: "databaseUrl") == "BERTH_DATABASE_URL")
    }

    @Test("a bad BERTH_DATABASE_URL stops loading with invalid_config naming its source, without the password")
    func configurationRefusal() throws {
        let environment = ["BERTH_DATABASE_URL": "postgres://berth:hunter2-secret@db/berth?sslmode=sometimes"]
        let error = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil)
        }
        #expect(error.code == .invalidConfig)
        #expect(error.message.hasPrefix("BERTH_DATABASE_URL: "), "\(error.message)")
        #expect(error.message.contains("sslmode"))
        #expect(!error.message.contains("hunter2"))

        let fileError = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: "databaseUrl: redis://cache\n")
        }
        #expect(fileError.message.hasPrefix("config file: databaseUrl: "), "\(fileError.message)")
    }
}
