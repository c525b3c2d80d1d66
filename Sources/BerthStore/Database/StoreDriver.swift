import BerthCore
import Foundation

/// A database connection (SQLite) or pool (PostgreSQL) that repositories run on.
protocol StoreDriver: SQLRunner {
    /// Releases the connections.
    func close() async throws
}

/// Where ``BerthDatabase`` keeps its data, read from `BERTH_DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    /// A SQLite file, or an in-memory database with nil.
    case sqlite(path: String?)
    /// A PostgreSQL server.
    case postgres(PostgresLocation)

    /// Reads a database URL: `postgres://user:password@host:port/database` (or `postgresql://`)
    /// for PostgreSQL, with optional `sslmode` (`disable`, `prefer`, `require`, `verify-full`) and
    /// `search_path` query items; `sqlite:///absolute/path`, `sqlite:relative/path` or a bare path
    /// for SQLite; `:memory:` for a database that lives as long as the process.
    public static func parse(_ url: String) throws -> DatabaseLocation {
        let text = url.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw invalid(url, "it is empty") }
        if text == ":memory:" || text == "sqlite::memory:" { return .sqlite(path: nil) }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return .postgres(try PostgresLocation(url: text))
        }
        if text.hasPrefix("sqlite://") { return .sqlite(path: String(text.dropFirst("sqlite://".count))) }
        if text.hasPrefix("sqlite:") { return .sqlite(path: String(text.dropFirst("sqlite:".count))) }
        if let scheme = text.range(of: "://") {
            throw invalid(url, "the scheme '\(text[..<scheme.lowerBound])' is not supported; use a SQLite path or postgres://")
        }
        return .sqlite(path: text)
    }

    static func invalid(_ url: String, _ reason: String) -> BerthError {
        BerthError(.invalidConfig, "BERTH_DATABASE_URL '\(PostgresLocation.redacted(url))' is invalid: \(reason).")
    }

    /// The location for logs and errors, without a password.
    public var description: String {
        switch self {
        case .sqlite(let path): path.map { "sqlite:\($0)" } ?? "sqlite::memory:"
        case .postgres(let location): location.redactedURL
        }
    }
}

/// A PostgreSQL server and database, from a `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    /// Schemas searched first (`search_path`), e.g. one schema per test.
    public var searchPath: String?

    init(url: String) throws {
        guard let components = URLComponents(string: url) else { throw DatabaseLocation.invalid(url, "it is not a URL") }
        guard let host = components.host, !host.isEmpty else { throw DatabaseLocation.invalid(url, "it names no host") }
        guard let user = components.user, !user.isEmpty else { throw DatabaseLocation.invalid(url, "it names no user (postgres://USER@host/database)") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        var tls = TLSMode.prefer
        var searchPath: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw DatabaseLocation.invalid(url, "sslmode must be disable, prefer, require or verify-full")
                }
                tls = mode
            case "search_path":
                searchPath = item.value
            default:
                throw DatabaseLocation.invalid(url, "the option '\(item.name)' is not supported (sslmode and search_path are)")
            }
        }
        self.tls = tls
        self.searchPath = searchPath
    }

    /// The URL without its password.
    public var redactedURL: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? "")" + (searchPath.map { "?search_path=\($0)" } ?? "")
    }

    /// `url` with any password replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}
