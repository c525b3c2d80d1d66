import BerthCore
import Foundation
import SQLKit

/// Users, API tokens, passwords, roles, linked GitHub accounts and browser sessions.
///
/// Names are unique without regard to case (`users_name_nocase`), so nobody can pass for someone
/// else; a taken name is `user_name_taken`. Writes to a user who does not exist fail with
/// `user_not_found` instead of changing nothing.
public struct AccountRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    // MARK: Users

    /// Adds a user; fails with `user_name_taken` when the name exists (in any case).
    public func createUser(_ user: User) async throws {
        try await insertUser(user, passwordHash: nil, githubID: nil)
    }

    /// Creates a user with its password hash, linked GitHub account and first session, all or
    /// nothing: when any part fails (a taken name, a linked GitHub account, a session that
    /// exists), no user is left behind.
    public func register(_ user: User, passwordHash: String?, session: SessionRecord?, githubID: String? = nil) async throws {
        if let session, session.userID != user.id {
            throw BerthError(.invalidReference, "The first session of user '\(user.id)' names another user ('\(session.userID)').")
        }
        try await withTransaction { repo in
            try await repo.insertUser(user, passwordHash: passwordHash, githubID: githubID)
            if let session { try await repo.createSession(session) }
        }
    }

    /// Inserts a user; a conflict is told apart afterwards rather than caught, because inside a
    /// transaction on PostgreSQL a failed statement would abort it. `operation` labels the metric
    /// with the public method that called.
    private func insertUser(_ user: User, passwordHash: String?, githubID: String?, operation: String = #function) async throws {
        let dialect = sql.dialect
        try await sql.run(operation) { db in
            let inserted = try await db.raw("""
                INSERT INTO users (id, name, role, created_at, password_hash, github_id)
                VALUES (\(bind: user.id), \(bind: user.name), \(bind: user.role.rawValue), \(bind: user.createdAt.timeIntervalSince1970),
                    \(bind: passwordHash), \(bind: githubID))
                ON CONFLICT DO NOTHING RETURNING id
                """).all()
            guard inserted.isEmpty else { return }
            if let githubID,
               try await db.raw("SELECT id FROM users WHERE github_id = \(bind: githubID)").all().isEmpty == false,
               try await db.raw("SELECT id FROM users WHERE \(dialect.sameName("name", user.name))").all().isEmpty {
                throw Self.githubTaken
            }
            throw BerthError(.userNameTaken, "A user named '\(user.name)' already exists; choose another name.")
        }
    }

    /// The user with this id.
    public func user(id: String) async throws -> User? {
        try await sql.run { db in
            try Self.oneUser(try await db.raw("SELECT \(unsafeRaw: UserRow.columns) FROM users WHERE id = \(bind: id)").all())
        }
    }

    /// The user with this name, in any case.
    public func user(named name: String) async throws -> User? {
        let dialect = sql.dialect
        return try await sql.run { db in
            try Self.oneUser(try await db.raw("SELECT \(unsafeRaw: UserRow.columns) FROM users WHERE \(dialect.sameName("name", name))").all())
        }
    }

    /// All users, oldest first.
    public func users() async throws -> [User] {
        try await sql.run { db in
            try UserRow.users(try await db.raw("SELECT \(unsafeRaw: UserRow.columns) FROM users ORDER BY created_at, id").all())
        }
    }

    // MARK: Tokens

    /// Stores a token (only its hash); `token_exists` when its id or hash is taken,
    /// `invalid_reference` when its user does not exist.
    public func createToken(_ token: APIToken) async throws {
        try await sql.run { db in
            let inserted = try await db.raw("""
                INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at)
                VALUES (\(bind: token.id), \(bind: token.userID), \(bind: token.name), \(bind: token.secretHash), \(bind: token.createdAt.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING id
                """).all()
            guard !inserted.isEmpty else { throw BerthError(.tokenExists, "That token already exists.") }
        }
    }

    /// The user a token hash belongs to.
    public func user(forTokenHash hash: String) async throws -> User? {
        try await sql.run { db in
            try Self.oneUser(try await db.raw("""
                SELECT \(unsafeRaw: UserRow.columns) FROM users JOIN api_tokens ON api_tokens.user_id = users.id
                WHERE api_tokens.secret_hash = \(bind: hash)
                """).all())
        }
    }

    /// A user's tokens (hashes only), oldest first.
    public func tokens(userID: String) async throws -> [APIToken] {
        try await sql.run { db in
            let rows = try await db.raw("""
                SELECT id, user_id, name, secret_hash, created_at FROM api_tokens WHERE user_id = \(bind: userID) ORDER BY created_at, id
                """).all()
            return try RowDecoding.models(rows, as: TokenRow.self, table: "api_tokens", key: "id").map(\.token)
        }
    }

    /// Revokes one of a user's tokens; false when they have no such token.
    public func deleteToken(id: String, userID: String) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("DELETE FROM api_tokens WHERE id = \(bind: id) AND user_id = \(bind: userID) RETURNING id").all().isEmpty == false
        }
    }

    // MARK: Passwords, roles and linked accounts

    /// Sets (or with nil, removes) a user's bcrypt password hash.
    public func setPasswordHash(userID: String, hash: String?) async throws {
        try await sql.run { db in
            try Self.expectUser(userID, try await db.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userID) RETURNING id").all())
        }
    }

    /// A user's bcrypt password hash; nil when they have no password (or do not exist).
    public func passwordHash(userID: String) async throws -> String? {
        try await sql.run { db in
            let rows = try await db.raw("SELECT id, password_hash FROM users WHERE id = \(bind: userID)").all()
            return try RowDecoding.models(rows, as: PasswordRow.self, table: "users", key: "id").first?.passwordHash
        }
    }

    /// Changes a user's role.
    public func setRole(userID: String, role: Role) async throws {
        try await sql.run { db in
            try Self.expectUser(userID, try await db.raw("UPDATE users SET role = \(bind: role.rawValue) WHERE id = \(bind: userID) RETURNING id").all())
        }
    }

    /// The user linked to this GitHub account id.
    public func user(githubID: String) async throws -> User? {
        try await sql.run { db in
            try Self.oneUser(try await db.raw("SELECT \(unsafeRaw: UserRow.columns) FROM users WHERE github_id = \(bind: githubID)").all())
        }
    }

    /// Links a user to a GitHub account id; `store_conflict` when another user has it.
    public func setGitHubID(userID: String, githubID: String) async throws {
        try await sql.run { db in
            let updated: [any SQLRow]
            do {
                updated = try await db.raw("UPDATE users SET github_id = \(bind: githubID) WHERE id = \(bind: userID) RETURNING id").all()
            } catch where StoreErrors.isUniqueViolation(error) {
                // One statement whose failure ends the call, so catching it aborts nothing else.
                throw Self.githubTaken
            }
            try Self.expectUser(userID, updated)
        }
    }

    // MARK: Sessions

    /// Stores a new session; `session_exists` when its hash is taken, `invalid_reference` when
    /// its user does not exist.
    public func createSession(_ session: SessionRecord) async throws {
        try await sql.run { db in
            let inserted = try await db.raw("""
                INSERT INTO sessions (secret_hash, user_id, created_at, expires_at, client_ip, user_agent)
                VALUES (\(bind: session.secretHash), \(bind: session.userID), \(bind: session.createdAt.timeIntervalSince1970),
                    \(bind: session.expiresAt.timeIntervalSince1970), \(bind: session.clientIP), \(bind: session.userAgent))
                ON CONFLICT DO NOTHING RETURNING secret_hash
                """).all()
            guard !inserted.isEmpty else { throw BerthError(.sessionExists, "That session already exists.") }
        }
    }

    /// The live session with this secret hash and its user; a session that expired at or
    /// before `now` is not returned.
    public func session(secretHash: String, now: Date) async throws -> (session: SessionRecord, user: User)? {
        try await sql.run { db in
            let rows = try await db.raw("""
                SELECT sessions.secret_hash, sessions.user_id, sessions.created_at AS session_created_at, sessions.expires_at,
                    sessions.client_ip, sessions.user_agent, \(unsafeRaw: UserRow.columns)
                FROM sessions JOIN users ON users.id = sessions.user_id
                WHERE sessions.secret_hash = \(bind: secretHash) AND sessions.expires_at > \(bind: now.timeIntervalSince1970)
                """).all()
            guard let row = rows.first else { return nil }
            // Named by its user: the hash is the cookie's lookup key and stays out of messages.
            let session = try RowDecoding.model(row, as: SessionRow.self, table: "sessions", key: "user_id")
            let user = try RowDecoding.model(row, as: UserRow.self, table: "users", key: "id").user()
            return (session.session, user)
        }
    }

    /// Ends a session.
    public func deleteSession(secretHash: String) async throws {
        try await sql.run { db in try await db.raw("DELETE FROM sessions WHERE secret_hash = \(bind: secretHash)").run() }
    }

    /// Ends every session of a user.
    public func deleteSessions(userID: String) async throws {
        try await sql.run { db in try await db.raw("DELETE FROM sessions WHERE user_id = \(bind: userID)").run() }
    }

    // MARK: Rows

    static let githubTaken = BerthError(.storeConflict, "That GitHub account is already linked to another Berth user.")

    /// The one user of a lookup by a unique key, or nil.
    static func oneUser(_ rows: [any SQLRow]) throws -> User? {
        try UserRow.users(rows).first
    }

    /// Fails with `user_not_found` when an update by id touched no row.
    static func expectUser(_ userID: String, _ updated: [any SQLRow]) throws {
        guard !updated.isEmpty else { throw BerthError(.userNotFound, "No user has id '\(userID.prefix(64))'.") }
    }
}

/// A row of `users` (without its password hash, which only ``AccountRepository/passwordHash(userID:)`` reads).
struct UserRow: Decodable {
    /// The columns a `User` needs, qualified so they can be joined.
    static let columns = "users.id, users.name, users.role, users.created_at"

    var id: String
    var name: String
    var role: String
    var createdAt: Double

    func user() throws -> User {
        guard let role = Role(rawValue: role) else {
            throw RowDecoding.invalid(table: "users", key: id, reason: "the role '\(role.prefix(32))' is neither player nor admin")
        }
        return User(id: id, name: name, role: role, createdAt: Date(timeIntervalSince1970: createdAt))
    }

    static func users(_ rows: [any SQLRow]) throws -> [User] {
        try RowDecoding.models(rows, as: UserRow.self, table: "users", key: "id").map { try $0.user() }
    }
}

/// A user's password hash.
private struct PasswordRow: Decodable {
    var id: String
    var passwordHash: String?
}

/// A row of `api_tokens`.
private struct TokenRow: Decodable {
    var id: String
    var userId: String
    var name: String
    var secretHash: String
    var createdAt: Double

    var token: APIToken {
        APIToken(id: id, userID: userId, name: name, secretHash: secretHash, createdAt: Date(timeIntervalSince1970: createdAt))
    }
}

/// A row of `sessions`, joined to its user (`created_at` is renamed, `users` has one too).
private struct SessionRow: Decodable {
    var secretHash: String
    var userId: String
    var sessionCreatedAt: Double
    var expiresAt: Double
    var clientIp: String?
    var userAgent: String?

    var session: SessionRecord {
        SessionRecord(
            secretHash: secretHash, userID: userId, createdAt: Date(timeIntervalSince1970: sessionCreatedAt),
            expiresAt: Date(timeIntervalSince1970: expiresAt), clientIP: clientIp, userAgent: userAgent
        )
    }
}

extension StoreDialect {
    /// `column` equals `name` without regard to case, written so the database's unique name
    /// index serves it: SQLite's is `COLLATE NOCASE`, PostgreSQL's is on `lower(name)`.
    func sameName(_ column: String, _ name: String) -> SQLQueryString {
        switch self {
        case .sqlite: "\(unsafeRaw: column) = \(bind: name) COLLATE NOCASE"
        case .postgres: "lower(\(unsafeRaw: column)) = lower(\(bind: name))"
        }
    }
}
