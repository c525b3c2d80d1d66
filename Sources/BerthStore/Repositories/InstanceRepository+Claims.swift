import BerthCore
import Foundation
import SQLKit

/// A replica's right to change one instance for a while (start, stop, reset, renew, reap…).
/// Only the holder of an instance's claim acts on it, so two replicas never stop, reset or reap
/// the same instance at once. A claim is a lease: it ends when its holder releases it, when its
/// lease expires, or at once when its holder's heartbeat goes silent, so a crashed replica's
/// instances pass to the others.
public struct InstanceClaim: Sendable, Equatable {
    /// The replica holding the claim.
    public var holder: String
    /// The work it claimed the instance for (`start`, `stop`, `reap`…).
    public var purpose: String
    /// When the lease runs out unless renewed.
    public var leaseExpiresAt: Date

    public init(holder: String, purpose: String, leaseExpiresAt: Date) {
        self.holder = holder
        self.purpose = purpose
        self.leaseExpiresAt = leaseExpiresAt
    }
}

/// When a claim may be taken over: its lease ran out before `now`, or its holder is a replica
/// whose last heartbeat is older than `deadBefore`.
public struct ClaimTerms: Sendable {
    /// The replica claiming.
    public var holder: String
    /// Now, in the store's clock.
    public var now: Date
    /// How long the lease lasts unless renewed.
    public var leaseSeconds: Double
    /// Heartbeats older than this mean the replica is dead.
    public var deadBefore: Date

    public init(holder: String, now: Date, leaseSeconds: Double, deadBefore: Date) {
        self.holder = holder
        self.now = now
        self.leaseSeconds = leaseSeconds
        self.deadBefore = deadBefore
    }

    var leaseUntil: Double { now.timeIntervalSince1970 + leaseSeconds }
}

extension InstanceRepository {
    /// The `ON CONFLICT` clause shared by every claim: an existing claim is replaced only when
    /// its lease ran out or its holder's heartbeat is stale. A holder with no `replicas` row
    /// (one that never registered) keeps its claim until the lease ends.
    private static func takeOver(_ terms: ClaimTerms) -> SQLQueryString {
        """
        ON CONFLICT (instance_id) DO UPDATE SET holder = excluded.holder, purpose = excluded.purpose,
            claimed_at = excluded.claimed_at, lease_expires_at = excluded.lease_expires_at
        WHERE instance_claims.lease_expires_at < excluded.claimed_at
            OR instance_claims.holder IN (SELECT id FROM replicas WHERE heartbeat_at < \(bind: terms.deadBefore.timeIntervalSince1970))
        """
    }

    /// Claims `instanceID` for `purpose`; false when another live holder has it (or this
    /// replica already does: a claim is not re-entrant).
    public func claim(_ instanceID: String, purpose: String, terms: ClaimTerms) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO instance_claims (instance_id, holder, purpose, claimed_at, lease_expires_at)
                VALUES (\(bind: instanceID), \(bind: terms.holder), \(bind: purpose), \(bind: terms.now.timeIntervalSince1970), \(bind: terms.leaseUntil))
                \(Self.takeOver(terms)) RETURNING instance_id
                """).all()
        }.isEmpty == false
    }

    /// Claims, for reaping, up to `limit` instances that are due: running or starting past their
    /// expiry, or left in `stopping` by a stop that failed. Instances another live replica holds
    /// are skipped, and on PostgreSQL rows another replica is claiming right now are skipped
    /// too (`SKIP LOCKED`), so each due instance goes to exactly one replica.
    public func claimDue(limit: Int, terms: ClaimTerms) async throws -> [String] {
        let now = terms.now.timeIntervalSince1970
        let dead = terms.deadBefore.timeIntervalSince1970
        return try await withTransaction { repo in
            try await repo.sql.run { db in
                let due = try await db.raw("""
                    SELECT i.id FROM instances i
                    WHERE ((i.state IN ('running', 'starting') AND i.expires_at <= \(bind: now)) OR i.state = 'stopping')
                        AND NOT EXISTS (SELECT 1 FROM instance_claims c WHERE c.instance_id = i.id AND c.lease_expires_at >= \(bind: now)
                            AND c.holder NOT IN (SELECT id FROM replicas WHERE heartbeat_at < \(bind: dead)))
                    ORDER BY i.expires_at, i.id LIMIT \(bind: limit) \(unsafeRaw: repo.sql.dialect.skipLocked)
                    """).all().map { try RowDecoding.column($0, "id", as: String.self, table: "instances", key: "id") }
                var claimed: [String] = []
                for id in due {
                    let rows = try await db.raw("""
                        INSERT INTO instance_claims (instance_id, holder, purpose, claimed_at, lease_expires_at)
                        VALUES (\(bind: id), \(bind: terms.holder), 'reap', \(bind: now), \(bind: terms.leaseUntil))
                        \(Self.takeOver(terms)) RETURNING instance_id
                        """).all()
                    if !rows.isEmpty { claimed.append(id) }
                }
                return claimed
            }
        }
    }

    /// Extends every claim `holder` has; a long start or stop renews while it works.
    public func renewClaims(holder: String, until: Date) async throws {
        try await sql.run { db in
            try await db.raw("""
                UPDATE instance_claims SET lease_expires_at = \(bind: until.timeIntervalSince1970) WHERE holder = \(bind: holder)
                """).run()
        }
    }

    /// Ends `holder`'s claim of `instanceID` (nothing when another replica took it over).
    public func releaseClaim(_ instanceID: String, holder: String) async throws {
        try await sql.run { db in
            try await db.raw("DELETE FROM instance_claims WHERE instance_id = \(bind: instanceID) AND holder = \(bind: holder)").run()
        }
    }

    /// The current claim of `instanceID`, live or not.
    public func claim(of instanceID: String) async throws -> InstanceClaim? {
        let rows = try await sql.run { db in
            try await db.raw("SELECT holder, purpose, lease_expires_at FROM instance_claims WHERE instance_id = \(bind: instanceID)").all()
        }
        return try rows.first.map {
            let row = try RowDecoding.model($0, as: ClaimRow.self, table: "instance_claims", key: instanceID)
            return InstanceClaim(holder: row.holder, purpose: row.purpose, leaseExpiresAt: Date(timeIntervalSince1970: row.leaseExpiresAt))
        }
    }

    /// How many active instances are in each active state (every active state present, 0 included).
    public func activeCountsByState() async throws -> [InstanceState: Int] {
        let active = InstanceState.allCases.filter(\.isActive)
        let rows = try await sql.run { db in
            try await db.raw("""
                SELECT state, COUNT(*) AS count FROM instances WHERE state IN (\(binds: active.map(\.rawValue))) GROUP BY state
                """).all()
        }
        var counts = Dictionary(uniqueKeysWithValues: active.map { ($0, 0) })
        for row in rows {
            let stateCount = try RowDecoding.model(row, as: StateCountRow.self, table: "instances", key: "state")
            guard let state = InstanceState(rawValue: stateCount.state) else {
                throw RowDecoding.invalid(table: "instances", key: stateCount.state, reason: "unknown state")
            }
            counts[state] = stateCount.count
        }
        return counts
    }
}

private struct ClaimRow: Decodable {
    var holder: String
    var purpose: String
    var leaseExpiresAt: Double
}

private struct StateCountRow: Decodable {
    var state: String
    var count: Int
}
