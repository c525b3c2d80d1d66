import BerthCore
import Foundation
import SQLiteNIO

/// Accounts, sessions, teams' invite codes, settings, submissions, solves and hint unlocks.
extension SQLiteStore {
    // MARK: Passwords, roles, tokens and linked accounts

    public func deleteToken(id: String, userID: String) async throws -> Bool {
        try await run("DELETE FROM api_tokens WHERE id = ? AND user_id = ? RETURNING id", [.text(id), .text(userID)]).isEmpty == false
    }

    public func setPasswordHash(userID: String, hash: String?) async throws {
        _ = try await run("UPDATE users SET password_hash = ? WHERE id = ?", [Self.optional(hash), .text(userID)])
    }

    public func passwordHash(userID: String) async throws -> String? {
        try await run("SELECT password_hash FROM users WHERE id = ?", [.text(userID)]).first?.column("password_hash")?.string
    }

    public func setRole(userID: String, role: Role) async throws {
        _ = try await run("UPDATE users SET role = ? WHERE id = ?", [.text(role.rawValue), .text(userID)])
    }

    public func user(githubID: String) async throws -> User? {
        try await run("SELECT * FROM users WHERE github_id = ?", [.text(githubID)]).first.flatMap(Self.user)
    }

    public func setGitHubID(userID: String, githubID: String) async throws {
        _ = try await run("UPDATE users SET github_id = ? WHERE id = ?", [.text(githubID), .text(userID)])
    }

    // MARK: Sessions

    public func createSession(_ session: SessionRecord) async throws {
        try await insert(
            "INSERT INTO sessions (secret_hash, user_id, created_at, expires_at, client_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .text(session.secretHash), .text(session.userID), .float(session.createdAt.timeIntervalSince1970),
                .float(session.expiresAt.timeIntervalSince1970), Self.optional(session.clientIP), Self.optional(session.userAgent),
            ],
            conflict: BerthError(.sessionExists, "That session already exists.")
        )
    }

    public func session(secretHash: String, now: Date) async throws -> (SessionRecord, User)? {
        let rows = try await run(
            """
            SELECT sessions.secret_hash, sessions.created_at AS session_created, sessions.expires_at, sessions.client_ip,
                sessions.user_agent, users.* FROM sessions JOIN users ON users.id = sessions.user_id
            WHERE sessions.secret_hash = ? AND sessions.expires_at > ?
            """,
            [.text(secretHash), .float(now.timeIntervalSince1970)]
        )
        guard let row = rows.first, let user = Self.user(row), let created = row.column("session_created")?.double,
              let expires = row.column("expires_at")?.double
        else { return nil }
        let session = SessionRecord(
            secretHash: secretHash, userID: user.id, createdAt: Date(timeIntervalSince1970: created), expiresAt: Date(timeIntervalSince1970: expires),
            clientIP: row.column("client_ip")?.string, userAgent: row.column("user_agent")?.string
        )
        return (session, user)
    }

    public func deleteSession(secretHash: String) async throws {
        _ = try await run("DELETE FROM sessions WHERE secret_hash = ?", [.text(secretHash)])
    }

    public func deleteSessions(userID: String) async throws {
        _ = try await run("DELETE FROM sessions WHERE user_id = ?", [.text(userID)])
    }

    // MARK: Teams

    public func setInviteCode(teamID: String, code: String) async throws {
        _ = try await run("UPDATE teams SET invite_code = ? WHERE id = ?", [.text(code), .text(teamID)])
    }

    public func team(inviteCode: String) async throws -> Team? {
        try await run("SELECT * FROM teams WHERE invite_code = ?", [.text(inviteCode)]).first.flatMap(Self.team)
    }

    public func inviteCode(teamID: String) async throws -> String? {
        try await run("SELECT invite_code FROM teams WHERE id = ?", [.text(teamID)]).first?.column("invite_code")?.string
    }

    public func removeMember(teamID: String, userID: String) async throws -> Bool {
        try await run("DELETE FROM memberships WHERE team_id = ? AND user_id = ? RETURNING user_id", [.text(teamID), .text(userID)]).isEmpty == false
    }

    // MARK: Settings

    public func settings() async throws -> [String: String] {
        var settings: [String: String] = [:]
        for row in try await run("SELECT key, value FROM settings") {
            if let key = row.column("key")?.string, let value = row.column("value")?.string { settings[key] = value }
        }
        return settings
    }

    public func setSetting(key: String, value: String?) async throws {
        if let value {
            _ = try await run(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [.text(key), .text(value), .float(Date().timeIntervalSince1970)]
            )
        } else {
            _ = try await run("DELETE FROM settings WHERE key = ?", [.text(key)])
        }
    }

    // MARK: Submissions, solves and hints

    public func insertSubmission(_ submission: SubmissionRecord) async throws {
        try await insert(
            """
            INSERT INTO submissions (id, time, user_id, scorer_kind, scorer_id, environment, submitted, outcome,
                shared_from_instance, shared_from_owner, client_ip)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(submission.id), .float(submission.time.timeIntervalSince1970), .text(submission.userID),
                .text(submission.scorer.kind.rawValue), .text(submission.scorer.id), .text(submission.environment),
                .text(submission.submitted), .text(submission.outcome.rawValue), Self.optional(submission.sharedFromInstance),
                Self.optional(submission.sharedFromOwner?.label), Self.optional(submission.clientIP),
            ],
            conflict: BerthError(.submissionExists, "Submission \(submission.id) already exists.")
        )
    }

    public func submissions(_ query: SubmissionQuery) async throws -> [SubmissionRecord] {
        var filter = SQLFilter()
        filter.equals("environment", query.environment)
        filter.equals("user_id", query.userID)
        if let scorer = query.scorer { filter.add("scorer_kind = ? AND scorer_id = ?", [.text(scorer.kind.rawValue), .text(scorer.id)]) }
        if let outcomes = query.outcomes, !outcomes.isEmpty {
            filter.add("outcome IN (\(outcomes.map { _ in "?" }.joined(separator: ", ")))", outcomes.map { .text($0.rawValue) })
        }
        let binds = filter.binds + [.integer(max(1, query.limit))]
        return try await run("SELECT * FROM submissions \(filter.whereClause) ORDER BY time DESC, id LIMIT ?", binds).compactMap { row in
            guard let id = row.column("id")?.string, let time = row.column("time")?.double, let user = row.column("user_id")?.string,
                  let kind = row.column("scorer_kind")?.string.flatMap(Owner.Kind.init(rawValue:)), let scorer = row.column("scorer_id")?.string,
                  let environment = row.column("environment")?.string, let submitted = row.column("submitted")?.string,
                  let outcome = row.column("outcome")?.string.flatMap(SubmissionOutcome.init(rawValue:))
            else { return nil }
            return SubmissionRecord(
                id: id, time: Date(timeIntervalSince1970: time), userID: user, scorer: Owner(kind: kind, id: scorer), environment: environment,
                submitted: submitted, outcome: outcome, sharedFromInstance: row.column("shared_from_instance")?.string,
                sharedFromOwner: row.column("shared_from_owner")?.string.flatMap(Owner.init(label:)), clientIP: row.column("client_ip")?.string
            )
        }
    }

    public func insertSolve(_ solve: SolveRecord) async throws -> Bool {
        let rows = try await run(
            "INSERT INTO solves (scorer_kind, scorer_id, environment, user_id, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING environment",
            [.text(solve.scorer.kind.rawValue), .text(solve.scorer.id), .text(solve.environment), .text(solve.userID), .float(solve.time.timeIntervalSince1970)]
        )
        return !rows.isEmpty
    }

    public func solves(environment: String?) async throws -> [SolveRecord] {
        var filter = SQLFilter()
        filter.equals("environment", environment)
        return try await run("SELECT * FROM solves \(filter.whereClause) ORDER BY time, environment", filter.binds).compactMap { row in
            guard let kind = row.column("scorer_kind")?.string.flatMap(Owner.Kind.init(rawValue:)), let scorer = row.column("scorer_id")?.string,
                  let environment = row.column("environment")?.string, let user = row.column("user_id")?.string,
                  let time = row.column("time")?.double
            else { return nil }
            return SolveRecord(scorer: Owner(kind: kind, id: scorer), environment: environment, userID: user, time: Date(timeIntervalSince1970: time))
        }
    }

    public func insertHintUnlock(_ unlock: HintUnlockRecord) async throws -> Bool {
        let rows = try await run(
            """
            INSERT INTO hint_unlocks (scorer_kind, scorer_id, environment, hint, user_id, cost, time) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING RETURNING hint
            """,
            [
                .text(unlock.scorer.kind.rawValue), .text(unlock.scorer.id), .text(unlock.environment), .integer(unlock.hint),
                .text(unlock.userID), .integer(unlock.cost), .float(unlock.time.timeIntervalSince1970),
            ]
        )
        return !rows.isEmpty
    }

    public func hintUnlocks(scorer: Owner?) async throws -> [HintUnlockRecord] {
        var filter = SQLFilter()
        if let scorer { filter.add("scorer_kind = ? AND scorer_id = ?", [.text(scorer.kind.rawValue), .text(scorer.id)]) }
        return try await run("SELECT * FROM hint_unlocks \(filter.whereClause) ORDER BY time", filter.binds).compactMap { row in
            guard let kind = row.column("scorer_kind")?.string.flatMap(Owner.Kind.init(rawValue:)), let scorer = row.column("scorer_id")?.string,
                  let environment = row.column("environment")?.string, let hint = row.column("hint")?.integer,
                  let user = row.column("user_id")?.string, let cost = row.column("cost")?.integer, let time = row.column("time")?.double
            else { return nil }
            return HintUnlockRecord(
                scorer: Owner(kind: kind, id: scorer), environment: environment, hint: hint, userID: user, cost: cost,
                time: Date(timeIntervalSince1970: time)
            )
        }
    }
}
