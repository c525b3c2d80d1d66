import BerthCore
import Foundation
import SQLKit

/// Teams, memberships and invite codes.
///
/// Team names are unique without regard to case (`team_name_taken`), and a user belongs to at
/// most one team (`already_member`).
public struct TeamRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// Adds a team; fails with `team_name_taken` when the name exists (in any case).
    public func createTeam(_ team: Team) async throws {
        try await insertTeam(team, inviteCode: nil)
    }

    /// Creates a team, puts its founder in it and sets its invite code, all or nothing: a founder
    /// already in a team fails with `already_member`, a founder who does not exist with
    /// `invalid_reference`, and in both cases no team is left behind.
    public func create(_ team: Team, founder userID: String, inviteCode: String?) async throws {
        try await withTransaction { repo in
            try await repo.insertTeam(team, inviteCode: inviteCode)
            try await repo.addMember(teamID: team.id, userID: userID)
        }
    }

    /// Inserts a team; a conflict is told apart afterwards rather than caught (see
    /// ``AccountRepository``). `operation` labels the metric with the public method that called.
    private func insertTeam(_ team: Team, inviteCode: String?, operation: String = #function) async throws {
        let dialect = sql.dialect
        try await sql.run(operation) { db in
            let inserted = try await db.raw("""
                INSERT INTO teams (id, name, created_at, invite_code)
                VALUES (\(bind: team.id), \(bind: team.name), \(bind: team.createdAt.timeIntervalSince1970), \(bind: inviteCode))
                ON CONFLICT DO NOTHING RETURNING id
                """).all()
            guard inserted.isEmpty else { return }
            if let inviteCode,
               try await db.raw("SELECT id FROM teams WHERE invite_code = \(bind: inviteCode)").all().isEmpty == false,
               try await db.raw("SELECT id FROM teams WHERE \(dialect.sameName("name", team.name))").all().isEmpty {
                throw Self.inviteCodeTaken
            }
            throw BerthError(.teamNameTaken, "A team named '\(team.name)' already exists; choose another name.")
        }
    }

    /// The team with this id.
    public func team(id: String) async throws -> Team? {
        try await sql.run { db in
            try TeamRow.teams(try await db.raw("SELECT \(unsafeRaw: TeamRow.columns) FROM teams WHERE id = \(bind: id)").all()).first
        }
    }

    /// All teams, oldest first.
    public func teams() async throws -> [Team] {
        try await sql.run { db in
            try TeamRow.teams(try await db.raw("SELECT \(unsafeRaw: TeamRow.columns) FROM teams ORDER BY created_at, id").all())
        }
    }

    // MARK: Members

    /// Adds a user to a team: `already_member` when they are in a team (this one or another),
    /// `invalid_reference` when the team or the user does not exist.
    public func addMember(teamID: String, userID: String) async throws {
        try await sql.run { db in
            let inserted = try await db.raw("""
                INSERT INTO memberships (team_id, user_id) VALUES (\(bind: teamID), \(bind: userID))
                ON CONFLICT DO NOTHING RETURNING user_id
                """).all()
            guard !inserted.isEmpty else {
                throw BerthError(.alreadyMember, "That user already belongs to a team; a user can be in one team only.")
            }
        }
    }

    /// Removes a user from a team; false when they were not in it.
    public func removeMember(teamID: String, userID: String) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("DELETE FROM memberships WHERE team_id = \(bind: teamID) AND user_id = \(bind: userID) RETURNING user_id")
                .all().isEmpty == false
        }
    }

    /// Members of a team, by name.
    public func members(teamID: String) async throws -> [User] {
        let members = try await sql.run { db in
            try UserRow.users(try await db.raw("""
                SELECT \(unsafeRaw: UserRow.columns) FROM users JOIN memberships ON memberships.user_id = users.id
                WHERE memberships.team_id = \(bind: teamID)
                """).all())
        }
        // Sorted here, not by ORDER BY: PostgreSQL sorts text by its locale and SQLite by bytes,
        // and a team's members are few.
        return members.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// The team a user belongs to, if any.
    public func team(ofUser userID: String) async throws -> Team? {
        try await sql.run { db in
            try TeamRow.teams(try await db.raw("""
                SELECT \(unsafeRaw: TeamRow.columns) FROM teams JOIN memberships ON memberships.team_id = teams.id
                WHERE memberships.user_id = \(bind: userID)
                """).all()).first
        }
    }

    // MARK: Invite codes

    /// Sets a team's invite code: `team_not_found` when there is no such team, `store_conflict`
    /// when another team has the code.
    public func setInviteCode(teamID: String, code: String) async throws {
        try await sql.run { db in
            let updated: [any SQLRow]
            do {
                updated = try await db.raw("UPDATE teams SET invite_code = \(bind: code) WHERE id = \(bind: teamID) RETURNING id").all()
            } catch where StoreErrors.isUniqueViolation(error) {
                // One statement whose failure ends the call, so catching it aborts nothing else.
                throw Self.inviteCodeTaken
            }
            guard !updated.isEmpty else { throw BerthError(.teamNotFound, "No team has id '\(teamID.prefix(64))'.") }
        }
    }

    /// The team with this invite code.
    public func team(inviteCode: String) async throws -> Team? {
        try await sql.run { db in
            try TeamRow.teams(try await db.raw("SELECT \(unsafeRaw: TeamRow.columns) FROM teams WHERE invite_code = \(bind: inviteCode)").all()).first
        }
    }

    /// A team's invite code; nil when it has none (or does not exist).
    public func inviteCode(teamID: String) async throws -> String? {
        try await sql.run { db in
            let rows = try await db.raw("SELECT id, invite_code FROM teams WHERE id = \(bind: teamID)").all()
            return try RowDecoding.models(rows, as: InviteCodeRow.self, table: "teams", key: "id").first?.inviteCode
        }
    }

    static let inviteCodeTaken = BerthError(.storeConflict, "That invite code belongs to another team; choose another.")
}

/// A row of `teams` (without its invite code, which only ``TeamRepository/inviteCode(teamID:)`` reads).
private struct TeamRow: Decodable {
    static let columns = "teams.id, teams.name, teams.created_at"

    var id: String
    var name: String
    var createdAt: Double

    static func teams(_ rows: [any SQLRow]) throws -> [Team] {
        try RowDecoding.models(rows, as: TeamRow.self, table: "teams", key: "id").map {
            Team(id: $0.id, name: $0.name, createdAt: Date(timeIntervalSince1970: $0.createdAt))
        }
    }
}

/// A team's invite code.
private struct InviteCodeRow: Decodable {
    var id: String
    var inviteCode: String?
}
