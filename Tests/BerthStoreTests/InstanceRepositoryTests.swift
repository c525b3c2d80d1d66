import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

/// Values shared by the instance, recording and audit repository tests.
enum InstanceFixtures {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func instance(
        _ id: String, owner: Owner, environment: String = "linux-basics", state: InstanceState = .running, createdOffset: TimeInterval
    ) -> Instance {
        let created = epoch.addingTimeInterval(createdOffset)
        return Instance(
            id: id, environment: environment, owner: owner, requestedBy: owner.id, state: state, createdAt: created, updatedAt: created,
            expiresAt: created.addingTimeInterval(1800), maxExpiresAt: created.addingTimeInterval(7200), renewalsLeft: 3
        )
    }

    /// The `BerthError` `body` throws; records an issue when it succeeds or throws something else.
    static func error(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> BerthError? {
        do {
            try await body()
            Issue.record("expected a BerthError, but it succeeded", sourceLocation: sourceLocation)
        } catch let error as BerthError {
            return error
        } catch {
            Issue.record("expected a BerthError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Runs one statement the repositories would never write (a damaged or hand-edited database).
    static func tamper(_ database: BerthDatabase, _ statement: SQLQueryString) async throws {
        try await database.instances.sql.run("tamper") { db in try await db.raw(statement).run() }
    }
}

@Suite("InstanceRepository on SQLite and PostgreSQL")
struct InstanceRepositoryTests {
    typealias F = InstanceFixtures

    @Test("instances round-trip every field and update in place; a taken id is 409 instance_exists", arguments: StoreBackend.enabled)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            var instance = F.instance("inst_1", owner: Owner(kind: .team, id: "team_r"), createdOffset: 0.25)
            instance.state = .requested
            try await repository.insertInstance(instance)
            #expect(try await repository.instance(id: "inst_1") == instance)
            await expectBerthError(.instanceExists) { try await repository.insertInstance(instance) }

            instance.state = .running
            instance.containerID = "c0ffee"
            instance.networkID = "net1"
            instance.renewalsLeft = 1
            instance.updatedAt = F.epoch.addingTimeInterval(5.5)
            instance.expiresAt = F.epoch.addingTimeInterval(3000)
            instance.endpoints = [
                Endpoint(port: 8080, protocol: .http, host: "127.0.0.1", hostPort: 20001, url: "http://127.0.0.1:20001/"),
                Endpoint(port: 22, protocol: .tcp, host: "127.0.0.1", hostPort: 20002, url: nil),
            ]
            instance.reason = "because"
            try await repository.updateInstance(instance)
            #expect(try await repository.instance(id: "inst_1") == instance)

            // Back to no container, network, endpoints or reason: NULLs are written, not skipped.
            instance.containerID = nil
            instance.networkID = nil
            instance.endpoints = []
            instance.reason = nil
            instance.state = .stopped
            try await repository.updateInstance(instance)
            #expect(try await repository.instance(id: "inst_1") == instance)
            #expect(try await repository.instance(id: "inst_other") == nil)

            // The adapter forwards to the repository.
            #expect(try await database.instances.instance(id: "inst_1") == instance)
            #expect(try await database.instances.instances(InstanceQuery()).map(\.id) == ["inst_1"])
        }
    }

    @Test("instance queries: active only, by owner, by environment, newest first, limited", arguments: StoreBackend.enabled)
    func queries(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            let ada = Owner(kind: .user, id: "usr_a")
            let bob = Owner(kind: .user, id: "usr_b")
            let team = Owner(kind: .team, id: "usr_a")
            let rows = [
                F.instance("inst_1", owner: ada, state: .stopped, createdOffset: 1),
                F.instance("inst_2", owner: ada, state: .running, createdOffset: 2),
                F.instance("inst_3", owner: bob, environment: "web", state: .requested, createdOffset: 3),
                F.instance("inst_4", owner: ada, environment: "web", state: .starting, createdOffset: 4),
                F.instance("inst_5", owner: bob, state: .expired, createdOffset: 5),
                F.instance("inst_6", owner: team, state: .stopping, createdOffset: 6),
                F.instance("inst_7", owner: bob, state: .failed, createdOffset: 7),
            ]
            for row in rows.shuffled() { try await repository.insertInstance(row) }

            #expect(try await repository.instances(InstanceQuery()).map(\.id) == ["inst_7", "inst_6", "inst_5", "inst_4", "inst_3", "inst_2", "inst_1"])
            #expect(try await repository.instances(InstanceQuery(activeOnly: true)).map(\.id) == ["inst_6", "inst_4", "inst_3", "inst_2"])
            #expect(try await repository.instances(InstanceQuery(owner: ada)).map(\.id) == ["inst_4", "inst_2", "inst_1"])
            #expect(try await repository.instances(InstanceQuery(activeOnly: true, owner: bob)).map(\.id) == ["inst_3"])
            #expect(try await repository.instances(InstanceQuery(owner: team)).map(\.id) == ["inst_6"], "a team and a user with the same id are different owners")
            #expect(try await repository.instances(InstanceQuery(environment: "web")).map(\.id) == ["inst_4", "inst_3"])
            #expect(try await repository.instances(InstanceQuery(activeOnly: true, owner: ada, environment: "web")).map(\.id) == ["inst_4"])
            #expect(try await repository.instances(InstanceQuery(limit: 2)).map(\.id) == ["inst_7", "inst_6"])
            #expect(try await repository.instances(InstanceQuery(limit: 0)).map(\.id) == ["inst_7"], "a limit below 1 reads one row")
            #expect(try await repository.instances(InstanceQuery(environment: "none")).isEmpty)
        }
    }

    @Test("an instance whose endpoints are not JSON is store_row_invalid naming it, and fails the listing too", arguments: StoreBackend.enabled)
    func corruptedEndpoints(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            try await repository.insertInstance(F.instance("inst_good", owner: Owner(kind: .user, id: "usr_a"), createdOffset: 1))
            try await repository.insertInstance(F.instance("inst_bad", owner: Owner(kind: .user, id: "usr_a"), createdOffset: 2))
            try await F.tamper(database, "UPDATE instances SET endpoints = \(bind: "[{\"port\": \"not a number\"") WHERE id = \(bind: "inst_bad")")

            let single = await F.error { _ = try await repository.instance(id: "inst_bad") }
            #expect(single?.code == .storeRowInvalid)
            #expect(single?.message.contains("instances(inst_bad)") == true, "\(single?.message ?? "")")
            #expect(single?.message.contains("endpoints") == true, "\(single?.message ?? "")")
            let listing = await F.error { _ = try await repository.instances(InstanceQuery()) }
            #expect(listing?.code == .storeRowInvalid, "the listing fails instead of leaving the instance out")
            #expect(listing?.message.contains("inst_bad") == true)
            #expect(try await repository.instance(id: "inst_good")?.endpoints == [])

            // Valid JSON of the wrong shape is as bad as broken JSON.
            try await F.tamper(database, "UPDATE instances SET endpoints = \(bind: "{}") WHERE id = \(bind: "inst_bad")")
            await expectBerthError(.storeRowInvalid) { _ = try await repository.instance(id: "inst_bad") }
        }
    }

    @Test("an unknown state or owner kind is store_row_invalid naming the instance", arguments: StoreBackend.enabled)
    func unknownEnums(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            let owner = Owner(kind: .user, id: "usr_a")
            try await repository.insertInstance(F.instance("inst_state", owner: owner, createdOffset: 1))
            try await repository.insertInstance(F.instance("inst_kind", owner: owner, createdOffset: 2))
            try await F.tamper(database, "UPDATE instances SET state = \(bind: "hibernating") WHERE id = \(bind: "inst_state")")
            try await F.tamper(database, "UPDATE instances SET owner_kind = \(bind: "robot") WHERE id = \(bind: "inst_kind")")

            let state = await F.error { _ = try await repository.instance(id: "inst_state") }
            #expect(state?.code == .storeRowInvalid)
            #expect(state?.message.contains("instances(inst_state)") == true, "\(state?.message ?? "")")
            #expect(state?.message.contains("hibernating") == true)
            let kind = await F.error { _ = try await repository.instance(id: "inst_kind") }
            #expect(kind?.code == .storeRowInvalid)
            #expect(kind?.message.contains("instances(inst_kind)") == true, "\(kind?.message ?? "")")
            await expectBerthError(.storeRowInvalid) { _ = try await repository.instances(InstanceQuery(owner: owner)) }
            // The active-only listing never reaches the row with an unknown state, but still the one with an unknown kind.
            await expectBerthError(.storeRowInvalid) { _ = try await repository.instances(InstanceQuery(activeOnly: true)) }
        }
    }

    @Test("the event log appends with increasing sequence numbers and reads newest first", arguments: StoreBackend.enabled)
    func events(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            var sequences: [Int64] = []
            for index in 0..<5 {
                let stored = try await repository.appendEvent(EventRecord(
                    time: F.epoch.addingTimeInterval(TimeInterval(index) + 0.5), kind: "instance.step\(index)",
                    instanceID: index.isMultiple(of: 2) ? "inst_even" : "inst_odd", userID: index == 0 ? nil : "usr_a",
                    detail: "detail \(index)"
                ))
                #expect(stored.kind == "instance.step\(index)")
                sequences.append(stored.sequence)
            }
            #expect(sequences == sequences.sorted())
            #expect(Set(sequences).count == 5)
            #expect(sequences.allSatisfy { $0 > 0 })

            let all = try await repository.events(instanceID: nil, limit: 100)
            #expect(all.map(\.sequence) == sequences.reversed())
            #expect(all.map(\.kind) == (0..<5).reversed().map { "instance.step\($0)" })
            #expect(all.last?.userID == nil)
            #expect(all.first?.userID == "usr_a")
            #expect(all.last?.instanceID == "inst_even")
            #expect(all.last?.detail == "detail 0")
            #expect(all.last?.time == F.epoch.addingTimeInterval(0.5))
            #expect(try await repository.events(instanceID: "inst_even", limit: 100).map(\.detail) == ["detail 4", "detail 2", "detail 0"])
            #expect(try await repository.events(instanceID: nil, limit: 2).map(\.sequence) == Array(sequences.suffix(2).reversed()))
            #expect(try await repository.events(instanceID: "inst_none", limit: 10).isEmpty)
            #expect(try await repository.events(instanceID: nil, limit: 0).isEmpty)

            // An event with no instance or user, through the adapter.
            let bare = try await database.instances.appendEvent(EventRecord(time: F.epoch, kind: "server.started"))
            #expect(bare.sequence > sequences.max() ?? 0)
            #expect(try await database.instances.events(instanceID: nil, limit: 1) == [bare])
        }
    }

    @Test("concurrent writers lose no event and get distinct sequences", arguments: StoreBackend.enabled)
    func concurrentEvents(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            let sequences = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<50 {
                    group.addTask { try await repository.appendEvent(EventRecord(time: F.epoch, kind: "k", detail: "\(index)")).sequence }
                }
                var sequences: [Int64] = []
                for try await sequence in group { sequences.append(sequence) }
                return sequences
            }
            #expect(Set(sequences).count == 50)
            let stored = try await repository.events(instanceID: nil, limit: 1000)
            #expect(stored.count == 50)
            #expect(Set(stored.map(\.detail)) == Set((0..<50).map(String.init)))
            #expect(Set(stored.map(\.sequence)) == Set(sequences))
        }
    }

    @Test("a transaction that fails on a later write leaves nothing of its earlier writes", arguments: StoreBackend.enabled)
    func transactionRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let owner = Owner(kind: .user, id: "usr_a")
            try await database.instances.insertInstance(F.instance("inst_taken", owner: owner, createdOffset: 0))

            // The later write is refused by Berth (a taken id, found with ON CONFLICT).
            await expectBerthError(.instanceExists) {
                try await database.withTransaction { tx in
                    try await tx.instances.insertInstance(F.instance("inst_new", owner: owner, createdOffset: 1))
                    try await tx.instances.appendEvent(EventRecord(time: F.epoch, kind: "instance.requested", instanceID: "inst_new"))
                    try await tx.recordings.insertRecording(RecordingRecord(
                        id: "rec_new", instanceID: "inst_new", environment: "e", owner: owner, terminal: "main",
                        path: "recordings/rec_new.cast", startedAt: F.epoch
                    ))
                    try await tx.instances.insertInstance(F.instance("inst_taken", owner: owner, createdOffset: 2))
                }
            }
            #expect(try await database.instances.instance(id: "inst_new") == nil)
            #expect(try await database.instances.events(instanceID: nil, limit: 10).isEmpty)
            #expect(try await database.recordings.recording(id: "rec_new") == nil)

            // The later write is refused by the database itself (a NOT NULL column).
            await #expect(throws: (any Error).self) {
                try await database.instances.withTransaction { repository in
                    try await repository.insertInstance(F.instance("inst_new", owner: owner, createdOffset: 1))
                    try await repository.appendEvent(EventRecord(time: F.epoch, kind: "instance.requested", instanceID: "inst_new"))
                    try await repository.sql.run("tamper") { db in
                        try await db.raw("INSERT INTO events (time, kind) VALUES (\(bind: 1.0), \(bind: String?.none))").run()
                    }
                }
            }
            #expect(try await database.instances.instance(id: "inst_new") == nil)
            #expect(try await database.instances.events(instanceID: nil, limit: 10).isEmpty)

            // A taken id inside a transaction does not abort it (PostgreSQL): the caller may go on and commit.
            let committed = try await database.withTransaction { tx in
                let taken = await F.error { try await tx.instances.insertInstance(F.instance("inst_taken", owner: owner, createdOffset: 3)) }
                #expect(taken?.code == .instanceExists)
                return try await tx.instances.appendEvent(EventRecord(time: F.epoch, kind: "instance.duplicate_refused"))
            }
            #expect(try await database.instances.events(instanceID: nil, limit: 10) == [committed])
            #expect(try await database.instances.instances(InstanceQuery()).map(\.id) == ["inst_taken"])
        }
    }

    @Test("quotes, unicode and long strings are stored exactly as given", arguments: StoreBackend.enabled)
    func awkwardText(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            let quoted = "o'brien \"quoted\" `tick` \\ back; DROP TABLE instances; --"
            let unicode = "Zoë 🚢 Ελληνικά 日本語 \u{200B}zero-width"
            let long = String(repeating: "ab'c\"é🚢", count: 20_000)
            let owner = Owner(kind: .user, id: quoted)
            var instance = F.instance("inst_'\"🚢", owner: owner, environment: unicode, createdOffset: 0)
            instance.reason = long
            instance.containerID = quoted
            instance.endpoints = [Endpoint(port: 80, protocol: .http, host: unicode, hostPort: 8080, url: "http://x/?q='\"&a=🚢")]
            try await repository.insertInstance(instance)
            #expect(try await repository.instance(id: instance.id) == instance)
            #expect(try await repository.instances(InstanceQuery(owner: owner, environment: unicode)) == [instance])
            #expect(try await repository.instances(InstanceQuery(owner: Owner(kind: .user, id: "o'brien"))).isEmpty)

            let event = try await repository.appendEvent(EventRecord(time: F.epoch, kind: quoted, instanceID: instance.id, userID: unicode, detail: long))
            #expect(try await repository.events(instanceID: instance.id, limit: 5) == [event])
            #expect(try await repository.instances(InstanceQuery()).count == 1, "the quoted text dropped nothing")
        }
    }
    @Test("activeCounts: the owner's and everyone's active instances and the owner's active one of the environment, in one read", arguments: StoreBackend.enabled)
    func activeCounts(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.instances
            let ada = Owner(kind: .user, id: "usr_a")
            let bob = Owner(kind: .user, id: "usr_b")
            let adaTeam = Owner(kind: .team, id: "usr_a")
            #expect(try await repository.activeCounts(owner: ada, environment: "shell") == ActiveCounts(owner: 0, global: 0, instanceOfEnvironment: nil))

            for row in [
                F.instance("inst_old", owner: ada, environment: "shell", state: .running, createdOffset: 1),
                F.instance("inst_new", owner: ada, environment: "shell", state: .starting, createdOffset: 2),
                F.instance("inst_web", owner: ada, environment: "web", state: .stopping, createdOffset: 3),
                F.instance("inst_done", owner: ada, environment: "pwn", state: .stopped, createdOffset: 4),
                F.instance("inst_failed", owner: ada, environment: "pwn", state: .failed, createdOffset: 5),
                F.instance("inst_bob", owner: bob, environment: "pwn", state: .requested, createdOffset: 6),
                F.instance("inst_bob_expired", owner: bob, environment: "shell", state: .expired, createdOffset: 7),
                F.instance("inst_team", owner: adaTeam, environment: "pwn", state: .running, createdOffset: 8),
            ] {
                try await repository.insertInstance(row)
            }

            #expect(try await repository.activeCounts(owner: ada, environment: "shell") == ActiveCounts(owner: 3, global: 5, instanceOfEnvironment: "inst_new"))
            #expect(try await repository.activeCounts(owner: ada, environment: "web") == ActiveCounts(owner: 3, global: 5, instanceOfEnvironment: "inst_web"))
            #expect(
                try await repository.activeCounts(owner: ada, environment: "pwn") == ActiveCounts(owner: 3, global: 5, instanceOfEnvironment: nil),
                "stopped and failed instances, and the team's with the same id, are not the user's active ones"
            )
            #expect(try await repository.activeCounts(owner: bob, environment: "shell") == ActiveCounts(owner: 1, global: 5, instanceOfEnvironment: nil))
            #expect(try await repository.activeCounts(owner: adaTeam, environment: "pwn") == ActiveCounts(owner: 1, global: 5, instanceOfEnvironment: "inst_team"))
            #expect(try await repository.activeCounts(owner: Owner(kind: .user, id: "usr_'🚢"), environment: "shell'") == ActiveCounts(owner: 0, global: 5, instanceOfEnvironment: nil))

            // Inside a transaction the counts include its own uncommitted intent; after a rollback they do not.
            await expectBerthError(.instanceExists) {
                try await database.withTransaction { tx in
                    try await tx.instances.insertInstance(F.instance("inst_intent", owner: bob, environment: "shell", state: .requested, createdOffset: 9))
                    #expect(try await tx.instances.activeCounts(owner: bob, environment: "shell") == ActiveCounts(owner: 2, global: 6, instanceOfEnvironment: "inst_intent"))
                    try await tx.instances.insertInstance(F.instance("inst_bob", owner: bob, createdOffset: 10))
                }
            }
            #expect(try await repository.activeCounts(owner: bob, environment: "shell") == ActiveCounts(owner: 1, global: 5, instanceOfEnvironment: nil))
        }
    }
}
