import BerthCore
import Foundation
import SQLKit

/// The hash-chained audit log.
public struct AuditRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// Appends an already sealed entry; `audit_conflict` when its sequence is taken (another
    /// writer appended first: the caller reseals after the new head and tries again). Safe inside
    /// a transaction: a taken sequence does not abort it.
    public func appendAudit(_ entry: AuditEntry) async throws {
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO audit_log (sequence, time_ms, actor_id, actor_name, actor_role, client_ip, user_agent, action, target,
                    status, result, detail, previous_hash, hash)
                VALUES (\(bind: Int(entry.sequence)), \(bind: Int(entry.timeMilliseconds)), \(bind: entry.actorID),
                    \(bind: entry.actorName), \(bind: entry.actorRole), \(bind: entry.clientIP), \(bind: entry.userAgent),
                    \(bind: entry.action), \(bind: entry.target), \(bind: entry.status), \(bind: entry.result), \(bind: entry.detail),
                    \(bind: entry.previousHash), \(bind: entry.hash))
                ON CONFLICT DO NOTHING
                RETURNING sequence
                """
            ).first() != nil
        }
        if !inserted {
            throw BerthError(.auditConflict, "Audit entry \(entry.sequence) already exists; another writer appended first.")
        }
    }

    /// The entry with the largest sequence (the chain's head), nil when the log is empty.
    public func lastAuditEntry() async throws -> AuditEntry? {
        let rows = try await sql.run { db in
            try await db.raw("SELECT * FROM audit_log ORDER BY sequence DESC LIMIT 1").all()
        }
        return try AuditRow.entries(rows).first
    }

    /// Entries matching `query`, by sequence (ascending, or descending with `newestFirst`).
    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        let dialect = sql.dialect
        let rows = try await sql.run { db in
            let select = db.select().column("*").from("audit_log")
            if let actorID = query.actorID {
                select.where("actor_id", .equal, actorID)
            }
            if let target = query.target {
                select.where("target", .equal, target)
            }
            if let action = query.action {
                // A case-sensitive substring test with no pattern characters (LIKE would treat
                // `%` and `_` in the text as wildcards and, on SQLite, ignore ASCII case).
                switch dialect {
                case .sqlite: select.where(SQLQueryString("instr(action, \(bind: action)) > 0"))
                case .postgres: select.where(SQLQueryString("strpos(action, \(bind: action)) > 0"))
                }
            }
            if let since = query.since {
                select.where("time_ms", .greaterThanOrEqual, Self.milliseconds(since))
            }
            if let until = query.until {
                select.where("time_ms", .lessThan, Self.milliseconds(until))
            }
            if let after = query.afterSequence {
                select.where("sequence", query.newestFirst ? .lessThan : .greaterThan, Int(after))
            }
            return try await select.orderBy("sequence", query.newestFirst ? .descending : .ascending).limit(max(1, query.limit)).all()
        }
        return try AuditRow.entries(rows)
    }

    /// `date` in the unit of `time_ms` (the old store truncated the same way).
    private static func milliseconds(_ date: Date) -> Int {
        Int(date.timeIntervalSince1970 * 1000)
    }
}

/// A row of `audit_log`.
struct AuditRow: Decodable {
    var sequence: Int
    var timeMs: Int
    var actorId: String?
    var actorName: String?
    var actorRole: String?
    var clientIp: String?
    var userAgent: String?
    var action: String
    var target: String?
    var status: Int
    var result: String
    var detail: String?
    var previousHash: String
    var hash: String

    static func entries(_ rows: [any SQLRow]) throws -> [AuditEntry] {
        try RowDecoding.models(rows, as: AuditRow.self, table: "audit_log", key: "sequence").map(\.entry)
    }

    /// The entry exactly as stored: no field is normalised, so a row edited outside Berth fails
    /// the chain's check instead of being repaired on read.
    var entry: AuditEntry {
        var entry = AuditEntry(
            time: Date(timeIntervalSince1970: 0), actorID: actorId, actorName: actorName, actorRole: actorRole, clientIP: clientIp,
            userAgent: nil, action: action, target: target, status: status, result: result, detail: detail,
            previousHash: previousHash, hash: hash
        )
        entry.sequence = Int64(sequence)
        entry.timeMilliseconds = Int64(timeMs)
        entry.userAgent = userAgent
        return entry
    }
}
