import BerthCore
import Foundation
import SQLKit

/// Event settings, flag submissions, solves and hint unlocks.
///
/// Methods keep the old store's names, so the `berth_store_call_duration` series keep theirs.
public struct PlayRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    // MARK: Settings

    /// Every stored setting.
    public func settings() async throws -> [String: String] {
        let rows = try await sql.run { db in
            try RowDecoding.models(try await db.raw("SELECT key, value FROM settings").all(), as: SettingRow.self, table: "settings", key: "key")
        }
        return Dictionary(rows.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// Stores (or with nil, removes) a setting.
    public func setSetting(key: String, value: String?) async throws {
        try await sql.run { db in
            if let value {
                try await db.raw(
                    """
                    INSERT INTO settings (key, value, updated_at) VALUES (\(bind: key), \(bind: value), \(bind: Date().timeIntervalSince1970))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """
                ).run()
            } else {
                try await db.raw("DELETE FROM settings WHERE key = \(bind: key)").run()
            }
        }
    }

    // MARK: Submissions and solves

    /// Stores a submission; `submission_exists` when its id is taken.
    public func insertSubmission(_ submission: SubmissionRecord) async throws {
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO submissions (id, time, user_id, scorer_kind, scorer_id, environment, submitted, outcome,
                    shared_from_instance, shared_from_owner, client_ip)
                VALUES (\(bind: submission.id), \(bind: submission.time.timeIntervalSince1970), \(bind: submission.userID),
                    \(bind: submission.scorer.kind.rawValue), \(bind: submission.scorer.id), \(bind: submission.environment),
                    \(bind: submission.submitted), \(bind: submission.outcome.rawValue), \(bind: submission.sharedFromInstance),
                    \(bind: submission.sharedFromOwner?.label), \(bind: submission.clientIP))
                ON CONFLICT DO NOTHING RETURNING id
                """
            ).all()
        }
        guard !inserted.isEmpty else { throw BerthError(.submissionExists, "Submission \(submission.id) already exists.") }
    }

    /// Submissions matching `query`, newest first.
    public func submissions(_ query: SubmissionQuery) async throws -> [SubmissionRecord] {
        var conditions: [SQLQueryString] = []
        if let environment = query.environment { conditions.append("environment = \(bind: environment)") }
        if let userID = query.userID { conditions.append("user_id = \(bind: userID)") }
        if let scorer = query.scorer { conditions.append(PlayRows.owner(scorer, kind: "scorer_kind", id: "scorer_id")) }
        if let outcomes = query.outcomes, !outcomes.isEmpty { conditions.append("outcome IN (\(binds: outcomes.map(\.rawValue)))") }
        let filter = PlayRows.whereClause(conditions)
        let limit = max(1, query.limit)
        return try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("SELECT * FROM submissions \(filter) ORDER BY time DESC, id LIMIT \(bind: limit)").all(),
                as: SubmissionRow.self, table: "submissions", key: "id"
            ).map { try $0.toDomain() }
        }
    }

    /// Records a solve; false when the scorer had already solved the environment.
    public func insertSolve(_ solve: SolveRecord) async throws -> Bool {
        try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO solves (scorer_kind, scorer_id, environment, user_id, time)
                VALUES (\(bind: solve.scorer.kind.rawValue), \(bind: solve.scorer.id), \(bind: solve.environment), \(bind: solve.userID),
                    \(bind: solve.time.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING environment
                """
            ).all().isEmpty == false
        }
    }

    /// Stores a submission and, with `solve`, the solve it earned, in one transaction; true when
    /// the solve is new. When the scorer had already solved the environment, a `correct`
    /// submission is stored as `already_solved` (the caller shows it so) and the answer is false.
    /// Either both rows are stored or neither is.
    public func recordSubmission(_ submission: SubmissionRecord, solve: SolveRecord?) async throws -> Bool {
        try await withTransaction { play in
            var stored = submission
            var new = false
            if let solve {
                new = try await play.insertSolve(solve)
                if !new, stored.outcome == .correct { stored.outcome = .alreadySolved }
            }
            try await play.insertSubmission(stored)
            return new
        }
    }

    /// Solves, oldest first, optionally of one environment.
    public func solves(environment: String?) async throws -> [SolveRecord] {
        let filter = PlayRows.whereClause(environment.map { ["environment = \(bind: $0)"] } ?? [])
        return try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("SELECT * FROM solves \(filter) ORDER BY time, environment").all(),
                as: SolveRow.self, table: "solves", key: "scorer_kind,scorer_id,environment"
            ).map { try $0.toDomain() }
        }
    }

    // MARK: Hints

    /// Records a hint unlock; false when it was already unlocked.
    public func insertHintUnlock(_ unlock: HintUnlockRecord) async throws -> Bool {
        try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO hint_unlocks (scorer_kind, scorer_id, environment, hint, user_id, cost, time)
                VALUES (\(bind: unlock.scorer.kind.rawValue), \(bind: unlock.scorer.id), \(bind: unlock.environment), \(bind: unlock.hint),
                    \(bind: unlock.userID), \(bind: unlock.cost), \(bind: unlock.time.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING hint
                """
            ).all().isEmpty == false
        }
    }

    /// Hint unlocks, oldest first, optionally of one scorer.
    public func hintUnlocks(scorer: Owner?) async throws -> [HintUnlockRecord] {
        let filter = PlayRows.whereClause(scorer.map { [PlayRows.owner($0, kind: "scorer_kind", id: "scorer_id")] } ?? [])
        return try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("SELECT * FROM hint_unlocks \(filter) ORDER BY time, environment, hint").all(),
                as: HintUnlockRow.self, table: "hint_unlocks", key: "scorer_kind,scorer_id,environment,hint"
            ).map { try $0.toDomain() }
        }
    }
}

// MARK: Rows

private struct SettingRow: Decodable {
    var key: String
    var value: String
}

private struct SubmissionRow: Decodable {
    var id: String
    var time: Double
    var userId: String
    var scorerKind: String
    var scorerId: String
    var environment: String
    var submitted: String
    var outcome: String
    var sharedFromInstance: String?
    var sharedFromOwner: String?
    var clientIp: String?

    func toDomain() throws -> SubmissionRecord {
        let row = PlayRows.Key(table: "submissions", row: id)
        guard let outcome = SubmissionOutcome(rawValue: outcome) else { throw row.invalid("outcome") }
        var sharedFrom: Owner?
        if let label = sharedFromOwner {
            guard let owner = Owner(label: label) else { throw row.invalid("shared_from_owner") }
            sharedFrom = owner
        }
        return SubmissionRecord(
            id: id, time: Date(timeIntervalSince1970: time), userID: userId, scorer: try row.owner(scorerKind, scorerId, column: "scorer_kind"),
            environment: environment, submitted: submitted, outcome: outcome, sharedFromInstance: sharedFromInstance, sharedFromOwner: sharedFrom,
            clientIP: clientIp
        )
    }
}

private struct SolveRow: Decodable {
    var scorerKind: String
    var scorerId: String
    var environment: String
    var userId: String
    var time: Double

    func toDomain() throws -> SolveRecord {
        let row = PlayRows.Key(table: "solves", row: "\(scorerKind), \(scorerId), \(environment)")
        return SolveRecord(
            scorer: try row.owner(scorerKind, scorerId, column: "scorer_kind"), environment: environment, userID: userId,
            time: Date(timeIntervalSince1970: time)
        )
    }
}

private struct HintUnlockRow: Decodable {
    var scorerKind: String
    var scorerId: String
    var environment: String
    var hint: Int
    var userId: String
    var cost: Int
    var time: Double

    func toDomain() throws -> HintUnlockRecord {
        let row = PlayRows.Key(table: "hint_unlocks", row: "\(scorerKind), \(scorerId), \(environment), \(hint)")
        return HintUnlockRecord(
            scorer: try row.owner(scorerKind, scorerId, column: "scorer_kind"), environment: environment, hint: hint, userID: userId, cost: cost,
            time: Date(timeIntervalSince1970: time)
        )
    }
}
