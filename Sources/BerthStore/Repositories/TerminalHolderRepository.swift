import BerthCore
import Foundation
import SQLKit

/// The replica that holds the PTY of one terminal, as ``TerminalHolderRepository/holder(instanceID:terminal:now:)`` finds it.
public struct TerminalHolder: Sendable, Equatable {
    /// The holder's replica id (`rep_…`).
    public var replicaID: String
    /// Where the other replicas reach it; nil when it has no `replicas` row (never registered, or removed).
    public var internalURL: String?
    /// Whether its heartbeat is younger than ``ReplicaLiveness/deadAfterSeconds``.
    public var alive: Bool

    public init(replicaID: String, internalURL: String?, alive: Bool) {
        self.replicaID = replicaID
        self.internalURL = internalURL
        self.alive = alive
    }
}

/// Which replica holds each terminal's PTY (`terminal_holders`), so a replica a client reaches
/// either proxies to the live holder or, when the holder is dead, takes the terminal over. Taking
/// is one statement, so two replicas racing for one terminal cannot both win.
public struct TerminalHolderRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// The holder of terminal `terminal` of `instanceID`, with its replica's address and liveness at `now`; nil when nobody holds it.
    public func holder(instanceID: String, terminal: String, now: Date) async throws -> TerminalHolder? {
        try await sql.run { db in
            let rows = try await db.raw("""
                SELECT h.instance_id, h.replica_id, r.internal_url, r.heartbeat_at FROM terminal_holders h
                LEFT JOIN replicas r ON r.id = h.replica_id
                WHERE h.instance_id = \(bind: instanceID) AND h.terminal = \(bind: terminal)
                """).all()
            return try rows.first.map { row in
                let stored = try RowDecoding.model(row, as: HolderRow.self, table: "terminal_holders", key: "instance_id")
                let alive = stored.heartbeatAt.map { $0 > Self.deadBefore(now) } ?? false
                return TerminalHolder(replicaID: stored.replicaId, internalURL: stored.internalUrl, alive: alive)
            }
        }
    }

    /// Makes `replicaID` the holder of the terminal and answers true when the row is now its own:
    /// inserted when nobody holds it, kept when it holds it already, replaced when the holder is
    /// dead at `now` (stale heartbeat or no `replicas` row) or is `replacing` (a holder this replica
    /// could not reach). False when another live replica holds it.
    public func take(instanceID: String, terminal: String, replicaID: String, now: Date, replacing: String? = nil) async throws -> Bool {
        try await sql.run { db in
            let rows = try await db.raw("""
                INSERT INTO terminal_holders (instance_id, terminal, replica_id, created_at)
                VALUES (\(bind: instanceID), \(bind: terminal), \(bind: replicaID), \(bind: now.timeIntervalSince1970))
                ON CONFLICT (instance_id, terminal) DO UPDATE SET replica_id = excluded.replica_id, created_at = excluded.created_at
                WHERE terminal_holders.replica_id = excluded.replica_id OR terminal_holders.replica_id = \(bind: replacing ?? "")
                OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = terminal_holders.replica_id AND r.heartbeat_at > \(bind: Self.deadBefore(now)))
                RETURNING replica_id
                """).all()
            return !rows.isEmpty
        }
    }

    /// Forgets that `replicaID` holds the terminal (its PTY ended); nothing when another replica holds it now.
    public func release(instanceID: String, terminal: String, replicaID: String) async throws {
        try await sql.run { db in
            try await db.raw("""
                DELETE FROM terminal_holders WHERE instance_id = \(bind: instanceID) AND terminal = \(bind: terminal) AND replica_id = \(bind: replicaID)
                """).run()
        }
    }

    /// Forgets every holder of an instance's terminals (the instance ended).
    public func releaseAll(instanceID: String) async throws {
        try await sql.run { db in
            try await db.raw("DELETE FROM terminal_holders WHERE instance_id = \(bind: instanceID)").run()
        }
    }

    /// Heartbeats at or before this are dead at `now`.
    static func deadBefore(_ now: Date) -> Double {
        now.timeIntervalSince1970 - ReplicaLiveness.deadAfterSeconds
    }

    private struct HolderRow: Decodable {
        var replicaId: String
        var internalUrl: String?
        var heartbeatAt: Double?
    }
}
