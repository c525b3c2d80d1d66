import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import SQLKit
import Testing

@Suite("Instance claims: one replica at a time changes an instance")
struct ClaimTests {
    typealias F = InstanceFixtures
    static let now = F.epoch.addingTimeInterval(10_000)

    static func terms(_ holder: String, _ at: Date) -> ClaimTerms {
        ClaimTerms(holder: holder, now: at, leaseSeconds: 15, deadBefore: at.addingTimeInterval(-ReplicaLiveness.deadAfterSeconds))
    }

    static func registerReplica(_ database: BerthDatabase, _ id: String, heartbeat: Date) async throws {
        try await database.cluster.register(ReplicaIdentity(id: id, internalURL: "http://127.0.0.1:1"), version: "test", at: heartbeat)
    }

    @Test("a claim has one holder and is not re-entrant; released, expired or held by a dead replica, it passes on", arguments: StoreBackend.enabled)
    func claims(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let instances = database.instances
            let now = Self.now
            #expect(try await instances.claim("inst_a", purpose: "stop", terms: Self.terms("rep_a", now)))
            #expect(try await instances.claim("inst_a", purpose: "reset", terms: Self.terms("rep_b", now)) == false)
            #expect(try await instances.claim("inst_a", purpose: "reset", terms: Self.terms("rep_a", now)) == false, "not re-entrant")
            #expect(try await instances.claim(of: "inst_a") == InstanceClaim(holder: "rep_a", purpose: "stop", leaseExpiresAt: now.addingTimeInterval(15)))

            try await instances.releaseClaim("inst_a", holder: "rep_b")
            #expect(try await instances.claim(of: "inst_a")?.holder == "rep_a", "only the holder releases")
            try await instances.releaseClaim("inst_a", holder: "rep_a")
            #expect(try await instances.claim(of: "inst_a") == nil)
            #expect(try await instances.claim("inst_a", purpose: "stop", terms: Self.terms("rep_b", now)))

            // A renewed lease holds past its first expiry; an expired one passes on.
            try await instances.renewClaims(holder: "rep_b", until: now.addingTimeInterval(30))
            #expect(try await instances.claim("inst_a", purpose: "reap", terms: Self.terms("rep_c", now.addingTimeInterval(16))) == false)
            #expect(try await instances.claim("inst_a", purpose: "reap", terms: Self.terms("rep_c", now.addingTimeInterval(31))))

            // A holder whose heartbeat went silent loses its claim before the lease ends.
            try await Self.registerReplica(database, "rep_c", heartbeat: now.addingTimeInterval(31))
            #expect(try await instances.claim("inst_a", purpose: "stop", terms: Self.terms("rep_d", now.addingTimeInterval(34))) == false)
            #expect(try await instances.claim("inst_a", purpose: "stop", terms: Self.terms("rep_d", now.addingTimeInterval(36))))
            #expect(try await instances.claim(of: "inst_a")?.holder == "rep_d")
        }
    }

    @Test("two replicas claiming due instances at once share them out: each due one to exactly one, none held elsewhere", arguments: StoreBackend.enabled)
    func claimDue(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            let owner = Owner(kind: .user, id: "usr_1")
            // Created 1 h before `now`, so their 30 min TTL has passed.
            var due: Set<String> = []
            for index in 0..<12 {
                let id = "inst_due\(index)"
                try await first.instances.insertInstance(F.instance(id, owner: owner, state: index < 10 ? .running : .stopping, createdOffset: 10_000 - 3600))
                due.insert(id)
            }
            try await first.instances.insertInstance(F.instance("inst_fresh", owner: owner, createdOffset: 10_000 - 60))
            try await first.instances.insertInstance(F.instance("inst_ended", owner: owner, state: .expired, createdOffset: 10_000 - 3600))
            try await first.instances.insertInstance(F.instance("inst_held", owner: owner, createdOffset: 10_000 - 3600))
            try await Self.registerReplica(first, "rep_x", heartbeat: Self.now)
            #expect(try await first.instances.claim("inst_held", purpose: "stop", terms: Self.terms("rep_x", Self.now)))

            async let byA = first.instances.claimDue(limit: 100, terms: Self.terms("rep_a", Self.now))
            async let byB = second.instances.claimDue(limit: 100, terms: Self.terms("rep_b", Self.now))
            let (a, b) = try await (byA, byB)
            #expect(Set(a).isDisjoint(with: Set(b)), "no instance to both: \(a) \(b)")
            #expect(Set(a).union(b) == due)
            #expect(a.count + b.count == due.count)
            #expect(try await first.instances.claim(of: "inst_held")?.holder == "rep_x")

            // The limit is kept, and a second pass finds nothing left unclaimed.
            #expect(try await first.instances.claimDue(limit: 100, terms: Self.terms("rep_c", Self.now)).isEmpty)
            #expect(try await first.instances.claimDue(limit: 2, terms: Self.terms("rep_c", Self.now.addingTimeInterval(20))).count == 2)
        }
    }

    @Test("two lifecycles on one database: either stops the other's instance, and an expired instance is reaped once", arguments: StoreBackend.enabled)
    func twoLifecycles(_ backend: StoreBackend) async throws {
        try await AdmissionTests.withWebCatalog { catalog in
            try await withTwoTestDatabases(backend) { firstDatabase, secondDatabase in
                let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }
                let policy = LifecyclePolicy(assignment: .unlimited, ownerCap: 5, globalCap: 9, portRange: 43000...43019, endpointHost: "127.0.0.1")
                let clock = TestClock()
                let runtime = FakeInstanceRuntime()
                let (a, b) = (firstDatabase, secondDatabase)
                let servers = [a, b].map { database in
                    InstanceLifecycle(
                        store: database, runtime: runtime, catalog: catalog, policy: policy, logger: logger, clock: { clock.now() },
                        replica: ReplicaIdentity(internalURL: "http://127.0.0.1:1")
                    )
                }
                let user = try await Accounts(store: a).createUser(name: "player")
                let started = try await servers[0].request(environment: "web", by: user)
                #expect(try await a.instances.claim(of: started.id) == nil, "the start's claim is released")

                // The other server sees it and stops it.
                #expect(try await servers[1].activeInstance(started.id)?.state == .running)
                let stopped = try await servers[1].stop(started.id, by: user)
                #expect(stopped.state == .stopped)
                #expect(try await servers[0].activeInstance(started.id) == nil)

                // While one server holds a claim, the other answers instance_busy.
                let second = try await servers[1].request(environment: "web", by: user)
                #expect(try await b.instances.claim(second.id, purpose: "test", terms: Self.terms("rep_test", clock.now())))
                let busy = await F.error { _ = try await servers[0].stop(second.id, by: user) }
                #expect(busy?.code == .instanceBusy)
                try await b.instances.releaseClaim(second.id, holder: "rep_test")

                // Past its expiry both reapers run at once; it ends once.
                for _ in 0..<3 { _ = try await servers[0].request(environment: "web", by: user) }
                clock.advance(seconds: 7200)
                async let reapedByA = servers[0].reapExpired()
                async let reapedByB = servers[1].reapExpired()
                let (reapedA, reapedB) = await (reapedByA, reapedByB)
                #expect(reapedA + reapedB == 4, "each expired instance reaped once: \(reapedA) + \(reapedB)")
                #expect(try await servers[0].activeCount() == 0)
                let events = try await a.instances.events(instanceID: second.id, limit: 100)
                #expect(events.filter { $0.kind == "instance.expired" }.count == 1)
            }
        }
    }
}
