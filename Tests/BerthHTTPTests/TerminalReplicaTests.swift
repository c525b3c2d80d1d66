import BerthCore
import BerthHTTP
import BerthStore
import BerthTerminal
import BerthTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import SQLKit
import Testing

/// Two replicas (two applications built by `buildApplication`) on one SQLite database and one fake
/// engine, each live on its own port, as `berth serve` twice behind a load balancer.
@Suite("Terminals across replicas (two live servers, one database, fake engine)", .serialized, .timeLimit(.minutes(2)))
struct TerminalReplicaTests {
    /// Registers the harness's replica at `url`, or moves its heartbeat to `time` (a stale one
    /// makes it dead).
    static func heartbeat(_ harness: APIHarness, url: String, at time: Date = Date()) async throws {
        let replica = ReplicaIdentity(id: harness.services.replica.id, internalURL: url)
        try await harness.services.store.cluster.register(replica, version: "test", at: time)
    }

    /// Runs `body` while `harness` heartbeats every 250 ms, as a live replica does: on a loaded
    /// machine one write before a step could be older than the 4 s limit by the time it counts.
    static func keepingAlive(_ harness: APIHarness, url: String, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try await heartbeat(harness, url: url)
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            try await body()
            group.cancelAll()
        }
    }

    /// Runs `body` with replicas A and B live, sharing A's database and engine.
    static func withTwoReplicas(
        _ body: @escaping @Sendable (APIHarness, APIHarness, any TestClientProtocol, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment]) { first in
            let runtime = try #require(first.fake)
            let pty = try #require(first.pty)
            let database = first.directory.appendingPathComponent("berth.db").path
            try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .sharedFake(runtime, pty), policy: { $0.databaseURL = database }) { second in
                #expect(first.services.replica.id != second.services.replica.id)
                try await first.application.test(.live) { clientA in
                    try await second.application.test(.live) { clientB in
                        try await withTimeout(60) { try await body(first, second, clientA, clientB) }
                        // Ends the PTYs, so the servers stop without waiting out the reconnect window.
                        _ = await pty.exitShells(code: 0)
                    }
                }
            }
        }
    }

    @Test("a terminal reopened through replica B is proxied to A, which holds the PTY, with A's screen; once A is gone, B takes it over")
    func proxyThenTakeOver() async throws {
        try await Self.withTwoReplicas { a, b, clientA, clientB in
            let pty = try #require(a.pty)
            let urlA = "http://127.0.0.1:\(try #require(clientA.port))"
            let urlB = "http://127.0.0.1:\(try #require(clientB.port))"
            try await Self.heartbeat(a, url: urlA)
            try await Self.heartbeat(b, url: urlB)
            let (id, token) = try await TerminalTests.start(a, client: clientA, player: "alice")

            // Opened through A: A holds the PTY.
            try await clientA.ws(try await TerminalTests.ticket(clientA, id, token: token), configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                var reader = TerminalReader(inbound)
                try await reader.waitForPrompt()
                try await outbound.type("echo first-screen\n")
                try await reader.waitFor("first-screen\r\n$ ")
            }
            let holders = a.services.store.terminalHolders
            #expect(try await holders.holder(instanceID: id, terminal: "main", now: Date())?.replicaID == a.services.replica.id)

            // B learns of the running instance as every replica does (reconciliation), then a
            // client reconnects through B: it is proxied to A's PTY and sees A's screen.
            try await b.services.lifecycle.reconcile()
            try await Self.keepingAlive(a, url: urlA) {
                try await clientB.ws(try await TerminalTests.ticket(clientA, id, token: token), configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready")?["access"] as? String == "write")
                    try await reader.waitFor("first-screen")
                    try await outbound.type("echo through-b\n")
                    try await reader.waitFor("through-b\r\n$ ")
                    try await outbound.control(#"{"type":"resize","cols":101,"rows":33}"#)
                    try await outbound.type("stty size\n")
                    try await reader.waitFor("33 101")
                }
            }
            var sessions = await pty.sessions
            #expect(sessions.count == 1, "B started no PTY of its own")
            #expect(sessions.first?.commands == ["echo first-screen", "echo through-b", "stty size"], "B's input reached A's PTY")
            #expect(await b.services.terminals.count == 0)
            #expect(try await holders.holder(instanceID: id, terminal: "main", now: Date())?.replicaID == a.services.replica.id)

            // A leaves the cluster (its row and what it held are removed, as at a shutdown; A's own
            // heartbeat service keeps beating, so a stale heartbeat cannot be staged here: the
            // repository tests cover that path): the next client through B gets a PTY on B.
            try await a.services.store.cluster.remove(id: a.services.replica.id)
            try await clientB.ws(try await TerminalTests.ticket(clientA, id, token: token), configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                var reader = TerminalReader(inbound)
                try await reader.waitForPrompt()
                try await outbound.type("echo on-b\n")
                try await reader.waitFor("on-b\r\n$ ")
                #expect(!reader.text.contains("through-b"), "a fresh PTY, not A's screen")
            }
            sessions = await pty.sessions
            #expect(sessions.count == 2, "B started its own PTY")
            #expect(sessions.last?.commands == ["echo on-b"])
            #expect(await b.services.terminals.count == 1)
            #expect(try await holders.holder(instanceID: id, terminal: "main", now: Date())?.replicaID == b.services.replica.id)

            // The shell exits: B's PTY ends and B stops holding the terminal.
            _ = await pty.exitShells(code: 0)
            for _ in 0..<100 where try await holders.holder(instanceID: id, terminal: "main", now: Date()) != nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await holders.holder(instanceID: id, terminal: "main", now: Date()) == nil, "released when the PTY ended")
        }
    }

    @Test("a live holder that cannot be reached is taken over at once")
    func unreachableHolder() async throws {
        try await Self.withTwoReplicas { a, b, clientA, clientB in
            let pty = try #require(a.pty)
            try await Self.heartbeat(a, url: "http://127.0.0.1:\(try #require(clientA.port))")
            try await Self.heartbeat(b, url: "http://127.0.0.1:\(try #require(clientB.port))")
            let (id, token) = try await TerminalTests.start(a, client: clientA, player: "bob")
            try await clientA.ws(try await TerminalTests.ticket(clientA, id, token: token), configuration: TerminalTests.configuration(origin: nil)) { inbound, _, _ in
                var reader = TerminalReader(inbound)
                try await reader.waitForPrompt()
            }
            try await b.services.lifecycle.reconcile()
            // A's row says it lives, at an address where nothing listens.
            try await Self.keepingAlive(a, url: "http://127.0.0.1:1") {
                try await clientB.ws(try await TerminalTests.ticket(clientA, id, token: token), configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("echo taken\n")
                    try await reader.waitFor("taken\r\n$ ")
                }
            }
            #expect(await pty.sessions.count == 2)
            #expect(try await a.services.store.terminalHolders.holder(instanceID: id, terminal: "main", now: Date())?.replicaID == b.services.replica.id)
        }
    }

    @Test("the internal route opens only with a valid grant: none, forged, expired or for another instance is 403 replica_grant_invalid")
    func internalRouteRefusals() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment]) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(30) {
                let port = try #require(client.port)
                let (id, _) = try await TerminalTests.start(harness, client: client, player: "carol")
                let path = "/internal/v1/instances/\(id)/terminal?terminal=main"
                let secret = try await harness.services.store.cluster.proxySecret()
                let grant = TerminalGrant(instanceID: id, userID: "usr_x", access: .write, terminal: "main", countsAsPresence: false)
                let other = TerminalGrant(instanceID: "inst_other", userID: "usr_x", access: .write, terminal: "main")
                let cases: [(String, [String])] = [
                    ("no grant", []),
                    ("forged", ["Berth-Replica-Grant: " + (try ReplicaGrant.seal(grant, secret: "not-the-cluster-secret", now: Date()))]),
                    ("expired", ["Berth-Replica-Grant: " + (try ReplicaGrant.seal(grant, secret: secret, now: Date().addingTimeInterval(-ReplicaGrant.lifetimeSeconds - 1)))]),
                    ("other instance", ["Berth-Replica-Grant: " + (try ReplicaGrant.seal(other, secret: secret, now: Date()))]),
                ]
                for (name, headers) in cases {
                    let answer = try await RawUpgrade.send(port: port, path: path, origin: nil, headers: headers)
                    #expect(answer.status == 403, "\(name): \(answer.head)")
                    #expect(answer.code == "replica_grant_invalid", "\(name)")
                }
                // A valid grant opens the terminal, whatever the Origin (server to server).
                var configuration = TerminalTests.configuration(origin: "http://evil.example")
                configuration.additionalHeaders[HTTPField.Name("Berth-Replica-Grant")!] = try ReplicaGrant.seal(grant, secret: secret, now: Date())
                try await client.ws(path, configuration: configuration) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready")?["access"] as? String == "write")
                    try await outbound.close(.normalClosure, reason: nil)
                }
                // Not part of the API: a plain GET without an upgrade is still 426.
                let plain = try await RawUpgrade.send(port: port, path: path, origin: nil, upgrade: false)
                #expect(plain.status == 426)
                _ = await harness.pty?.exitShells(code: 0)
            } }
        }
    }
}
