import BerthCore
import BerthEngine
import BerthHTTP
import BerthStore
import BerthTerminal
import BerthTestSupport
import DockerEngine
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import Logging
import Testing
import WSClient

/// An environment that stops once nobody has been connected for 10 minutes: long enough that the
/// server's own reaper (sweeping with the real clock) never fires during a test, so the tests
/// sweep with a clock of their own.
private let tenMinutes = """
    name: Disconnect test
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      lifetime: {ttl: 1h, whenDisconnected: 10m}
    """

@Suite("Presence: who keeps an instance attended (no engine; in the store, on SQLite and PostgreSQL)")
struct PresenceTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func instance(createdAt: Date, state: InstanceState = .running) -> Instance {
        Instance(
            id: "inst_presence", environment: "e", owner: Owner(kind: .user, id: "usr_a"), requestedBy: "usr_a", state: state,
            createdAt: createdAt, updatedAt: createdAt, expiresAt: createdAt + 3600, maxExpiresAt: createdAt + 7200, renewalsLeft: 3
        )
    }

    @Test("an open terminal is presence; absence counts from when the last one closed", arguments: StoreBackend.enabled)
    func terminals(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let presence = Presence(since: Self.start, store: database.presence)
            let instance = Self.instance(createdAt: Self.start + 10)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 20) == .absent(lastSeen: nil))
            #expect(try await presence.disconnectStopAt(instance, after: 600, now: Self.start + 20) == Self.start + 610)

            try await presence.terminalOpened(instance.id)
            try await presence.terminalOpened(instance.id)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 5000) == .present)
            #expect(try await presence.disconnectStopAt(instance, after: 600, now: Self.start + 5000) == nil)
            try await presence.terminalClosed(instance.id, at: Self.start + 6000)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 6001) == .present, "one of two terminals is still open")
            try await presence.terminalClosed(instance.id, at: Self.start + 7000)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 7001) == .absent(lastSeen: Self.start + 7000))
            #expect(try await presence.disconnectStopAt(instance, after: 600, now: Self.start + 7001) == Self.start + 7600)
            // A close without an open (an instance forgotten meanwhile) never goes below zero.
            try await presence.terminalClosed(instance.id, at: Self.start + 8000)
            try await presence.terminalOpened(instance.id)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 8001) == .present)
        }
    }

    @Test("an editor heartbeat lasts 75 seconds", arguments: StoreBackend.enabled)
    func editor(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let presence = Presence(since: Self.start, store: database.presence)
            let instance = Self.instance(createdAt: Self.start)
            try await presence.editorSeen(instance.id, at: Self.start + 100)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 174) == .present)
            #expect(try await presence.disconnectStopAt(instance, after: 60, now: Self.start + 174) == nil)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 175) == .absent(lastSeen: Self.start + 175))
            #expect(try await presence.disconnectStopAt(instance, after: 60, now: Self.start + 176) == Self.start + 235)
            // An older heartbeat arriving late never shortens a newer one.
            try await presence.editorSeen(instance.id, at: Self.start + 300)
            try await presence.editorSeen(instance.id, at: Self.start + 200)
            #expect(try await presence.attendance(of: instance.id, at: Self.start + 374) == .present)
        }
    }

    @Test("absence never counts from before the server started tracking, and only running instances stop", arguments: StoreBackend.enabled)
    func trackingStartAndState(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let presence = Presence(since: Self.start + 1000, store: database.presence)
            let old = Self.instance(createdAt: Self.start)
            #expect(try await presence.disconnectStopAt(old, after: 600, now: Self.start + 1200) == Self.start + 1600)
            #expect(try await presence.disconnectStopAt(Self.instance(createdAt: Self.start, state: .starting), after: 600, now: Self.start + 1200) == nil)
            #expect(try await presence.disconnectStopAt(Self.instance(createdAt: Self.start, state: .stopped), after: 600, now: Self.start + 1200) == nil)
            try await presence.terminalOpened(old.id)
            // Its instance is not active in the store (never recorded here): forgotten.
            try await presence.forgetEnded()
            #expect(try await presence.attendance(of: old.id, at: Self.start + 1200) == .absent(lastSeen: nil), "an ended instance is forgotten")
        }
    }

    @Test("two servers on one database: a terminal open through one keeps the other's count; a dead one's terminal left at its last heartbeat", arguments: StoreBackend.enabled)
    func twoReplicas(_ backend: StoreBackend) async throws {
        try await withTwoTestDatabases(backend) { first, second in
            // Whole seconds: PostgreSQL's float8 round trip may differ in the last microsecond.
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded())
            let serverA = Presence(since: now - 7200, store: first.presence, replicaID: "rep_a")
            let serverB = Presence(since: now - 7200, store: second.presence, replicaID: "rep_b")
            #expect(serverA.replicaID != serverB.replicaID)
            try await first.presence.sql.run("test") { db in
                try await db.raw("""
                    INSERT INTO replicas (id, internal_url, version, started_at, heartbeat_at)
                    VALUES ('rep_a', 'http://a', 'test', \(bind: now.timeIntervalSince1970), \(bind: now.timeIntervalSince1970))
                    """).run()
            }
            let instance = Self.instance(createdAt: now - 3600)
            try await serverA.terminalOpened(instance.id)
            #expect(try await serverB.attendance(of: instance.id, at: now + 1) == .present)
            #expect(try await serverB.disconnectStopAt(instance, after: 600, now: now + 1) == nil)
            // B's close of a terminal it never counted leaves A's alone.
            try await serverB.terminalClosed(instance.id, at: now + 2)
            #expect(try await serverB.attendance(of: instance.id, at: now + 2) == .present)
            // A stopped beating longer than ReplicaLiveness.deadAfterSeconds ago (heartbeats are on
            // the wall clock): its terminal is gone since its last heartbeat.
            let lastBeat = now - ReplicaLiveness.deadAfterSeconds - 6
            _ = try await first.cluster.heartbeat(id: "rep_a", at: lastBeat)
            #expect(try await serverB.attendance(of: instance.id, at: now) == .absent(lastSeen: lastBeat))
            #expect(try await serverB.disconnectStopAt(instance, after: 600, now: now) == lastBeat + 600)
        }
    }

    @Test("when the store loses presence: a terminal is not counted (and says so), and reads fail rather than answer nobody")
    func storeFailure() async throws {
        try await withTestDatabase(.sqlite) { database in
            let presence = Presence(since: Self.start, store: database.presence)
            try await database.presence.sql.run("test") { db in try await db.raw("DROP TABLE presence").run() }
            #expect(await presence.countTerminalOpened("inst_a", logger: Logger(label: "test")) == false)
            await presence.countTerminalClosed("inst_a", logger: Logger(label: "test"))
            await #expect(throws: (any Error).self) { try await presence.attendance(of: "inst_a", at: Self.start) }
            await #expect(throws: (any Error).self) { try await presence.disconnectStopAt(Self.instance(createdAt: Self.start), after: 60, now: Self.start + 600) }
        }
    }

    @Test("the end reason says how long, and that the workspace was saved only when there is one")
    func reasons() {
        #expect(EndReason.disconnected(seconds: 600, hasWorkspace: false) == "stopped because nobody was connected for 10 minutes; press Start for a fresh one")
        #expect(EndReason.disconnected(seconds: 600, hasWorkspace: true).contains("your workspace was saved"))
        #expect(EndReason.disconnected(seconds: 5401, hasWorkspace: false).contains("1 hour 30 minutes 1 second"))
        #expect(EndReason.disconnected(seconds: 3, hasWorkspace: false).contains("3 seconds"))
    }
}

@Suite("Stopping when everyone has left (lifetime.whenDisconnected)", .serialized, .timeLimit(.minutes(3)))
struct DisconnectStopTests {
    static func date(_ value: Any?) -> Date? {
        guard let text = value as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    static func reaper(_ harness: APIHarness) -> DisconnectReaper {
        DisconnectReaper(services: harness.services, interval: .seconds(1), logger: harness.logger)
    }

    static func state(_ harness: APIHarness, _ id: String) async throws -> Instance {
        try #require(try await harness.services.store.instances.instance(id: id))
    }

    @Test("nobody connected for longer than the setting: stopped through the lifecycle, with the reason")
    func nobodyConnected() async throws {
        try await APIHarness.with(environments: ["disc": tenMinutes]) { harness in
            try await harness.application.test(.router) { client in
                let owner = try await harness.player("nadia")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc"}"#)
                let id = try #require(created.body["id"] as? String)
                let createdAt = try #require(Self.date(created.body["createdAt"]))
                let stopAt = try #require(Self.date(created.body["disconnectStopAt"]), "\(created.body)")
                #expect(abs(stopAt.timeIntervalSince(createdAt) - 600) < 1.5)

                await Self.reaper(harness).sweep(now: createdAt + 590)
                #expect(try await Self.state(harness, id).state == .running)
                await Self.reaper(harness).sweep(now: createdAt + 602)
                let stopped = try await Self.state(harness, id)
                #expect(stopped.state == .stopped)
                #expect(stopped.reason == "stopped because nobody was connected for 10 minutes; press Start for a fresh one")
                let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                #expect(shown.body["state"] as? String == "stopped")
                #expect(shown.body["disconnectStopAt"] == nil, "an ended instance has no stop time: \(shown.body)")
            }
        }
    }

    @Test("when presence cannot be read, the reaper stops nothing")
    func presenceUnreadable() async throws {
        try await APIHarness.with(environments: ["disc": tenMinutes]) { harness in
            try await harness.application.test(.router) { client in
                let owner = try await harness.player("tariq")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc"}"#)
                let id = try #require(created.body["id"] as? String)
                let createdAt = try #require(Self.date(created.body["createdAt"]))
                try await harness.services.store.presence.sql.run("test") { db in try await db.raw("DROP TABLE presence").run() }
                await Self.reaper(harness).sweep(now: createdAt + 3000)
                #expect(try await Self.state(harness, id).state == .running, "never stopped on missing data")
                let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                #expect(shown.status == 200 && shown.body["disconnectStopAt"] == nil, "shown, without a stop time: \(shown.body)")
            }
        }
    }

    @Test("an editor heartbeat keeps it for 75 s; another player's is 404, an admin's is accepted and not counted")
    func heartbeat() async throws {
        try await APIHarness.with(environments: ["disc": tenMinutes]) { harness in
            try await harness.application.test(.router) { client in
                let owner = try await harness.player("olga")
                let other = try await harness.player("mallory")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc"}"#)
                let id = try #require(created.body["id"] as? String)
                let path = "/api/v1/instances/\(id)/presence"

                #expect(try await client.call(.put, path).status == 401)
                let foreign = try await client.call(.put, path, token: other.token)
                #expect(foreign.status == 404)
                #expect(errorCode(foreign.body) == "instance_not_found")
                #expect(try await client.call(.put, path, token: APIHarness.adminToken).status == 204)
                let watched = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                #expect(Self.date(watched.body["disconnectStopAt"]) != nil, "an admin's heartbeat does not count: \(watched.body)")

                let beat = Date()
                #expect(try await client.call(.put, path, token: owner.token).status == 204)
                let attended = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                #expect(attended.body["state"] as? String == "running")
                #expect(attended.body["disconnectStopAt"] == nil, "\(attended.body)")

                await Self.reaper(harness).sweep(now: beat + 70)
                #expect(try await Self.state(harness, id).state == .running)
                let stopAt = try #require(try await harness.services.disconnectStopAt(try await Self.state(harness, id), now: beat + 80))
                #expect(stopAt >= beat + 675 && stopAt < beat + 680, "75 s of presence, then 10 minutes")
                await Self.reaper(harness).sweep(now: beat + 600)
                #expect(try await Self.state(harness, id).state == .running, "10 minutes from the heartbeat is not 10 minutes from its end")
                await Self.reaper(harness).sweep(now: beat + 700)
                #expect(try await Self.state(harness, id).state == .stopped)
            }
        }
    }

    @Test("a file API call counts as the editor")
    func fileCallCounts() async throws {
        try await APIHarness.with(environments: ["disc": tenMinutes]) { harness in
            try await harness.application.test(.router) { client in
                let owner = try await harness.player("pia")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc"}"#)
                let id = try #require(created.body["id"] as? String)
                #expect(created.body["disconnectStopAt"] != nil)
                let listed = try await client.call(.get, "/api/v1/instances/\(id)/files?path=/tmp", token: owner.token)
                #expect(listed.status == 200, "\(listed.body)")
                let attended = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                #expect(attended.body["disconnectStopAt"] == nil, "\(attended.body)")
            }
        }
    }

    @Test("the owner's terminal keeps the instance; a share link's does not")
    func terminalKeepsItShareDoesNot() async throws {
        try await APIHarness.with(environments: ["disc": tenMinutes]) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(60) {
                let owner = try await harness.player("quinn")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc"}"#)
                let id = try #require(created.body["id"] as? String)
                let url = try await TerminalTests.ticket(client, id, token: owner.token)
                try await client.ws(url, configuration: TerminalTests.configuration(origin: nil)) { inbound, _, _ in
                    var reader = TerminalReader(inbound)
                    _ = try await reader.waitForControl("ready")
                    let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                    #expect(shown.body["disconnectStopAt"] == nil, "\(shown.body)")
                    await Self.reaper(harness).sweep(now: Date() + 3600)
                    #expect(try await Self.state(harness, id).state == .running, "a connected terminal keeps the instance")
                }
                // The server notes the close when its side of the bridge ends.
                var stopAt: Date?
                for _ in 0..<100 where stopAt == nil {
                    stopAt = try await harness.services.disconnectStopAt(try await Self.state(harness, id), now: Date())
                    if stopAt == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(stopAt != nil, "closing the terminal starts the count")

                let share = try await client.call(.post, "/api/v1/instances/\(id)/shares", token: owner.token, json: #"{"access":"write"}"#)
                let secret = try #require(share.body["share"] as? String)
                let helper = try await harness.player("rosa")
                let shared = try await TerminalTests.ticket(client, id, token: helper.token, body: "{\"share\":\"\(secret)\"}")
                try await client.ws(shared, configuration: TerminalTests.configuration(origin: nil)) { inbound, _, _ in
                    var reader = TerminalReader(inbound)
                    _ = try await reader.waitForControl("ready")
                    let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token)
                    #expect(Self.date(shown.body["disconnectStopAt"]) != nil, "a share link is a spectator: \(shown.body)")
                    await Self.reaper(harness).sweep(now: Date() + 3600)
                    #expect(try await Self.state(harness, id).state == .stopped)
                }
            } }
        }
    }

    @Test("on the real engine, a 3 s setting stops an instance nobody opens and removes its container")
    func realEngine() async throws {
        let shortSetting = """
            name: Disconnect test (short)
            berth:
              command: ["sleep", "infinity"]
              lifetime: {ttl: 10m, whenDisconnected: 3s}
            """
        try await APIHarness.with(environments: ["disc-short": shortSetting], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(90) {
                let owner = try await harness.player("sven")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"disc-short"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                let containerID = try #require(try await Self.state(harness, id).containerID)
                #expect(try await harness.docker.inspectContainer(containerID).state.running)
                var shown: [String: Any] = [:]
                for _ in 0..<120 where shown["state"] as? String != "stopped" {
                    try await Task.sleep(for: .milliseconds(250))
                    shown = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token).body
                }
                #expect(shown["state"] as? String == "stopped")
                #expect((shown["reason"] as? String)?.contains("nobody was connected for 3 seconds") == true, "\(shown)")
                await #expect(throws: DockerError.self) { try await harness.docker.inspectContainer(containerID) }
            } }
        }
    }
}
