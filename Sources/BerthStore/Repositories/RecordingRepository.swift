import BerthCore
import Foundation
import SQLKit

/// Terminal recordings.
public struct RecordingRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// Records that a terminal recording started; `recording_exists` when its id or its file is
    /// taken. Safe inside a transaction: a taken id does not abort it.
    public func insertRecording(_ recording: RecordingRecord) async throws {
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO recordings (id, instance_id, environment, owner_kind, owner_id, terminal, path, started_at, ended_at)
                VALUES (\(bind: recording.id), \(bind: recording.instanceID), \(bind: recording.environment),
                    \(bind: recording.owner.kind.rawValue), \(bind: recording.owner.id), \(bind: recording.terminal),
                    \(bind: recording.path), \(bind: recording.startedAt.timeIntervalSince1970),
                    \(bind: recording.endedAt?.timeIntervalSince1970))
                ON CONFLICT DO NOTHING
                RETURNING id
                """
            ).first() != nil
        }
        if !inserted {
            throw BerthError(.recordingExists, "Recording \(recording.id) already exists.")
        }
    }

    /// Records when a recording ended.
    public func finishRecording(id: String, endedAt: Date) async throws {
        try await sql.run { db in
            try await db.raw("UPDATE recordings SET ended_at = \(bind: endedAt.timeIntervalSince1970) WHERE id = \(bind: id)").run()
        }
    }

    /// The recording with this id; `store_row_invalid` when its row does not decode.
    public func recording(id: String) async throws -> RecordingRecord? {
        let rows = try await sql.run { db in
            try await db.raw("SELECT * FROM recordings WHERE id = \(bind: id)").all()
        }
        return try RecordingRow.recordings(rows).first
    }

    /// Recordings matching `query`, newest first; a row that does not decode fails the listing.
    public func recordings(_ query: RecordingQuery) async throws -> [RecordingRecord] {
        let rows = try await sql.run { db in
            let select = db.select().column("*").from("recordings")
            if let instanceID = query.instanceID {
                select.where("instance_id", .equal, instanceID)
            }
            if let owner = query.owner {
                select.where("owner_kind", .equal, owner.kind.rawValue).where("owner_id", .equal, owner.id)
            }
            if let environment = query.environment {
                select.where("environment", .equal, environment)
            }
            if let endedBefore = query.endedBefore {
                // A live recording (ended_at NULL) never matches: NULL < x is not true.
                select.where("ended_at", .isNot, SQLLiteral.null).where("ended_at", .lessThan, endedBefore.timeIntervalSince1970)
            }
            return try await select.orderBy("started_at", .descending).orderBy("id").limit(max(1, query.limit)).all()
        }
        return try RecordingRow.recordings(rows)
    }

    /// Forgets a recording (its files are the caller's to remove); false when it did not exist.
    public func deleteRecording(id: String) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("DELETE FROM recordings WHERE id = \(bind: id) RETURNING id").first() != nil
        }
    }
}

/// A row of `recordings`.
struct RecordingRow: Decodable {
    var id: String
    var instanceId: String
    var environment: String
    var ownerKind: String
    var ownerId: String
    var terminal: String
    var path: String
    var startedAt: Double
    var endedAt: Double?

    static func recordings(_ rows: [any SQLRow]) throws -> [RecordingRecord] {
        try RowDecoding.models(rows, as: RecordingRow.self, table: "recordings", key: "id").map { try $0.toDomain() }
    }

    /// The record; an unknown owner kind is `store_row_invalid` naming the row.
    func toDomain() throws -> RecordingRecord {
        guard let kind = Owner.Kind(rawValue: ownerKind) else {
            throw RowDecoding.invalid(table: "recordings", key: id, reason: "unknown owner_kind '\(ownerKind)'")
        }
        return RecordingRecord(
            id: id, instanceID: instanceId, environment: environment, owner: Owner(kind: kind, id: ownerId), terminal: terminal,
            path: path, startedAt: Date(timeIntervalSince1970: startedAt), endedAt: endedAt.map(Date.init(timeIntervalSince1970:))
        )
    }
}
