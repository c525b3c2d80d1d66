import BerthCore
import Foundation
import SQLKit

/// Lab progress, check results and hints given. A row that does not decode is a
/// `store_row_invalid` error that names it: progress is never silently dropped.
///
/// Methods keep the old store's names, so the `berth_store_call_duration` series keep theirs.
public struct LabRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    // MARK: Progress

    /// An owner's progress in a lab, nil before they opened it.
    public func labProgress(owner: Owner, environment: String) async throws -> LabProgressRecord? {
        try await sql.run { db in
            try RowDecoding.models(
                try await db.raw(
                    "SELECT * FROM lab_progress WHERE \(PlayRows.owner(owner)) AND environment = \(bind: environment)"
                ).all(),
                as: LabProgressRow.self, table: "lab_progress", key: LabProgressRow.key
            ).first?.toDomain()
        }
    }

    /// Every owner's progress, optionally in one lab, oldest start first.
    public func labProgress(environment: String?) async throws -> [LabProgressRecord] {
        let filter = PlayRows.whereClause(environment.map { ["environment = \(bind: $0)"] } ?? [])
        return try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("SELECT * FROM lab_progress \(filter) ORDER BY started_at, owner_kind, owner_id, environment").all(),
                as: LabProgressRow.self, table: "lab_progress", key: LabProgressRow.key
            ).map { try $0.toDomain() }
        }
    }

    /// Stores an owner's progress in a lab, replacing what was stored.
    public func saveLabProgress(_ progress: LabProgressRecord) async throws {
        let steps = try JSONColumn.encode(progress.steps)
        try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO lab_progress (owner_kind, owner_id, environment, current_step, steps, started_at, updated_at, completed_at)
                VALUES (\(bind: progress.owner.kind.rawValue), \(bind: progress.owner.id), \(bind: progress.environment),
                    \(bind: progress.currentStep), \(bind: steps), \(bind: progress.startedAt.timeIntervalSince1970),
                    \(bind: progress.updatedAt.timeIntervalSince1970), \(bind: progress.completedAt?.timeIntervalSince1970))
                ON CONFLICT (owner_kind, owner_id, environment) DO UPDATE SET current_step = excluded.current_step,
                    steps = excluded.steps, started_at = excluded.started_at, updated_at = excluded.updated_at,
                    completed_at = excluded.completed_at
                """
            ).run()
        }
    }

    // MARK: Checks

    /// Stores one check result; `internal_error` when its id is taken.
    public func insertLabCheck(_ check: LabCheckRecord) async throws {
        let outcome = check.outcome
        let failures = try JSONColumn.encode(outcome.failures)
        let metrics = try JSONColumn.encode(outcome.metrics)
        let notes = try JSONColumn.encode(outcome.notes)
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO lab_checks (id, owner_kind, owner_id, environment, user_id, instance_id, step, status, failures, metrics, notes,
                    exit_code, duration_ms, operator_detail, time)
                VALUES (\(bind: check.id), \(bind: check.owner.kind.rawValue), \(bind: check.owner.id), \(bind: check.environment),
                    \(bind: check.userID), \(bind: check.instanceID), \(bind: check.step), \(bind: outcome.status.rawValue), \(bind: failures),
                    \(bind: metrics), \(bind: notes), \(bind: outcome.exitCode), \(bind: outcome.durationMilliseconds),
                    \(bind: outcome.operatorDetail), \(bind: check.time.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING id
                """
            ).all()
        }
        guard !inserted.isEmpty else { throw BerthError(.internalError, "Check result \(check.id) already exists.") }
    }

    /// Check results matching `query`, newest first.
    public func labChecks(_ query: LabCheckQuery) async throws -> [LabCheckRecord] {
        var conditions: [SQLQueryString] = []
        if let owner = query.owner { conditions.append(PlayRows.owner(owner)) }
        if let environment = query.environment { conditions.append("environment = \(bind: environment)") }
        if let statuses = query.statuses, !statuses.isEmpty { conditions.append("status IN (\(binds: statuses.map(\.rawValue)))") }
        let filter = PlayRows.whereClause(conditions)
        let limit = max(1, query.limit)
        let statement: SQLQueryString
        if query.latestPerOwner {
            // A window function rather than SQLite's bare-column MAX(), so PostgreSQL runs it too
            // (and PostgreSQL wants the subquery named).
            statement = """
                SELECT * FROM (
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY owner_kind, owner_id, environment ORDER BY time DESC, id DESC) AS newest
                    FROM lab_checks \(filter)
                ) AS latest WHERE newest = 1 ORDER BY time DESC, id DESC LIMIT \(bind: limit)
                """
        } else {
            statement = "SELECT * FROM lab_checks \(filter) ORDER BY time DESC, id DESC LIMIT \(bind: limit)"
        }
        return try await sql.run { db in
            try RowDecoding.models(try await db.raw(statement).all(), as: LabCheckRow.self, table: "lab_checks", key: "id").map { try $0.toDomain() }
        }
    }

    // MARK: Hints

    /// Stores one hint given; `internal_error` when its id is taken.
    public func insertLabHint(_ hint: LabHintRecord) async throws {
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO lab_hints (id, owner_kind, owner_id, environment, user_id, instance_id, step, source, authored_index, time)
                VALUES (\(bind: hint.id), \(bind: hint.owner.kind.rawValue), \(bind: hint.owner.id), \(bind: hint.environment),
                    \(bind: hint.userID), \(bind: hint.instanceID), \(bind: hint.step), \(bind: hint.source.rawValue),
                    \(bind: hint.authoredIndex), \(bind: hint.time.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING id
                """
            ).all()
        }
        guard !inserted.isEmpty else { throw BerthError(.internalError, "Hint record \(hint.id) already exists.") }
    }

    /// Hints given to an owner in a lab (every owner's with nil), oldest first.
    public func labHints(owner: Owner?, environment: String?) async throws -> [LabHintRecord] {
        var conditions: [SQLQueryString] = []
        if let owner { conditions.append(PlayRows.owner(owner)) }
        if let environment { conditions.append("environment = \(bind: environment)") }
        let filter = PlayRows.whereClause(conditions)
        return try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("SELECT * FROM lab_hints \(filter) ORDER BY time, id").all(), as: LabHintRow.self, table: "lab_hints", key: "id"
            ).map { try $0.toDomain() }
        }
    }
}

// MARK: Rows

private struct LabProgressRow: Decodable {
    static let key = "owner_kind,owner_id,environment"

    var ownerKind: String
    var ownerId: String
    var environment: String
    var currentStep: String?
    var steps: String
    var startedAt: Double
    var updatedAt: Double
    var completedAt: Double?

    func toDomain() throws -> LabProgressRecord {
        let row = PlayRows.Key(table: "lab_progress", row: "\(ownerKind), \(ownerId), \(environment)")
        return LabProgressRecord(
            owner: try row.owner(ownerKind, ownerId), environment: environment, currentStep: currentStep,
            steps: try row.json([LabStepRecord].self, steps, column: "steps"), startedAt: Date(timeIntervalSince1970: startedAt),
            updatedAt: Date(timeIntervalSince1970: updatedAt), completedAt: completedAt.map(Date.init(timeIntervalSince1970:))
        )
    }
}

private struct LabCheckRow: Decodable {
    var id: String
    var ownerKind: String
    var ownerId: String
    var environment: String
    var userId: String
    var instanceId: String
    var step: String
    var status: String
    var failures: String
    var metrics: String
    var notes: String
    var exitCode: Int?
    var durationMs: Int
    var operatorDetail: String?
    var time: Double

    func toDomain() throws -> LabCheckRecord {
        let row = PlayRows.Key(table: "lab_checks", row: id)
        let outcome = CheckOutcome(
            status: try row.enumeration(CheckOutcome.Status.self, status, column: "status"),
            failures: try row.json([CheckFailure].self, failures, column: "failures"),
            metrics: try row.json([String: Double].self, metrics, column: "metrics"), notes: try row.json([String].self, notes, column: "notes"),
            exitCode: exitCode, durationMilliseconds: durationMs, operatorDetail: operatorDetail
        )
        return LabCheckRecord(
            id: id, owner: try row.owner(ownerKind, ownerId), environment: environment, userID: userId, instanceID: instanceId, step: step,
            outcome: outcome, time: Date(timeIntervalSince1970: time)
        )
    }
}

private struct LabHintRow: Decodable {
    var id: String
    var ownerKind: String
    var ownerId: String
    var environment: String
    var userId: String
    var instanceId: String
    var step: String
    var source: String
    var authoredIndex: Int?
    var time: Double

    func toDomain() throws -> LabHintRecord {
        let row = PlayRows.Key(table: "lab_hints", row: id)
        return LabHintRecord(
            id: id, owner: try row.owner(ownerKind, ownerId), environment: environment, userID: userId, instanceID: instanceId, step: step,
            source: try row.enumeration(LabHint.Source.self, source, column: "source"), authoredIndex: authoredIndex,
            time: Date(timeIntervalSince1970: time)
        )
    }
}
