import BerthCore
import BerthTerminal
import BerthTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import NIOCore
import Testing
import WSClient

/// What only a fake engine can stage on demand: an engine that goes away, a container that dies
/// on cue, and output bytes a real shell would not print, through the whole server.
@Suite("The server over the fake engine (no Docker)", .timeLimit(.minutes(1)))
struct FakeEngineAPITests {
    static let plain = """
        name: Plain
        berth:
          command: ["sleep", "infinity"]
          resources: {memory: 64m}
        """

    @Test("the engine goes down: /readyz and a start answer 503 engine_unavailable, the request is failed, and starts work again once it is back")
    func engineDown() async throws {
        try await APIHarness.with(environments: ["plain": Self.plain]) { harness in
            let fake = try #require(harness.fake)
            let alice = try await harness.player("alice")
            try await harness.application.test(.router) { client in
                #expect(try await client.call(.get, "/readyz").status == 200)
                await fake.setMode(.down)
                let ready = try await client.call(.get, "/readyz")
                #expect(ready.status == 503 && errorCode(ready.body) == "engine_unavailable", "\(ready.body)")
                let refused = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"plain"}"#)
                #expect(refused.status == 503 && errorCode(refused.body) == "engine_unavailable", "\(refused.body)")
                let listed = try await client.call(.get, "/api/v1/instances", token: alice.token)
                #expect((listed.body["items"] as? [[String: Any]])?.map { $0["state"] as? String } == ["failed"])

                await fake.setMode(.up)
                let started = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"plain"}"#)
                #expect(started.status == 201, "\(started.body)")
                #expect(await fake.containers.filter(\.running).count == 1)
            }
        }
    }

    @Test("a container killed for memory ends its instance in plain words that name the limit")
    func containerKilled() async throws {
        try await APIHarness.with(environments: ["plain": Self.plain]) { harness in
            let fake = try #require(harness.fake)
            let alice = try await harness.player("alice")
            try await harness.application.test(.live) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"plain"}"#)
                let id = try #require(created.body["id"] as? String)
                // The server's exit watcher must be listening before the container dies.
                for _ in 0..<200 where await fake.watcherCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(await fake.exit(instanceID: id, code: 137, oomKilled: true))
                var seen: [String: Any] = [:]
                for _ in 0..<200 where seen["state"] as? String != "failed" {
                    try await Task.sleep(for: .milliseconds(25))
                    seen = try await client.call(.get, "/api/v1/instances/\(id)", token: alice.token).body
                }
                #expect(seen["reason"] as? String == "your environment ran out of memory (limit 64 MiB); press Start for a fresh one", "\(seen)")
                #expect(await fake.container(ofInstance: id) == nil, "the dead container is removed")
            }
        }
    }

    @Test("a terminal on the fake PTY: typed input runs, a resize reaches the PTY, hostile output bytes arrive unchanged, and the shell's exit code is reported")
    func terminalOverWebSocket() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment]) { harness in
            let pty = try #require(harness.pty)
            try await harness.application.test(.live) { client in
                let (id, token) = try await TerminalTests.start(harness, client: client, player: "alice")
                let url = try await TerminalTests.ticket(client, id, token: token)
                try await client.ws(url, configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready")?["access"] as? String == "write")
                    try await reader.waitForPrompt()
                    try await outbound.type("echo hello\n")
                    try await reader.waitFor("hello\r\n$ ")
                    try await outbound.control(#"{"type":"resize","cols":100,"rows":40}"#)
                    try await outbound.type("stty size\n")
                    try await reader.waitFor("40 100")

                    // An OSC title with a bare BEL, an invalid UTF-8 byte and a NUL: passed on as they are.
                    let hostile: [UInt8] = [0x1b, 0x5d, 0x30, 0x3b, 0x3c, 0x69, 0x6d, 0x67, 0x3e, 0x07, 0xff, 0x00, 0x1b, 0x5b, 0x36, 0x6e]
                    #expect(await pty.emit(hostile) == 1)
                    while TerminalReader.find(hostile, in: reader.output, from: 0) == nil {
                        guard try await reader.readOne() else { break }
                    }
                    #expect(TerminalReader.find(hostile, in: reader.output, from: 0) != nil, "output bytes reach the browser unchanged")

                    try await outbound.type("exit 5\n")
                    let exited = try await reader.waitForControl("exited")
                    #expect(exited?["code"] as? Int == 5)
                }
                let session = try #require(await pty.sessions.first)
                #expect(session.resizes.contains(TerminalSize(cols: 100, rows: 40)))
                #expect(session.commands == ["echo hello", "stty size", "exit 5"])
                #expect(session.terminal.user == "1000:1000", "the environment's terminal user reaches the PTY")
            }
        }
    }
}
