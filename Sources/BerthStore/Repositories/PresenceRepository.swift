import BerthCore
import Foundation
import SQLKit

/// Who is with each instance, shared by the replicas: one row per instance and replica with the
/// owners' terminals open through that replica, when its last one closed, and until when an
/// owner's editor heartbeat keeps the instance attended. Every write is one statement (an upsert
/// or an atomic increment), so two terminals opening at once on one replica both count.
///
/// Attendance reads the rows of every replica together with their heartbeats: the terminals of a
/// replica whose heartbeat is older than `deadBefore` count as left at its last heartbeat (it
/// crashed and its WebSockets went with it). A row whose replica never registered a heartbeat
/// (one server without replicas, tests) counts as live.
public struct PresenceRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// An owner's terminal opened on `instanceID` through replica `replicaID`.
    public func terminalOpened(instanceID: String, replicaID: String) async throws {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO presence (instance_id, replica_id, terminals, terminal_left_at, editor_until)
                VALUES (\(bind: instanceID), \(bind: replicaID), 1, NULL, NULL)
                ON CONFLICT (instance_id, replica_id) DO UPDATE SET terminals = presence.terminals + 1
                """).run()
        }
    }

    /// An owner's terminal on `instanceID` through replica `replicaID` closed at `time`. The count
    /// never goes below zero: a close without its open (the row was forgotten meanwhile) is ignored.
    /// The row keeps its latest close time, so closes that land out of order (two tabs closed at
    /// once) never move the departure back.
    public func terminalClosed(instanceID: String, replicaID: String, at time: Date) async throws {
        try await sql.run { db in
            try await db.raw("""
                UPDATE presence SET terminals = terminals - 1,
                    terminal_left_at = CASE WHEN terminal_left_at IS NULL OR terminal_left_at < \(bind: time.timeIntervalSince1970)
                        THEN \(bind: time.timeIntervalSince1970) ELSE terminal_left_at END
                WHERE instance_id = \(bind: instanceID) AND replica_id = \(bind: replicaID) AND terminals > 0
                """).run()
        }
    }

    /// An owner's editor keeps `instanceID` attended until `until` (seen through replica
    /// `replicaID`); an older heartbeat arriving late never shortens a newer one.
    public func editorSeen(instanceID: String, replicaID: String, until: Date) async throws {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO presence (instance_id, replica_id, terminals, terminal_left_at, editor_until)
                VALUES (\(bind: instanceID), \(bind: replicaID), 0, NULL, \(bind: until.timeIntervalSince1970))
                ON CONFLICT (instance_id, replica_id) DO UPDATE SET editor_until = CASE
                    WHEN presence.editor_until IS NULL OR presence.editor_until < excluded.editor_until THEN excluded.editor_until
                    ELSE presence.editor_until END
                """).run()
        }
    }

    /// Whether `instanceID` is attended at `now`, over every replica's rows; replicas whose last
    /// heartbeat is before `deadBefore` are dead.
    public func attendance(instanceID: String, now: Date, deadBefore: Date) async throws -> Attendance {
        let rows = try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("\(unsafeRaw: Self.select) WHERE p.instance_id = \(bind: instanceID)").all(),
                as: PresenceRow.self, table: "presence", key: "instance_id,replica_id"
            )
        }
        return Self.attendance(of: rows, now: now, deadBefore: deadBefore)
    }

    /// The attendance of every instance someone was seen with, by instance id, in one query (the
    /// disconnect reaper's sweep); an instance missing from the answer was never seen.
    public func attendanceOfAll(now: Date, deadBefore: Date) async throws -> [String: Attendance] {
        let rows = try await sql.run { db in
            try RowDecoding.models(
                try await db.raw("\(unsafeRaw: Self.select)").all(), as: PresenceRow.self, table: "presence", key: "instance_id,replica_id"
            )
        }
        return Dictionary(grouping: rows, by: \.instanceId).mapValues { Self.attendance(of: $0, now: now, deadBefore: deadBefore) }
    }

    /// Counts every terminal open through replica `replicaID` as closed at its last heartbeat (at
    /// `fallback` when it never registered one). Run it before a replica's `replicas` row is
    /// deleted (a graceful shutdown, a purge of long-dead replicas): without that row its open
    /// terminals would count as live again. Answers how many instances it touched.
    @discardableResult
    public func closeTerminals(ofReplica replicaID: String, fallback: Date) async throws -> Int {
        try await sql.run { db in
            try await db.raw("""
                UPDATE presence SET terminals = 0, terminal_left_at = COALESCE(
                    (SELECT heartbeat_at FROM replicas WHERE replicas.id = presence.replica_id), \(bind: fallback.timeIntervalSince1970))
                WHERE replica_id = \(bind: replicaID) AND terminals > 0 RETURNING instance_id
                """).all().count
        }
    }

    /// Forgets the rows of instances that are no longer active in the store (ended, or never
    /// recorded); answers how many rows. An instance another replica has just started is active
    /// in the store before anyone can open its terminal, so its rows are never lost to a stale list.
    @discardableResult
    public func forgetEnded() async throws -> Int {
        let active = InstanceState.allCases.filter(\.isActive).map(\.rawValue)
        return try await sql.run { db in
            try await db.raw("""
                DELETE FROM presence WHERE instance_id NOT IN (SELECT id FROM instances WHERE state IN (\(binds: active)))
                RETURNING instance_id
                """).all().count
        }
    }

    /// Forgets the rows of `instanceIDs` (they ended); answers how many rows.
    @discardableResult
    public func forget(instanceIDs: [String]) async throws -> Int {
        guard !instanceIDs.isEmpty else { return 0 }
        return try await sql.run { db in
            try await db.raw("DELETE FROM presence WHERE instance_id IN (\(binds: instanceIDs)) RETURNING instance_id").all().count
        }
    }

    private static let select = """
        SELECT p.instance_id, p.replica_id, p.terminals, p.terminal_left_at, p.editor_until, r.heartbeat_at
        FROM presence p LEFT JOIN replicas r ON r.id = p.replica_id
        """

    private struct PresenceRow: Decodable {
        var instanceId: String
        var replicaId: String
        var terminals: Int
        var terminalLeftAt: Double?
        var editorUntil: Double?
        /// The replica's last heartbeat; nil when it has no `replicas` row.
        var heartbeatAt: Double?
    }

    /// One instance's attendance from its rows: present while a live replica holds one of its
    /// terminals or an editor's grace runs; otherwise absent since the latest departure.
    private static func attendance(of rows: [PresenceRow], now: Date, deadBefore: Date) -> Attendance {
        let now = now.timeIntervalSince1970
        let deadBefore = deadBefore.timeIntervalSince1970
        var lastSeen: Double?
        for row in rows {
            let live = row.heartbeatAt.map { $0 >= deadBefore } ?? true
            if row.terminals > 0 && live { return .present }
            if let until = row.editorUntil, until > now { return .present }
            // A dead replica's open terminals went with it, at its last heartbeat.
            let departures = [row.terminalLeftAt, row.editorUntil, row.terminals > 0 ? row.heartbeatAt : nil]
            for departure in departures.compactMap({ $0 }) where departure > (lastSeen ?? -.infinity) {
                lastSeen = departure
            }
        }
        return .absent(lastSeen: lastSeen.map(Date.init(timeIntervalSince1970:)))
    }
}
