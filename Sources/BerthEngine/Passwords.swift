import BerthCore
import BerthStore
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Passwords, browser sessions and self-service teams.
extension Accounts {
    /// How long a browser session lasts.
    public static let sessionLifetime: TimeInterval = 7 * 86400

    /// bcrypt off the request threads: it is slow on purpose.
    static func bcryptHash(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    static func bcryptVerify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Creates a player with a password; the name must be free and the password strong enough.
    public func register(name: String, password: String) async throws -> User {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        try Self.validateName(trimmed, what: "user")
        if let problem = PasswordPolicy.problem(password: password, name: trimmed) {
            throw BerthError(.weakPassword, "That password is too weak: \(problem)")
        }
        let hash = try await Self.bcryptHash(password, cost: bcryptCost)
        // The user and its password in one transaction: never a user without the password.
        let user = User(id: Identifier.make("usr"), name: trimmed, role: .player, createdAt: Date())
        try await store.accounts.register(user, passwordHash: hash, session: nil)
        return user
    }

    /// The user when `name` and `password` match; nil otherwise, whichever part was wrong.
    /// A missing user costs the same bcrypt work as a wrong password, so timing tells nothing.
    public func checkPassword(name: String, password: String) async throws -> User? {
        let user = try await store.accounts.user(named: name.trimmingCharacters(in: .whitespaces))
        var stored: String?
        if let user { stored = try await store.accounts.passwordHash(userID: user.id) }
        guard password.utf8.count <= PasswordPolicy.maximumBytes else { return nil }
        let matches = try await Self.bcryptVerify(password, hash: stored ?? Self.decoyHash)
        return matches && stored != nil ? user : nil
    }

    /// Sets a user's password (admins set it for others; players change their own).
    public func setPassword(userID: String, password: String) async throws {
        guard let user = try await store.accounts.user(id: userID) else { throw BerthError(.userNotFound, "No user has id '\(userID)'.") }
        if let problem = PasswordPolicy.problem(password: password, name: user.name) {
            throw BerthError(.weakPassword, "That password is too weak: \(problem)")
        }
        try await store.accounts.setPasswordHash(userID: userID, hash: try await Self.bcryptHash(password, cost: bcryptCost))
        try await store.accounts.deleteSessions(userID: userID)
    }

    /// A bcrypt hash of a random password, checked against when a name does not exist.
    static let decoyHash = Bcrypt.hash(Secrets.randomBase64URL(byteCount: 18), cost: 12)

    /// Starts a session for `user`; returns the cookie's secret (shown once, stored hashed).
    public func startSession(for user: User, clientIP: String?, userAgent: String?, now: Date = Date()) async throws -> String {
        let secret = Secrets.randomBase64URL(byteCount: 32)
        try await store.accounts.createSession(SessionRecord(
            secretHash: Self.hash(secret), userID: user.id, createdAt: now, expiresAt: now.addingTimeInterval(Self.sessionLifetime),
            clientIP: clientIP, userAgent: userAgent
        ))
        return secret
    }

    /// The user of a live session cookie, or nil.
    public func sessionUser(secret: String, now: Date = Date()) async throws -> User? {
        guard !secret.isEmpty, secret.count <= 128 else { return nil }
        return try await store.accounts.session(secretHash: Self.hash(secret), now: now)?.1
    }

    /// Ends the session of a cookie.
    public func endSession(secret: String) async throws {
        try await store.accounts.deleteSession(secretHash: Self.hash(secret))
    }

    // MARK: Teams

    /// A team with its invite code and members.
    public struct TeamDetails: Sendable {
        /// The team.
        public var team: Team
        /// The code others join with.
        public var inviteCode: String
        /// Its members.
        public var members: [User]
    }

    /// The caller's team, or nil.
    public func team(of user: User) async throws -> TeamDetails? {
        guard let team = try await store.teams.team(ofUser: user.id) else { return nil }
        return try await details(team)
    }

    /// Creates a team and puts `user` in it.
    public func createTeam(name: String, founder user: User) async throws -> TeamDetails {
        if try await store.teams.team(ofUser: user.id) != nil {
            throw BerthError(.alreadyMember, "You are already in a team; leave it first.")
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        try Self.validateName(trimmed, what: "team")
        // The team, its founder and its invite code in one transaction: never a team without its founder.
        let team = Team(id: Identifier.make("team"), name: trimmed, createdAt: Date())
        try await store.teams.create(team, founder: user.id, inviteCode: Secrets.randomBase64URL(byteCount: 12))
        return try await details(team)
    }

    /// Puts `user` in the team with `inviteCode`.
    public func joinTeam(inviteCode: String, user: User) async throws -> TeamDetails {
        let code = inviteCode.trimmingCharacters(in: .whitespaces)
        guard !code.isEmpty, code.count <= 64, let team = try await store.teams.team(inviteCode: code) else {
            throw BerthError(.teamNotFound, "No team has that invite code; ask a member for the current one.")
        }
        if let current = try await store.teams.team(ofUser: user.id) {
            throw BerthError(.alreadyMember, current.id == team.id ? "You are already in \(team.name)." : "You are already in a team; leave it first.")
        }
        try await store.teams.addMember(teamID: team.id, userID: user.id)
        return try await details(team)
    }

    /// Takes `user` out of their team.
    public func leaveTeam(user: User) async throws {
        guard let team = try await store.teams.team(ofUser: user.id), try await store.teams.removeMember(teamID: team.id, userID: user.id) else {
            throw BerthError(.teamNotFound, "You are not in a team.")
        }
    }

    /// A team's details, creating its invite code the first time.
    public func details(_ team: Team) async throws -> TeamDetails {
        var code = try await store.teams.inviteCode(teamID: team.id)
        if code == nil {
            let fresh = Secrets.randomBase64URL(byteCount: 12)
            try await store.teams.setInviteCode(teamID: team.id, code: fresh)
            code = fresh
        }
        return TeamDetails(team: team, inviteCode: code ?? "", members: try await store.teams.members(teamID: team.id))
    }
}
