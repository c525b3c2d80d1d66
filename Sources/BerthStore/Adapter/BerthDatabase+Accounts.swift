import BerthCore
import Foundation

/// The old ``BerthStore`` protocol's methods for users, tokens, passwords, roles, GitHub ids,
/// sessions, teams and invite codes, forwarded to ``AccountRepository`` and ``TeamRepository``
/// until the services call the repositories themselves.
extension BerthDatabase {
    public func createUser(_ user: User) async throws { try await accounts.createUser(user) }
    public func user(id: String) async throws -> User? { try await accounts.user(id: id) }
    public func user(named name: String) async throws -> User? { try await accounts.user(named: name) }
    public func users() async throws -> [User] { try await accounts.users() }

    public func createToken(_ token: APIToken) async throws { try await accounts.createToken(token) }
    public func user(forTokenHash hash: String) async throws -> User? { try await accounts.user(forTokenHash: hash) }
    public func tokens(userID: String) async throws -> [APIToken] { try await accounts.tokens(userID: userID) }
    public func deleteToken(id: String, userID: String) async throws -> Bool { try await accounts.deleteToken(id: id, userID: userID) }

    public func setPasswordHash(userID: String, hash: String?) async throws { try await accounts.setPasswordHash(userID: userID, hash: hash) }
    public func passwordHash(userID: String) async throws -> String? { try await accounts.passwordHash(userID: userID) }
    public func setRole(userID: String, role: Role) async throws { try await accounts.setRole(userID: userID, role: role) }
    public func user(githubID: String) async throws -> User? { try await accounts.user(githubID: githubID) }
    public func setGitHubID(userID: String, githubID: String) async throws { try await accounts.setGitHubID(userID: userID, githubID: githubID) }

    public func createSession(_ session: SessionRecord) async throws { try await accounts.createSession(session) }
    public func session(secretHash: String, now: Date) async throws -> (SessionRecord, User)? {
        try await accounts.session(secretHash: secretHash, now: now)
    }
    public func deleteSession(secretHash: String) async throws { try await accounts.deleteSession(secretHash: secretHash) }
    public func deleteSessions(userID: String) async throws { try await accounts.deleteSessions(userID: userID) }

    public func createTeam(_ team: Team) async throws { try await teams.createTeam(team) }
    public func team(id: String) async throws -> Team? { try await teams.team(id: id) }
    public func teams() async throws -> [Team] { try await teams.teams() }
    public func addMember(teamID: String, userID: String) async throws { try await teams.addMember(teamID: teamID, userID: userID) }
    public func members(teamID: String) async throws -> [User] { try await teams.members(teamID: teamID) }
    public func team(ofUser userID: String) async throws -> Team? { try await teams.team(ofUser: userID) }
    public func removeMember(teamID: String, userID: String) async throws -> Bool { try await teams.removeMember(teamID: teamID, userID: userID) }

    public func setInviteCode(teamID: String, code: String) async throws { try await teams.setInviteCode(teamID: teamID, code: code) }
    public func team(inviteCode: String) async throws -> Team? { try await teams.team(inviteCode: inviteCode) }
    public func inviteCode(teamID: String) async throws -> String? { try await teams.inviteCode(teamID: teamID) }
}
