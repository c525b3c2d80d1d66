import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

@Suite("Presence: owners' terminals and editors, shared by the replicas")
struct PresenceRepositoryTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000.25)
    /// Far in the past: every registered replica counts as live.
    static let nobodyDead = Date(timeIntervalSince1970: 0)

    /// Registers replica `id` with its last heartbeat at `heartbeat` (what the cluster's heartbeat writes).
    static func register(_ database: BerthDatabase, _ id: String, heartbeat: Date) async throws {
        try await InstanceFixtures.tamper(database, """
            INSERT INTO replicas (id, internal_url, version, started_at, heartbeat_at)
            VALUES (\(bind: id), 'http://127.0.0.1:1', 'test', \(bind: heartbeat.timeIntervalSince1970), \(bind: heartbeat.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
            """)
    }

    static func rowCount(_ database: BerthDatabase) async throws -> Int {
        try await database.presence.sql.run("test") { db in
            try await db.raw("SELECT COUNT(*) AS n FROM presence").all().first.map { try $0.decode(column: "n", as: Int.self) } ?? -1
        }
    }

    @Test("terminals count up and down, never below zero; absence starts when the last one closes", arguments: StoreBackend.enabled)
    func terminals(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let presence = database.presence
            let now = Self.start + 100
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .absent(lastSeen: nil))
            // A close before any open changes nothing and creates no row.
            try await presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_a", at: Self.start)
            #expect(try await Self.rowCount(database) == 0)

            try await presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_a")
            try await presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_a")
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .present)
            #expect(try await presence.attendance(instanceID: "inst_b", now: now, deadBefore: Self.nobodyDead) == .absent(lastSeen: nil))
            try await presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_a", at: Self.start + 10)
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .present, "one of two is open")
            try await presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_a", at: Self.start + 20)
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .absent(lastSeen: Self.start + 20))
            // A third close is ignored: the count stays at zero, and the next open counts again.
            try await presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_a", at: Self.start + 30)
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .absent(lastSeen: Self.start + 20))
            try await presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_a")
            #expect(try await presence.attendance(instanceID: "inst_a", now: now, deadBefore: Self.nobodyDead) == .present)
        }
    }

    @Test("an editor heartbeat holds until its time, and a late older one never shortens it", arguments: StoreBackend.enabled)
    func editor(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let presence = database.presence
            try await presence.editorSeen(instanceID: "inst_a", replicaID: "rep_a", until: Self.start + 300)
            try await presence.editorSeen(instanceID: "inst_a", replicaID: "rep_a", until: Self.start + 200)
            #expect(try await presence.attendance(instanceID: "inst_a", now: Self.start + 299, deadBefore: Self.nobodyDead) == .present)
            #expect(try await presence.attendance(instanceID: "inst_a", now: Self.start + 300, deadBefore: Self.nobodyDead) == .absent(lastSeen: Self.start + 300))
            // An editor on another replica: the latest departure of all counts.
            try await presence.editorSeen(instanceID: "inst_a", replicaID: "rep_b", until: Self.start + 400)
            #expect(try await presence.attendance(instanceID: "inst_a", now: Self.start + 350, deadBefore: Self.nobodyDead) == .present)
            #expect(try await presence.attendance(instanceID: "inst_a", now: Self.start + 500, deadBefore: Self.nobodyDead) == .absent(lastSeen: Self.start + 400))
        }
    }

    @Test("a terminal open on replica A is seen from replica B; when A dies it counts as left at A's last heartbeat", arguments: StoreBackend.enabled)
    func acrossReplicas(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            let deadAfter = ReplicaLiveness.deadAfterSeconds
            try await Self.register(first, "rep_a", heartbeat: Self.start)
            try await Self.register(second, "rep_b", heartbeat: Self.start)
            try await first.presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_a")
            // An editor seen through B long ago, and a terminal B closed: A's open terminal outweighs both.
            try await second.presence.editorSeen(instanceID: "inst_a", replicaID: "rep_b", until: Self.start - 50)
            try await second.presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_b")
            try await second.presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_b", at: Self.start - 40)

            let fresh = Self.start + 2
            #expect(try await second.presence.attendance(instanceID: "inst_a", now: fresh, deadBefore: fresh - deadAfter) == .present)
            #expect(try await second.presence.attendanceOfAll(now: fresh, deadBefore: fresh - deadAfter) == ["inst_a": .present])

            // A stops beating; B keeps on. After the limit, A's terminal is gone since A's last beat.
            let later = Self.start + 60
            try await Self.register(second, "rep_b", heartbeat: later)
            let seen = try await second.presence.attendance(instanceID: "inst_a", now: later, deadBefore: later - deadAfter)
            #expect(seen == .absent(lastSeen: Self.start))
            #expect(try await second.presence.attendanceOfAll(now: later, deadBefore: later - deadAfter) == ["inst_a": .absent(lastSeen: Self.start)])
            // A replica that never registered a heartbeat (one server, no replicas) counts as live.
            try await first.presence.terminalOpened(instanceID: "inst_b", replicaID: "rep_unregistered")
            #expect(try await second.presence.attendance(instanceID: "inst_b", now: later, deadBefore: later - deadAfter) == .present)

            // Before A's replicas row is deleted, its terminals are closed at its last heartbeat, so
            // they stay gone without it.
            #expect(try await second.presence.closeTerminals(ofReplica: "rep_a", fallback: later) == 1)
            try await InstanceFixtures.tamper(second, "DELETE FROM replicas WHERE id = 'rep_a'")
            #expect(try await second.presence.attendance(instanceID: "inst_a", now: later, deadBefore: later - deadAfter) == .absent(lastSeen: Self.start))
            // Unregistered: closed at the fallback.
            #expect(try await second.presence.closeTerminals(ofReplica: "rep_unregistered", fallback: later) == 1)
            #expect(try await second.presence.attendance(instanceID: "inst_b", now: later, deadBefore: later - deadAfter) == .absent(lastSeen: later))
        }
    }

    @Test("20 terminals opened at once on two replicas all count, and closing them all leaves nobody", arguments: StoreBackend.enabled)
    func concurrentOpens(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let database = index.isMultiple(of: 2) ? first : second
                    group.addTask { try await database.presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_\(index % 4)") }
                }
                try await group.waitForAll()
            }
            #expect(try await first.presence.attendance(instanceID: "inst_a", now: Self.start, deadBefore: Self.nobodyDead) == .present)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let database = index.isMultiple(of: 2) ? second : first
                    group.addTask {
                        try await database.presence.terminalClosed(instanceID: "inst_a", replicaID: "rep_\(index % 4)", at: Self.start + Double(index))
                    }
                }
                try await group.waitForAll()
            }
            let attendance = try await second.presence.attendance(instanceID: "inst_a", now: Self.start + 100, deadBefore: Self.nobodyDead)
            guard case .absent(let lastSeen) = attendance else {
                Issue.record("every terminal closed, yet \(attendance)")
                return
            }
            // Each replica's last close (some index 16…19) is its departure; the latest one wins.
            #expect(lastSeen.map { $0 >= Self.start + 16 && $0 <= Self.start + 19 } == true, "\(String(describing: lastSeen))")
        }
    }

    @Test("rows of ended or unknown instances are forgotten; active ones are kept", arguments: StoreBackend.enabled)
    func forgetting(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let owner = Owner(kind: .user, id: "usr_a")
            try await database.instances.insertInstance(InstanceFixtures.instance("inst_running", owner: owner, createdOffset: 0))
            try await database.instances.insertInstance(InstanceFixtures.instance("inst_starting", owner: owner, state: .starting, createdOffset: 1))
            try await database.instances.insertInstance(InstanceFixtures.instance("inst_stopped", owner: owner, state: .stopped, createdOffset: 2))
            for id in ["inst_running", "inst_starting", "inst_stopped", "inst_unknown"] {
                try await database.presence.terminalOpened(instanceID: id, replicaID: "rep_a")
                try await database.presence.editorSeen(instanceID: id, replicaID: "rep_b", until: Self.start)
            }
            #expect(try await database.presence.forgetEnded() == 4)
            let left = try await database.presence.attendanceOfAll(now: Self.start, deadBefore: Self.nobodyDead)
            #expect(Set(left.keys) == ["inst_running", "inst_starting"])
            #expect(try await database.presence.forget(instanceIDs: ["inst_starting", "inst_other"]) == 2)
            #expect(try await database.presence.forget(instanceIDs: []) == 0)
            #expect(Set(try await database.presence.attendanceOfAll(now: Self.start, deadBefore: Self.nobodyDead).keys) == ["inst_running"])
        }
    }

    @Test("a damaged row (SQLite, whose columns take any type) is an error naming it, never a row left out")
    func damagedRow() async throws {
        try await withTestDatabase(.sqlite) { database in
            try await database.presence.terminalOpened(instanceID: "inst_a", replicaID: "rep_a")
            try await InstanceFixtures.tamper(database, "UPDATE presence SET terminals = 'many'")
            let one = await InstanceFixtures.error {
                _ = try await database.presence.attendance(instanceID: "inst_a", now: Self.start, deadBefore: Self.nobodyDead)
            }
            #expect(one?.code == .storeRowInvalid)
            #expect(one?.message.contains("presence(inst_a, rep_a)") == true, "\(String(describing: one))")
            let all = await InstanceFixtures.error {
                _ = try await database.presence.attendanceOfAll(now: Self.start, deadBefore: Self.nobodyDead)
            }
            #expect(all?.code == .storeRowInvalid)
        }
    }
}
