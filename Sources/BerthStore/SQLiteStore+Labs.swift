import BerthCore
import Foundation
import SQLiteNIO

/// Lab progress, check results and hints given. A row that does not decode is a
/// `store_row_invalid` error that names it: progress is never silently dropped.
extension SQLiteStore {
    // MARK: Progress

    public func labProgress(owner: Owner, environment: String) async throws -> LabProgressRecord? {
        try await run(
            "SELECT * FROM lab_progress WHERE owner_kind = ? AND owner_id = ? AND environment = ?",
            [.text(owner.kind.rawValue), .text(owner.id), .text(environment)]
        ).first.map(Self.labProgress)
    }

    public func labProgress(environment: String?) async throws -> [LabProgressRecord] {
        var filter = SQLFilter()
        filter.equals("environment", environment)
        return try await run(
            "SELECT * FROM lab_progress \(filter.whereClause) ORDER BY started_at, owner_kind, owner_id, environment", filter.binds
        ).map(Self.labProgress)
    }

    public func saveLabProgress(_ progress: LabProgressRecord) async throws {
        _ = try await run(
            """
            INSERT INTO lab_progress (owner_kind, owner_id, environment, current_step, steps, started_at, updated_at, completed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (owner_kind, owner_id, environment) DO UPDATE SET current_step = excluded.current_step,
                steps = excluded.steps, started_at = excluded.started_at, updated_at = excluded.updated_at,
                completed_at = excluded.completed_at
            """,
            [
                .text(progress.owner.kind.rawValue), .text(progress.owner.id), .text(progress.environment), Self.optional(progress.currentStep),
                .text(try Self.json(progress.steps)), .float(progress.startedAt.timeIntervalSince1970),
                .float(progress.updatedAt.timeIntervalSince1970), progress.completedAt.map { .float($0.timeIntervalSince1970) } ?? .null,
            ]
        )
    }

    // MARK: Checks

    public func insertLabCheck(_ check: LabCheckRecord) async throws {
        let outcome = check.outcome
        try await insert(
            """
            INSERT INTO lab_checks (id, owner_kind, owner_id, environment, user_id, instance_id, step, status, failures, metrics, notes,
                exit_code, duration_ms, operator_detail, time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(check.id), .text(check.owner.kind.rawValue), .text(check.owner.id), .text(check.environment), .text(check.userID),
                .text(check.instanceID), .text(check.step), .text(outcome.status.rawValue), .text(try Self.json(outcome.failures)),
                .text(try Self.json(outcome.metrics)), .text(try Self.json(outcome.notes)), outcome.exitCode.map { .integer($0) } ?? .null,
                .integer(outcome.durationMilliseconds), Self.optional(outcome.operatorDetail), .float(check.time.timeIntervalSince1970),
            ],
            conflict: BerthError(.internalError, "Check result \(check.id) already exists.")
        )
    }

    public func labChecks(_ query: LabCheckQuery) async throws -> [LabCheckRecord] {
        var filter = SQLFilter()
        filter.owner(query.owner)
        filter.equals("environment", query.environment)
        if let statuses = query.statuses, !statuses.isEmpty {
            filter.add("status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))", statuses.map { .text($0.rawValue) })
        }
        let binds = filter.binds + [.integer(max(1, query.limit))]
        let sql: String
        if query.latestPerOwner {
            // A window function rather than SQLite's bare-column MAX(), so PostgreSQL can run it too.
            sql = """
                SELECT * FROM (
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY owner_kind, owner_id, environment ORDER BY time DESC, id DESC) AS newest
                    FROM lab_checks \(filter.whereClause)
                ) WHERE newest = 1 ORDER BY time DESC, id DESC LIMIT ?
                """
        } else {
            sql = "SELECT * FROM lab_checks \(filter.whereClause) ORDER BY time DESC, id DESC LIMIT ?"
        }
        return try await run(sql, binds).map(Self.labCheck)
    }

    // MARK: Hints

    public func insertLabHint(_ hint: LabHintRecord) async throws {
        try await insert(
            """
            INSERT INTO lab_hints (id, owner_kind, owner_id, environment, user_id, instance_id, step, source, authored_index, time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(hint.id), .text(hint.owner.kind.rawValue), .text(hint.owner.id), .text(hint.environment), .text(hint.userID),
                .text(hint.instanceID), .text(hint.step), .text(hint.source.rawValue), hint.authoredIndex.map { .integer($0) } ?? .null,
                .float(hint.time.timeIntervalSince1970),
            ],
            conflict: BerthError(.internalError, "Hint record \(hint.id) already exists.")
        )
    }

    public func labHints(owner: Owner?, environment: String?) async throws -> [LabHintRecord] {
        var filter = SQLFilter()
        filter.owner(owner)
        filter.equals("environment", environment)
        return try await run("SELECT * FROM lab_hints \(filter.whereClause) ORDER BY time, id", filter.binds).map(Self.labHint)
    }

    // MARK: Decoding

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .secondsSince1970
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The row's columns, read or failing with an error that names the table, the row and the column.
    struct RowReader {
        let row: SQLiteRow
        let name: String

        func invalid(_ column: String) -> BerthError {
            BerthError(.storeRowInvalid, "The stored row \(name) has an invalid '\(column)'; the database was changed outside Berth or is damaged.")
        }

        func text(_ column: String) throws -> String {
            guard let value = row.column(column)?.string else { throw invalid(column) }
            return value
        }

        func optionalText(_ column: String) -> String? { row.column(column)?.string }

        func date(_ column: String) throws -> Date {
            guard let value = row.column(column)?.double else { throw invalid(column) }
            return Date(timeIntervalSince1970: value)
        }

        func optionalDate(_ column: String) throws -> Date? {
            guard let data = row.column(column), data != .null else { return nil }
            guard let value = data.double else { throw invalid(column) }
            return Date(timeIntervalSince1970: value)
        }

        func integer(_ column: String) throws -> Int {
            guard let value = row.column(column)?.integer else { throw invalid(column) }
            return value
        }

        func optionalInteger(_ column: String) throws -> Int? {
            guard let data = row.column(column), data != .null else { return nil }
            guard let value = data.integer else { throw invalid(column) }
            return value
        }

        func owner() throws -> Owner {
            guard let kind = Owner.Kind(rawValue: try text("owner_kind")) else { throw invalid("owner_kind") }
            return Owner(kind: kind, id: try text("owner_id"))
        }

        func decoded<Value: Decodable>(_ type: Value.Type, _ column: String) throws -> Value {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            do {
                return try decoder.decode(type, from: Data(try text(column).utf8))
            } catch {
                throw invalid(column)
            }
        }

        func enumeration<Value: RawRepresentable>(_ type: Value.Type, _ column: String) throws -> Value where Value.RawValue == String {
            guard let value = Value(rawValue: try text(column)) else { throw invalid(column) }
            return value
        }
    }

    private static func labProgress(_ row: SQLiteRow) throws -> LabProgressRecord {
        let name = "lab_progress(\(row.column("owner_kind")?.string ?? "?"):\(row.column("owner_id")?.string ?? "?"), \(row.column("environment")?.string ?? "?"))"
        let reader = RowReader(row: row, name: name)
        return LabProgressRecord(
            owner: try reader.owner(), environment: try reader.text("environment"), currentStep: reader.optionalText("current_step"),
            steps: try reader.decoded([LabStepRecord].self, "steps"), startedAt: try reader.date("started_at"),
            updatedAt: try reader.date("updated_at"), completedAt: try reader.optionalDate("completed_at")
        )
    }

    private static func labCheck(_ row: SQLiteRow) throws -> LabCheckRecord {
        let reader = RowReader(row: row, name: "lab_checks(\(row.column("id")?.string ?? "?"))")
        let outcome = CheckOutcome(
            status: try reader.enumeration(CheckOutcome.Status.self, "status"), failures: try reader.decoded([CheckFailure].self, "failures"),
            metrics: try reader.decoded([String: Double].self, "metrics"), notes: try reader.decoded([String].self, "notes"),
            exitCode: try reader.optionalInteger("exit_code"), durationMilliseconds: try reader.integer("duration_ms"),
            operatorDetail: reader.optionalText("operator_detail")
        )
        return LabCheckRecord(
            id: try reader.text("id"), owner: try reader.owner(), environment: try reader.text("environment"), userID: try reader.text("user_id"),
            instanceID: try reader.text("instance_id"), step: try reader.text("step"), outcome: outcome, time: try reader.date("time")
        )
    }

    private static func labHint(_ row: SQLiteRow) throws -> LabHintRecord {
        let reader = RowReader(row: row, name: "lab_hints(\(row.column("id")?.string ?? "?"))")
        return LabHintRecord(
            id: try reader.text("id"), owner: try reader.owner(), environment: try reader.text("environment"), userID: try reader.text("user_id"),
            instanceID: try reader.text("instance_id"), step: try reader.text("step"), source: try reader.enumeration(LabHint.Source.self, "source"),
            authoredIndex: try reader.optionalInteger("authored_index"), time: try reader.date("time")
        )
    }
}
