import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("Replica heartbeat service")
struct ReplicaHeartbeatTests {
    static let logger: Logger = {
        var logger = Logger(label: "berth.test.heartbeat")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs `heartbeat` in a service group for `body`, then shuts it down gracefully and waits for it.
    static func running(_ heartbeat: ReplicaHeartbeat, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: [heartbeat], logger: logger)
        let running = Task { try await group.run() }
        do {
            try await body()
        } catch {
            running.cancel()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Waits (up to 10 s: the machine is loaded) until `condition` holds.
    static func eventually(_ what: Comment, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("never happened: \(what)")
    }

    @Test("registers at start, beats, registers again when its row vanishes, and leaves at a graceful shutdown", arguments: StoreBackend.enabled)
    func life(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let replica = ReplicaIdentity(internalURL: "http://127.0.0.1:9")
            let heartbeat = ReplicaHeartbeat(store: database, replica: replica, version: "9.9.9", interval: .milliseconds(50), logger: Self.logger)
            try await Self.running(heartbeat) {
                try await Self.eventually("registered") { try await database.cluster.replica(id: replica.id) != nil }
                let first = try #require(try await database.cluster.replica(id: replica.id))
                #expect(first.internalURL == "http://127.0.0.1:9" && first.version == "9.9.9")
                try await Self.eventually("a heartbeat after registration") {
                    try await database.cluster.replica(id: replica.id).map { $0.heartbeatAt > first.heartbeatAt } ?? false
                }
                #expect(try await database.cluster.liveReplicas(now: Date()).map(\.id) == [replica.id])

                // Its row purged (as if it had been silent for an hour): it registers again.
                try await database.cluster.remove(id: replica.id)
                try await Self.eventually("registered again") { try await database.cluster.replica(id: replica.id) != nil }
            }
            #expect(try await database.cluster.replica(id: replica.id) == nil, "a graceful shutdown removes the row")
        }
    }

    @Test("a store outage is retried, never fatal: the heartbeat resumes when the store is back", arguments: StoreBackend.enabled)
    func outage(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let replica = ReplicaIdentity(internalURL: "http://127.0.0.1:9")
            let heartbeat = ReplicaHeartbeat(store: database, replica: replica, interval: .milliseconds(50), logger: Self.logger)
            let sql = database.cluster.sql
            try await Self.running(heartbeat) {
                try await Self.eventually("registered") { try await database.cluster.replica(id: replica.id) != nil }
                // The table out of reach: every beat fails.
                try await sql.run { db in try await db.raw("ALTER TABLE replicas RENAME TO replicas_away").run() }
                try await Task.sleep(for: .milliseconds(300))
                let before = try await sql.run { db in
                    try await db.raw("SELECT heartbeat_at FROM replicas_away").all().first.map { try $0.decode(column: "heartbeat_at", as: Double.self) }
                }
                try await sql.run { db in try await db.raw("ALTER TABLE replicas_away RENAME TO replicas").run() }
                let stalled = try #require(before)
                try await Self.eventually("beating again") {
                    try await database.cluster.replica(id: replica.id).map { $0.heartbeatAt.timeIntervalSince1970 > stalled } ?? false
                }
            }
            #expect(try await database.cluster.replica(id: replica.id) == nil)
        }
    }

    @Test("cancelled rather than shut down, it leaves its row to go stale", arguments: StoreBackend.enabled)
    func cancelled(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let replica = ReplicaIdentity(internalURL: "http://127.0.0.1:9")
            let heartbeat = ReplicaHeartbeat(store: database, replica: replica, interval: .milliseconds(50), logger: Self.logger)
            let running = Task { try await heartbeat.run() }
            try await Self.eventually("registered") { try await database.cluster.replica(id: replica.id) != nil }
            running.cancel()
            try await running.value
            #expect(try await database.cluster.replica(id: replica.id) != nil)
        }
    }
}
