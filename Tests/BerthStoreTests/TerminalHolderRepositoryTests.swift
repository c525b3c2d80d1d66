import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

@Suite("Terminal holders: which replica holds each terminal's PTY")
struct TerminalHolderRepositoryTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000.5)

    /// Registers replica `id`, or moves its heartbeat to `heartbeat`.
    static func register(_ database: BerthDatabase, _ id: String, url: String, heartbeat: Date) async throws {
        try await database.cluster.register(ReplicaIdentity(id: id, internalURL: url), version: "test", at: heartbeat)
    }

    @Test("the first replica takes a free terminal; a live holder keeps it; a dead or unregistered one loses it", arguments: StoreBackend.enabled)
    func takeAndLiveness(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let holders = database.terminalHolders
            try await Self.register(database, "rep_a", url: "http://10.0.0.1:8080", heartbeat: Self.now)
            try await Self.register(database, "rep_b", url: "http://10.0.0.2:8080", heartbeat: Self.now)
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now) == nil)

            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_a", now: Self.now))
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now)
                == TerminalHolder(replicaID: "rep_a", internalURL: "http://10.0.0.1:8080", alive: true))
            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_a", now: Self.now), "taking one's own again")
            #expect(try await !holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_b", now: Self.now), "a live holder keeps it")
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now)?.replicaID == "rep_a")
            #expect(try await holders.take(instanceID: "inst_1", terminal: "build", replicaID: "rep_b", now: Self.now), "another terminal is free")
            #expect(try await holders.take(instanceID: "inst_2", terminal: "main", replicaID: "rep_b", now: Self.now), "another instance is free")

            // 3.9 s after its last heartbeat rep_a is alive; 4 s after it is dead.
            let almost = Self.now.addingTimeInterval(ReplicaLiveness.deadAfterSeconds - 0.1)
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: almost)?.alive == true)
            #expect(try await !holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_b", now: almost))
            let later = Self.now.addingTimeInterval(ReplicaLiveness.deadAfterSeconds)
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: later)?.alive == false)
            try await Self.register(database, "rep_b", url: "http://10.0.0.2:8080", heartbeat: later)
            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_b", now: later), "a dead holder's terminal is taken over")
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: later)
                == TerminalHolder(replicaID: "rep_b", internalURL: "http://10.0.0.2:8080", alive: true))
            #expect(try await !holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_a", now: later), "the old holder cannot take it back while rep_b lives")

            // A holder without a replicas row is dead.
            #expect(try await holders.take(instanceID: "inst_3", terminal: "main", replicaID: "rep_gone", now: later))
            #expect(try await holders.holder(instanceID: "inst_3", terminal: "main", now: later)
                == TerminalHolder(replicaID: "rep_gone", internalURL: nil, alive: false))
            #expect(try await holders.take(instanceID: "inst_3", terminal: "main", replicaID: "rep_b", now: later))
        }
    }

    @Test("a live holder another replica could not reach is replaced only when named", arguments: StoreBackend.enabled)
    func replacingUnreachable(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let holders = database.terminalHolders
            try await Self.register(database, "rep_a", url: "http://10.0.0.1:8080", heartbeat: Self.now)
            try await Self.register(database, "rep_b", url: "http://10.0.0.2:8080", heartbeat: Self.now)
            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_a", now: Self.now))
            #expect(try await !holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_b", now: Self.now, replacing: "rep_c"))
            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_b", now: Self.now, replacing: "rep_a"))
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now)?.replicaID == "rep_b")
        }
    }

    @Test("release forgets only one's own terminal; releaseAll forgets every terminal of the instance", arguments: StoreBackend.enabled)
    func release(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let holders = database.terminalHolders
            try await Self.register(database, "rep_a", url: "http://10.0.0.1:8080", heartbeat: Self.now)
            #expect(try await holders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_a", now: Self.now))
            #expect(try await holders.take(instanceID: "inst_1", terminal: "build", replicaID: "rep_a", now: Self.now))
            #expect(try await holders.take(instanceID: "inst_2", terminal: "main", replicaID: "rep_a", now: Self.now))
            try await holders.release(instanceID: "inst_1", terminal: "main", replicaID: "rep_b")
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now)?.replicaID == "rep_a", "not rep_b's to release")
            try await holders.release(instanceID: "inst_1", terminal: "main", replicaID: "rep_a")
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "main", now: Self.now) == nil)
            try await holders.releaseAll(instanceID: "inst_1")
            #expect(try await holders.holder(instanceID: "inst_1", terminal: "build", now: Self.now) == nil)
            #expect(try await holders.holder(instanceID: "inst_2", terminal: "main", now: Self.now) != nil, "other instances keep theirs")
        }
    }

    @Test("20 concurrent takes of one free terminal by 20 replicas: exactly one wins", arguments: StoreBackend.enabled)
    func oneWinner(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let now = Date()
            for index in 0..<20 { try await Self.register(database, "rep_\(index)", url: "http://10.0.0.\(index):8080", heartbeat: now) }
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await database.terminalHolders.take(instanceID: "inst_1", terminal: "main", replicaID: "rep_\(index)", now: now) ? "rep_\(index)" : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(winners.count == 1)
            #expect(try await database.terminalHolders.holder(instanceID: "inst_1", terminal: "main", now: now)?.replicaID == winners.first)
        }
    }
}
