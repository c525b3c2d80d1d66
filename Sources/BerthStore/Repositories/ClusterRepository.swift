import BerthCore
import Foundation
import SQLKit
import Synchronization

/// A replica as registered in the store.
public struct ReplicaRecord: Sendable, Equatable {
    public var id: String
    /// Where the other replicas reach this one (``ReplicaIdentity/internalURL``).
    public var internalURL: String
    /// The Berth version it runs.
    public var version: String
    /// When it registered (again, after its row vanished).
    public var startedAt: Date
    /// Its last heartbeat.
    public var heartbeatAt: Date

    public init(id: String, internalURL: String, version: String, startedAt: Date, heartbeatAt: Date) {
        self.id = id
        self.internalURL = internalURL
        self.version = version
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
    }
}

/// What the replicas sharing one database know of each other: who is alive (a row per replica,
/// refreshed by its heartbeat), the cluster's id and proxy secret (made once, by whichever
/// replica asks first), and leadership of work that must run on one replica at a time.
public struct ClusterRepository: Repository {
    public let sql: any SQLRunner
    /// The in-process leadership of a SQLite database: the ``BerthDatabase``'s own, nil for a
    /// repository bound to a transaction (``Repositories``).
    private let localLeaders: LocalLeadership?

    public init(sql: any SQLRunner) {
        self.init(sql: sql, localLeaders: nil)
    }

    init(sql: any SQLRunner, localLeaders: LocalLeadership?) {
        self.sql = sql
        self.localLeaders = localLeaders
    }

    // MARK: Replicas

    /// Registers `replica` (or refreshes its row: a re-registration keeps the first start time).
    public func register(_ replica: ReplicaIdentity, version: String, at time: Date) async throws {
        let seconds = time.timeIntervalSince1970
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO replicas (id, internal_url, version, started_at, heartbeat_at)
                VALUES (\(bind: replica.id), \(bind: replica.internalURL), \(bind: version), \(bind: seconds), \(bind: seconds))
                ON CONFLICT (id) DO UPDATE SET internal_url = excluded.internal_url, version = excluded.version, heartbeat_at = excluded.heartbeat_at
                """).run()
        }
    }

    /// Records a heartbeat of replica `id`; false when its row is gone (purged as dead, or
    /// removed by hand), so the caller registers again.
    public func heartbeat(id: String, at time: Date) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("UPDATE replicas SET heartbeat_at = \(bind: time.timeIntervalSince1970) WHERE id = \(bind: id) RETURNING id").all()
        }.isEmpty == false
    }

    /// Forgets replica `id` with everything it held: its instance claims and the terminals whose
    /// PTY it held (a graceful shutdown: the others take over at once, not after the heartbeat
    /// goes stale). False when it was not registered.
    @discardableResult
    public func remove(id: String) async throws -> Bool {
        try await withTransaction { repo in try await repo.forget(id, leftAt: Date()) }
    }

    /// Deletes replica `id`'s row, claims and terminal holders, and closes its open terminals as
    /// left at `leftAt` (without a replicas row they would count as live); false when it had no
    /// row. Runs inside the caller's transaction.
    private func forget(_ id: String, leftAt: Date) async throws -> Bool {
        _ = try await PresenceRepository(sql: sql).closeTerminals(ofReplica: id, fallback: leftAt)
        return try await sql.run { db in
            try await db.raw("DELETE FROM instance_claims WHERE holder = \(bind: id)").run()
            try await db.raw("DELETE FROM terminal_holders WHERE replica_id = \(bind: id)").run()
            return try await db.raw("DELETE FROM replicas WHERE id = \(bind: id) RETURNING id").all().isEmpty == false
        }
    }

    /// The replicas whose last heartbeat is at most ``ReplicaLiveness/deadAfterSeconds`` old,
    /// first started first.
    public func liveReplicas(now: Date) async throws -> [ReplicaRecord] {
        let since = now.timeIntervalSince1970 - ReplicaLiveness.deadAfterSeconds
        return try await sql.run { db in
            try await db.raw("SELECT * FROM replicas WHERE heartbeat_at >= \(bind: since) ORDER BY started_at, id").all().map(Self.record)
        }
    }

    /// Replica `id`, alive or not; nil when it is not registered.
    public func replica(id: String) async throws -> ReplicaRecord? {
        try await sql.run { db in
            try await db.raw("SELECT * FROM replicas WHERE id = \(bind: id)").all().first.map(Self.record)
        }
    }

    /// Forgets replicas silent for more than `olderThan` seconds (crashed long ago), with what
    /// they still held; answers how many.
    @discardableResult
    public func purgeDead(now: Date, olderThan: Double) async throws -> Int {
        let before = now.timeIntervalSince1970 - olderThan
        return try await withTransaction { repo in
            let dead = try await repo.sql.run { db in
                try await db.raw("SELECT id, heartbeat_at FROM replicas WHERE heartbeat_at < \(bind: before)").all().map {
                    try RowDecoding.model($0, as: DeadReplicaRow.self, table: "replicas", key: "id")
                }
            }
            // Their open terminals count as left at their last heartbeat.
            for replica in dead {
                _ = try await repo.forget(replica.id, leftAt: Date(timeIntervalSince1970: replica.heartbeatAt))
            }
            return dead.count
        }
    }

    private struct DeadReplicaRow: Decodable {
        var id: String
        var heartbeatAt: Double
    }

    private struct ReplicaRow: Decodable {
        var id: String
        var internalUrl: String
        var version: String
        var startedAt: Double
        var heartbeatAt: Double
    }

    private static func record(_ row: any SQLRow) throws -> ReplicaRecord {
        let stored = try RowDecoding.model(row, as: ReplicaRow.self, table: "replicas", key: "id")
        return ReplicaRecord(
            id: stored.id, internalURL: stored.internalUrl, version: stored.version,
            startedAt: Date(timeIntervalSince1970: stored.startedAt), heartbeatAt: Date(timeIntervalSince1970: stored.heartbeatAt)
        )
    }

    // MARK: Cluster values

    /// The cluster's id (`clu_…`): made by the first replica that asks, the same for every
    /// replica of this database ever after. The engine namespace's lock holder.
    public func clusterID() async throws -> String {
        try await value("id") { Identifier.make("clu") }
    }

    /// The secret replicas sign their internal requests with (32 random bytes), made by the
    /// first replica that asks.
    public func proxySecret() async throws -> String {
        try await value("proxy_secret") { Secrets.randomBase64URL(byteCount: 32) }
    }

    /// The value of `key`, stored as `make()` says when missing. Replicas racing to make it
    /// all read the one that was stored first.
    private func value(_ key: String, make: @Sendable () -> String) async throws -> String {
        let candidate = make()
        return try await sql.run { db in
            try await db.raw("INSERT INTO cluster (key, value) VALUES (\(bind: key), \(bind: candidate)) ON CONFLICT (key) DO NOTHING").run()
            let rows = try await db.raw("SELECT value FROM cluster WHERE key = \(bind: key)").all()
            guard let row = rows.first else {
                throw RowDecoding.invalid(table: "cluster", key: key, reason: "it was deleted while it was being read")
            }
            return try RowDecoding.column(row, "value", as: String.self, table: "cluster", key: "key")
        }
    }

    // MARK: Leadership

    /// Runs `body` when no other replica is running work named `name`, and answers its result;
    /// answers nil at once, without running it, while another replica leads.
    ///
    /// On PostgreSQL the leader holds a transaction-level advisory lock, keyed by a stable hash
    /// of `name` (``leadershipKey(_:)``), on a connection of its own for as long as `body` runs:
    /// a replica that dies loses its connection and so its leadership. `body` reaches the
    /// database through the ordinary repositories (other connections), never the lock's. On
    /// SQLite (one process per file) leadership is an in-process lock: the transaction would hold
    /// the only connection that `body` needs.
    ///
    /// Call it on ``BerthDatabase/cluster``, outside any transaction.
    public func withLeadership<R: Sendable>(_ name: String, _ body: @Sendable () async throws -> R) async throws -> R? {
        guard let localLeaders else {
            throw BerthError(
                .internalError, "Leadership of '\(name)' was asked inside a transaction; ask BerthDatabase.cluster, outside any transaction."
            )
        }
        guard sql.dialect == .postgres else {
            guard localLeaders.tryAcquire(name) else { return nil }
            defer { localLeaders.release(name) }
            return try await body()
        }
        let key = Self.leadershipKey(name)
        // The body's outcome travels out of the transaction as a value: an error the driver
        // would retry (a serialization failure of the body's own queries) must not run the body
        // twice, and the lock is released by COMMIT either way.
        let outcome: Result<R, any Error>? = try await sql.transaction { pinned in
            let acquired = try await pinned.run("withLeadership") { db in
                let rows = try await db.raw("SELECT pg_try_advisory_xact_lock(\(bind: key)) AS acquired").all()
                guard let row = rows.first else { return false }
                return try RowDecoding.column(row, "acquired", as: Bool.self, table: "pg_try_advisory_xact_lock", key: "acquired")
            }
            guard acquired else { return nil }
            do {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        return try outcome?.get()
    }

    /// The advisory-lock key of leadership `name`: 64-bit FNV-1a of its UTF-8 bytes, the same in
    /// every process and version (Swift's `hashValue` is seeded per process).
    public static func leadershipKey(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

/// Leadership within one process, for SQLite: a set of names held.
final class LocalLeadership: Sendable {
    private let held = Mutex<Set<String>>([])

    /// Takes `name` when nobody holds it.
    func tryAcquire(_ name: String) -> Bool {
        held.withLock { $0.insert(name).inserted }
    }

    func release(_ name: String) {
        _ = held.withLock { $0.remove(name) }
    }
}
