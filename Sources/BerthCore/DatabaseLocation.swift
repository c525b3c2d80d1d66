import Foundation

/// Where Berth keeps its state, read from `BERTH_DATABASE_URL` (`databaseUrl`).
///
/// It lives in BerthCore, without I/O, so the configuration refuses a bad URL when it is loaded,
/// with the same rules `BerthDatabase.open` applies.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite file, or an in-memory database with nil.
    case sqlite(path: String?)
    /// A PostgreSQL server.
    case postgres(PostgresLocation)

    /// Reads a database URL: `postgres://user:password@host:port/database` (or `postgresql://`)
    /// for PostgreSQL, with optional `sslmode` (`disable`, `prefer`, `require`, `verify-full`) and
    /// `search_path` query items; `sqlite:///absolute/path`, `sqlite:relative/path` or a bare path
    /// for SQLite; `:memory:` for a database that lives as long as the process.
    ///
    /// A refusal is `invalid_config`; its message never holds the password.
    public static func parse(_ url: String) throws -> DatabaseLocation {
        let text = url.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw invalid(url, "it is empty") }
        if text == ":memory:" || text == "sqlite::memory:" { return .sqlite(path: nil) }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return .postgres(try PostgresLocation(url: text))
        }
        let path: String
        if text.hasPrefix("sqlite://") {
            path = String(text.dropFirst("sqlite://".count))
        } else if text.hasPrefix("sqlite:") {
            path = String(text.dropFirst("sqlite:".count))
        } else if let scheme = text.range(of: "://") {
            throw invalid(url, "the scheme '\(text[..<scheme.lowerBound])' is not supported; use a SQLite path or postgres://")
        } else {
            path = text
        }
        // SQLite reads an empty file name as "a temporary database", which would lose every write.
        guard !path.isEmpty else { throw invalid(url, "it names no file (sqlite:///absolute/path or sqlite:relative/path)") }
        return .sqlite(path: path)
    }

    static func invalid(_ url: String, _ reason: String) -> BerthError {
        BerthError(.invalidConfig, "The database URL '\(PostgresLocation.redacted(url))' is invalid: \(reason).")
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
        guard let components = URLComponents(string: url) else {
            throw DatabaseLocation.invalid(url, "it is not a URL (write reserved characters of the password as %XX, e.g. @ as %40)")
        }
        guard let host = components.host, !host.isEmpty else { throw DatabaseLocation.invalid(url, "it names no host") }
        guard let user = components.user, !user.isEmpty else { throw DatabaseLocation.invalid(url, "it names no user (postgres://USER@host/database)") }
        if let port = components.port, !(1...65535).contains(port) {
            throw DatabaseLocation.invalid(url, "the port must be between 1 and 65535")
        }
        // An IPv6 address is written in brackets; the connection wants the address alone.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else { throw DatabaseLocation.invalid(url, "the path must be one database name") }
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
                guard let value = item.value, !value.isEmpty else { throw DatabaseLocation.invalid(url, "search_path names no schema") }
                searchPath = value
            default:
                throw DatabaseLocation.invalid(url, "the option '\(item.name)' is not supported (sslmode and search_path are)")
            }
        }
        self.tls = tls
        self.searchPath = searchPath
    }

    /// The URL without its password.
    public var redactedURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var options: [String] = []
        if tls != .prefer { options.append("sslmode=\(tls.rawValue)") }
        if let searchPath { options.append("search_path=\(searchPath)") }
        return "postgres://\(username)@\(hostPart):\(port)/\(database ?? "")" + (options.isEmpty ? "" : "?" + options.joined(separator: "&"))
    }

    /// `url` with any password replaced by `***`. Done on the text, not through URLComponents, so
    /// a URL too broken to parse (an unescaped `@` or space in the password) is redacted too: all
    /// between the first `:` after `scheme://` and the last `@` goes.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
