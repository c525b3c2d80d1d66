import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Cluster: replicas' heartbeats, the cluster id and secret, leadership")
struct ClusterRepositoryTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000.5)

    static func count(_ database: BerthDatabase, _ table: String, where condition: String) async throws -> Int {
        try await database.cluster.sql.run { db in
            let rows = try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE \(unsafeRaw: condition)").all()
            return try rows.first.map { try $0.decode(column: "n", as: Int.self) } ?? -1
        }
    }

    /// Rows the lifecycle and the terminal proxy write for a replica, written here by hand.
    static func holdThings(_ database: BerthDatabase, replica: String, instance: String) async throws {
        try await database.cluster.sql.run { db in
            try await db.raw("""
                INSERT INTO instance_claims (instance_id, holder, purpose, claimed_at, lease_expires_at)
                VALUES (\(bind: instance), \(bind: replica), 'start', 0, 9999999999)
                """).run()
            try await db.raw("""
                INSERT INTO terminal_holders (instance_id, terminal, replica_id, created_at) VALUES (\(bind: instance), 'main', \(bind: replica), 0)
                """).run()
        }
    }

    @Test("replicas register, beat, go silent and are removed with what they held", arguments: StoreBackend.enabled)
    func replicaLife(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let cluster = database.cluster
            let a = ReplicaIdentity(internalURL: "http://10.0.0.1:8080")
            let b = ReplicaIdentity(internalURL: "http://10.0.0.2:8080")
            try await cluster.register(a, version: "1.2.3", at: Self.start)
            try await cluster.register(b, version: "1.2.3", at: Self.start.addingTimeInterval(1))
            #expect(try await cluster.liveReplicas(now: Self.start.addingTimeInterval(2)).map(\.id) == [a.id, b.id])
            #expect(try await cluster.replica(id: a.id) == ReplicaRecord(
                id: a.id, internalURL: "http://10.0.0.1:8080", version: "1.2.3", startedAt: Self.start, heartbeatAt: Self.start
            ))

            // b keeps beating, a falls silent: dead once its heartbeat is older than deadAfterSeconds.
            #expect(try await cluster.heartbeat(id: b.id, at: Self.start.addingTimeInterval(6)))
            let later = Self.start.addingTimeInterval(ReplicaLiveness.deadAfterSeconds)
            #expect(try await cluster.liveReplicas(now: later).map(\.id) == [a.id, b.id], "exactly deadAfterSeconds old is still alive")
            #expect(try await cluster.liveReplicas(now: later.addingTimeInterval(0.5)).map(\.id) == [b.id])
            #expect(try await cluster.replica(id: a.id) != nil, "a dead replica is still known")

            // Registering again (a new URL, say) keeps the first start time.
            let moved = ReplicaIdentity(id: b.id, internalURL: "http://10.0.0.9:8080")
            try await cluster.register(moved, version: "1.2.4", at: Self.start.addingTimeInterval(7))
            let record = try #require(try await cluster.replica(id: b.id))
            #expect(record.internalURL == "http://10.0.0.9:8080" && record.version == "1.2.4")
            #expect(record.startedAt == Self.start.addingTimeInterval(1) && record.heartbeatAt == Self.start.addingTimeInterval(7))

            // A graceful shutdown removes the row, its claims and its terminals, and nobody else's.
            try await Self.holdThings(database, replica: b.id, instance: "inst_b")
            try await Self.holdThings(database, replica: a.id, instance: "inst_a")
            #expect(try await cluster.remove(id: b.id))
            #expect(try await cluster.replica(id: b.id) == nil)
            #expect(try await Self.count(database, "instance_claims", where: "holder = '\(b.id)'") == 0)
            #expect(try await Self.count(database, "terminal_holders", where: "replica_id = '\(b.id)'") == 0)
            #expect(try await Self.count(database, "instance_claims", where: "holder = '\(a.id)'") == 1)
            #expect(try await Self.count(database, "terminal_holders", where: "replica_id = '\(a.id)'") == 1)
            #expect(try await cluster.remove(id: b.id) == false)
            #expect(try await cluster.heartbeat(id: b.id, at: Self.start.addingTimeInterval(8)) == false, "gone: the caller registers again")
        }
    }

    @Test("replicas silent for longer than the purge age are forgotten with what they held", arguments: StoreBackend.enabled)
    func purge(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let cluster = database.cluster
            let old = ReplicaIdentity(internalURL: "http://old:8080")
            let recent = ReplicaIdentity(internalURL: "http://recent:8080")
            try await cluster.register(old, version: "1", at: Self.start)
            try await cluster.register(recent, version: "1", at: Self.start.addingTimeInterval(3000))
            try await Self.holdThings(database, replica: old.id, instance: "inst_old")
            try await database.presence.terminalOpened(instanceID: "inst_old", replicaID: old.id)
            try await database.presence.terminalOpened(instanceID: "inst_recent", replicaID: recent.id)
            let now = Self.start.addingTimeInterval(3601)
            #expect(try await cluster.purgeDead(now: now, olderThan: 3600) == 1)
            // A purged replica's open terminal counts as left at its last heartbeat, not as live.
            let deadBefore = now.addingTimeInterval(-ReplicaLiveness.deadAfterSeconds)
            #expect(try await database.presence.attendance(instanceID: "inst_old", now: now, deadBefore: deadBefore) == .absent(lastSeen: Self.start))
            #expect(try await cluster.replica(id: old.id) == nil)
            #expect(try await cluster.replica(id: recent.id) != nil, "dead, but not for an hour yet")
            #expect(try await Self.count(database, "instance_claims", where: "holder = '\(old.id)'") == 0)
            #expect(try await Self.count(database, "terminal_holders", where: "replica_id = '\(old.id)'") == 0)
            #expect(try await cluster.purgeDead(now: now, olderThan: 3600) == 0)
            try await cluster.remove(id: recent.id)
            if case .absent = try await database.presence.attendance(instanceID: "inst_recent", now: now, deadBefore: deadBefore) {} else {
                Issue.record("a removed replica's open terminal still counts as present")
            }
        }
    }

    @Test("the cluster id and proxy secret are made once, whoever asks first", arguments: StoreBackend.enabled)
    func clusterValues(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for database in [first, second, first, second, first, second] {
                    group.addTask { try await database.cluster.clusterID() }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let id = try #require(ids.first)
            #expect(id.hasPrefix("clu_") && Identifier.isWellFormed(id))
            #expect(try await second.cluster.clusterID() == id)

            let secrets = try await withThrowingTaskGroup(of: String.self) { group in
                for database in [second, first, second, first] {
                    group.addTask { try await database.cluster.proxySecret() }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(secrets.count == 1)
            let secret = try #require(secrets.first)
            // 32 random bytes as unpadded base64url.
            #expect(secret.count == 43 && secret.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" }, "\(secret)")
            #expect(try await first.cluster.proxySecret() == secret)
        }
    }

    @Test("another database has another cluster id", arguments: StoreBackend.enabled)
    func distinctClusters(_ backend: StoreBackend) async throws {
        let one = try await withTestDatabase(backend) { try await $0.cluster.clusterID() }
        let other = try await withTestDatabase(backend) { try await $0.cluster.clusterID() }
        #expect(one != other)
    }

    @Test("leadership keys are 64-bit FNV-1a, stable across processes")
    func leadershipKeys() {
        #expect(ClusterRepository.leadershipKey("") == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        #expect(ClusterRepository.leadershipKey("a") == Int64(bitPattern: 0xaf63_dc4c_8601_ec8c))
        #expect(ClusterRepository.leadershipKey("foobar") == Int64(bitPattern: 0x8594_4171_f739_67e8))
        #expect(ClusterRepository.leadershipKey("berth.reconcile") != ClusterRepository.leadershipKey("berth.reaper"))
    }

    // Each test leads under its own name: advisory locks are per PostgreSQL database, and the
    // tests' schemas share one.
    @Test("while one replica leads 'x', another's leadership of 'x' answers nil without running; 'y' is free", arguments: StoreBackend.enabled)
    func leadership(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            let (entered, enter) = AsyncStream<Void>.makeStream()
            let (released, release) = AsyncStream<Void>.makeStream()
            let leader = Task {
                try await first.cluster.withLeadership("held") {
                    enter.yield()
                    for await _ in released { break }
                    return "first"
                }
            }
            for await _ in entered { break }
            let ran = Counter()
            let refused = try await second.cluster.withLeadership("held") {
                ran.add()
                return "second"
            }
            #expect(refused == nil)
            // The leader's own database handle is refused too (SQLite: the same handle is both).
            let refusedAgain: Void? = try await first.cluster.withLeadership("held") { ran.add() }
            #expect(refusedAgain == nil)
            #expect(ran.value == 0)
            // The leader's body uses the database meanwhile (SQLite: no deadlock on its one connection).
            let other = try await first.cluster.withLeadership("free") { try await first.cluster.clusterID() }
            #expect(other != nil)
            release.yield()
            #expect(try await leader.value == "first")
            let afterwards = try await second.cluster.withLeadership("held") { "second" }
            #expect(afterwards == "second", "free again once the leader is done")
        }
    }

    @Test("two replicas asking for leadership at once: exactly one body runs, the other answers nil meanwhile", arguments: StoreBackend.enabled)
    func concurrentLeadership(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            for _ in 0..<5 {
                let ran = Counter()
                let gate = Counter()
                // A body holds leadership until the gate opens, so the loser answers first. Were both
                // to lead, no answer would come until the safety opening, and the first one would not be nil.
                let body: @Sendable () async throws -> Int = {
                    ran.add()
                    while gate.value == 0 { try await Task.sleep(for: .milliseconds(5)) }
                    return 1
                }
                let answers = try await withThrowingTaskGroup(of: Int?.self) { group in
                    group.addTask { try await first.cluster.withLeadership("race", body) }
                    group.addTask { try await second.cluster.withLeadership("race", body) }
                    let safety = Task {
                        try await Task.sleep(for: .seconds(20))
                        gate.add()
                    }
                    var answers: [Int?] = []
                    answers.append(try await group.next() ?? nil)
                    gate.add()
                    answers.append(try await group.next() ?? nil)
                    safety.cancel()
                    return answers
                }
                #expect(answers.count == 2 && answers[0] == nil && answers[1] == 1, "the loser answers nil while the leader runs: \(answers)")
                #expect(ran.value == 1)
            }
        }
    }

    @Test("a leader's error reaches its caller and ends its leadership", arguments: StoreBackend.enabled)
    func leadershipError(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            await expectBerthError(.notReady) {
                _ = try await database.cluster.withLeadership("fails") { () async throws -> Int in throw BerthError(.notReady, "boom") }
            }
            let afterwards = try await database.cluster.withLeadership("fails") { 7 }
            #expect(afterwards == 7)
        }
    }

    @Test("leadership is refused inside a transaction", arguments: StoreBackend.enabled)
    func leadershipInTransaction(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            await expectBerthError(.internalError) {
                _ = try await database.withTransaction { repos in try await repos.cluster.withLeadership("x") { 1 } }
            }
        }
    }
}

/// A count shared by concurrent bodies.
final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    func add() {
        count.withLock { $0 += 1 }
    }
}
