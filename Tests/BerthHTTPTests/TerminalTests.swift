import BerthCore
import BerthHTTP
import BerthTerminal
import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import NIOCore
import Testing
import WSClient

/// A shell environment for terminal tests.
let shellEnvironment = """
    name: Terminal test shell
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      resources: {memory: 64m, cpus: 1, pids: 64}
      readOnlyRoot: true
      writable: [/tmp]
    """

/// Reads a terminal WebSocket: output text and control messages, until a condition holds. Each
/// wait looks only at output after what the previous wait matched, as a person reading on would.
struct TerminalReader {
    var iterator: WebSocketInboundMessageStream.AsyncIterator
    var output: [UInt8] = []
    var searchFrom = 0
    var controls: [[String: Any]] = []
    var binaryBytes = 0

    init(_ inbound: WebSocketInboundStream) {
        iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
    }

    /// All output so far, as text.
    var text: String { String(decoding: output, as: UTF8.self) }

    /// Reads until the output after the previous match contains `needle`.
    mutating func waitFor(_ needle: String) async throws {
        let wanted = Array(needle.utf8)
        while true {
            if let range = Self.find(wanted, in: output, from: searchFrom) {
                searchFrom = range
                return
            }
            let more: Bool
            do {
                more = try await readOne()
            } catch {
                Issue.record("waiting for '\(needle)' failed (\(error)); output so far: \(text.suffix(500)); controls: \(controls)")
                throw error
            }
            guard more else {
                Issue.record("stream ended before '\(needle)' appeared; output so far: \(text.suffix(500))")
                return
            }
        }
    }

    /// Reads until the shell shows a new prompt: busybox ash asks for the cursor position first and
    /// drops what is typed before it gives up waiting for the answer.
    mutating func waitForPrompt() async throws {
        try await waitFor("$ ")
    }

    /// Reads until a control message of `type` arrives and returns it.
    mutating func waitForControl(_ type: String) async throws -> [String: Any]? {
        var seen = controls.count
        while true {
            if let found = controls[seen...].first(where: { $0["type"] as? String == type }) { return found }
            seen = controls.count
            guard try await readOne() else { return nil }
        }
    }

    /// Reads one message; false at the end of the stream.
    mutating func readOne() async throws -> Bool {
        guard let message = try await iterator.next() else { return false }
        switch message {
        case .binary(let buffer):
            binaryBytes += buffer.readableBytes
            output += buffer.readableBytesView
            if output.count > 400_000 {
                let drop = output.count - 200_000
                output.removeFirst(drop)
                searchFrom = max(0, searchFrom - drop)
            }
        case .text(let json):
            if let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] { controls.append(object) }
        }
        return true
    }

    /// The end index of the first occurrence of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index + needle.count
        }
        return nil
    }
}

extension WebSocketOutboundWriter {
    func type(_ text: String) async throws {
        try await write(.binary(ByteBuffer(string: text)))
    }

    func control(_ json: String) async throws {
        try await write(.text(json))
    }
}

@Suite("Browser terminal over the WebSocket (live server, real engine)", .serialized, .timeLimit(.minutes(3)))
struct TerminalTests {
    /// Starts an instance for a new player and returns its id with the player's token.
    static func start(_ harness: APIHarness, client: some TestClientProtocol, player: String) async throws -> (id: String, token: String) {
        let owner = try await harness.player(player)
        let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"term-shell"}"#)
        #expect(created.status == 201, "\(created.body)")
        return (try #require(created.body["id"] as? String), owner.token)
    }

    static func ticket(_ client: some TestClientProtocol, _ id: String, token: String, body: String = "{}") async throws -> String {
        let answer = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", token: token, json: body)
        #expect(answer.status == 201, "\(answer.body)")
        return try #require(answer.body["url"] as? String)
    }

    static func configuration(origin: String?) -> WebSocketClientConfiguration {
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        return WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
    }

    @Test("typed commands echo, a resize reaches the PTY, and Ctrl-P/Ctrl-Q do not detach")
    func echoAndResize() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "alice")
                let url = try await Self.ticket(client, id, token: token)
                let origin = "http://localhost:\(client.port ?? 0)"
                try await client.ws(url, configuration: Self.configuration(origin: origin)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    let ready = try await reader.waitForControl("ready")
                    #expect(ready?["access"] as? String == "write")
                    try await reader.waitForPrompt()
                    try await outbound.type("echo hel''lo\n")
                    try await reader.waitFor("hello")
                    try await outbound.control(#"{"type":"resize","cols":100,"rows":40}"#)
                    try await outbound.type("stty size\n")
                    try await reader.waitFor("40 100")
                    try await reader.waitForPrompt()
                    // Ctrl-P is ash's "previous command": it must reach the shell, not detach.
                    try await outbound.type("\u{10}\u{11}")
                    try await reader.waitFor("stty size")
                    try await outbound.type("\u{15}echo still''-here\n")
                    try await reader.waitFor("still-here")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("a returning client gets the recent screen back and the same shell")
    func reconnect() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "bob")
                let config = Self.configuration(origin: nil)
                let first = try await Self.ticket(client, id, token: token)
                try await client.ws(first, configuration: config) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("echo pid=$$ mark''-4711\n")
                    try await reader.waitFor("mark-4711")
                    try await outbound.close(.normalClosure, reason: nil)
                }
                let second = try await Self.ticket(client, id, token: token)
                try await client.ws(second, configuration: config) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    let ready = try await reader.waitForControl("ready")
                    #expect((ready?["replayBytes"] as? Int ?? 0) > 0)
                    try await reader.waitFor("mark-4711")
                    let before = reader.text.components(separatedBy: "pid=").last?.prefix { $0.isNumber } ?? ""
                    #expect(!before.isEmpty)
                    try await reader.waitForPrompt()
                    try await outbound.type("echo again=$$\n")
                    try await reader.waitFor("again=\(before)")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("tickets are single-use, foreign origins are refused, and other players get no ticket")
    func ticketsAndOrigins() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "carol")
                let url = try await Self.ticket(client, id, token: token)
                let foreign = Self.configuration(origin: "http://evil.example")
                await #expect(throws: (any Error).self) {
                    try await client.ws(url, configuration: foreign) { _, _, _ in }
                }
                // The refused origin did not use up the ticket.
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready") != nil)
                    try await outbound.close(.normalClosure, reason: nil)
                }
                await #expect(throws: (any Error).self) {
                    try await client.ws(url, configuration: Self.configuration(origin: nil)) { _, _, _ in }
                }
                await #expect(throws: (any Error).self) {
                    try await client.ws("/api/v1/instances/\(id)/terminal?ticket=forged", configuration: Self.configuration(origin: nil)) { _, _, _ in }
                }
                let mallory = try await harness.player("mallory")
                let refused = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", token: mallory.token, json: "{}")
                #expect(refused.status == 404)
                #expect(errorCode(refused.body) == "instance_not_found")
                let forgedShare = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", token: mallory.token, json: #"{"share":"shr_nope"}"#)
                #expect(forgedShare.status == 403)
                let noToken = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", json: "{}")
                #expect(noToken.status == 401)
            } }
        }
    }

    @Test("refused upgrades are HTTP answers with status and error envelope: 401 and 403 before any upgrade, 426 without upgrade headers")
    func refusals() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(30) {
                let (id, token) = try await Self.start(harness, client: client, player: "rhea")
                let port = try #require(client.port)
                let own = "http://localhost:\(port)"
                let url = try await Self.ticket(client, id, token: token)

                let foreign = try await RawUpgrade.send(port: port, path: url, origin: "http://evil.example")
                #expect(foreign.status == 403, "\(foreign.head)")
                #expect(foreign.code == "origin_not_allowed")
                #expect(foreign.contentType?.hasPrefix("application/json") == true)

                let otherTerminal = url.replacingOccurrences(of: "terminal=main", with: "terminal=build")
                let wrongTerminal = try await RawUpgrade.send(port: port, path: otherTerminal, origin: own)
                #expect(wrongTerminal.status == 403, "\(wrongTerminal.head)")
                #expect(wrongTerminal.code == "ticket_wrong_terminal")

                let noTicket = try await RawUpgrade.send(port: port, path: "/api/v1/instances/\(id)/terminal", origin: own)
                #expect(noTicket.status == 401, "\(noTicket.head)")
                #expect(noTicket.code == "ticket_required")

                // None of the refusals used the ticket up: it opens the terminal once.
                try await client.ws(url, configuration: Self.configuration(origin: own)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready") != nil)
                    try await outbound.close(.normalClosure, reason: nil)
                }
                let used = try await RawUpgrade.send(port: port, path: url, origin: own)
                #expect(used.status == 401, "\(used.head)")
                #expect(used.code == "ticket_invalid")
                #expect(used.message?.contains("already used") == true)

                let fresh = try await Self.ticket(client, id, token: token)
                let plain = try await RawUpgrade.send(port: port, path: fresh, origin: own, upgrade: false)
                #expect(plain.status == 426, "\(plain.head)")
                #expect(plain.code == "websocket_required")
            } }
        }
    }

    @Test("a resize sent as the first message of a new terminal reaches the shell")
    func firstResize() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(30) {
                let (id, token) = try await Self.start(harness, client: client, player: "fiona")
                // A new tab: its own PTY, started by this connection, with no size in the URL.
                let url = try await Self.ticket(client, id, token: token, body: #"{"terminal":"tab2"}"#)
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    try await outbound.control(#"{"type":"resize","cols":132,"rows":43}"#)
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("stty size\n")
                    try await reader.waitFor("43 132")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("a client that joins a terminal already warned this minute is told at once that the instance expires")
    func expiringOnJoin() async throws {
        let shortLived = shellEnvironment + "\n  lifetime: {ttl: 2m}\n"
        try await APIHarness.with(environments: ["term-shell": shortLived], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(30) {
                let (id, token) = try await Self.start(harness, client: client, player: "greta")
                // The first client: the hub's minute warning reaches it within its sweep.
                let first = try await Self.ticket(client, id, token: token)
                try await client.ws(first, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("sleep 2; echo warned''-yet\n")
                    try await reader.waitFor("warned-yet")
                    #expect(reader.controls.contains { $0["type"] as? String == "expiring" }, "\(reader.controls)")
                    try await outbound.close(.normalClosure, reason: nil)
                }
                // A second client in the same minute: the hub will not warn again before the next one.
                let second = try await Self.ticket(client, id, token: token)
                try await client.ws(second, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    // Anything after the replay comes after the warning sent on joining.
                    try await outbound.type("echo joined''-ok\n")
                    try await reader.waitFor("joined-ok")
                    let warning = reader.controls.first { $0["type"] as? String == "expiring" }
                    let secondsLeft = try #require(warning?["secondsLeft"] as? Int, "no expiring message on joining: \(reader.controls)")
                    #expect(secondsLeft > 60 && secondsLeft <= 120)
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("1 MiB sent in 16 KiB frames, faster than the input rate, reaches the shell intact")
    func pasteOneMiB() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(90) {
                let (id, token) = try await Self.start(harness, client: client, player: "pablo")
                let url = try await Self.ticket(client, id, token: token)
                // Lines of base64-like text: no byte the line discipline would act on.
                let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
                var generated: [UInt8] = []
                generated.reserveCapacity(1 << 20)
                var seed: UInt32 = 2_463_534_242
                while generated.count < 1 << 20 {
                    seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
                    generated.append(generated.count % 77 == 76 ? 0x0A : alphabet[Int(seed % 64)])
                }
                let payload = generated
                let digest = Secrets.sha256Hex(String(decoding: payload, as: UTF8.self))
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("stty -echo -icanon; echo go''-paste; head -c \(payload.count) > /tmp/p; stty sane; wc -c < /tmp/p; sha256sum /tmp/p; echo done''-paste\n")
                    try await reader.waitFor("go-paste")
                    let started = ContinuousClock.now
                    var offset = 0
                    while offset < payload.count {
                        let end = min(payload.count, offset + 16 * 1024)
                        try await outbound.write(.binary(ByteBuffer(bytes: payload[offset..<end])))
                        offset = end
                    }
                    try await reader.waitFor("done-paste")
                    let elapsed = ContinuousClock.now - started
                    let lines = reader.text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    #expect(lines.contains("\(payload.count)"), "wc -c: \(reader.text.suffix(300))")
                    #expect(lines.contains { $0.hasPrefix(digest) }, "sha256sum: \(reader.text.suffix(300))")
                    #expect(!reader.controls.contains { $0["type"] as? String == "notice" }, "\(reader.controls)")
                    print("terminal paste: \(payload.count) bytes in 16 KiB frames reached the shell intact in \(elapsed)")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("a writer with flow control that stops acknowledging during `yes` skips ahead; once it acknowledges, it gets resync, then the prompt after Ctrl-C")
    func floodSkipsAhead() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(60) {
                let (id, token) = try await Self.start(harness, client: client, player: "yara")
                let url = try await Self.ticket(client, id, token: token)
                let window = 64 * 1024
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await outbound.control(#"{"type":"flow","window":\#(window)}"#)
                    try await reader.waitForPrompt()
                    // Acknowledge what arrived so far, as the page would have.
                    try await outbound.control(#"{"type":"ack","bytes":\#(reader.binaryBytes)}"#)
                    try await outbound.type("yes\n")
                    // Neither read nor acknowledge for 2 s: the server stops at the window and skips.
                    try await Task.sleep(for: .seconds(2))
                    try await outbound.type("\u{03}")
                    // Read on, acknowledging what arrives (as the page does once xterm parsed it),
                    // until the resync and then the prompt after it.
                    var resync: [String: Any]?
                    var resyncAt = 0
                    let deadline = ContinuousClock.now + .seconds(20)
                    while ContinuousClock.now < deadline {
                        let bytesBefore = reader.binaryBytes
                        let controlsBefore = reader.controls.count
                        guard try await reader.readOne() else { break }
                        let arrived = reader.binaryBytes - bytesBefore
                        if arrived > 0 { try await outbound.control(#"{"type":"ack","bytes":\#(arrived)}"#) }
                        if resync == nil, let found = reader.controls[controlsBefore...].first(where: { $0["type"] as? String == "resync" }) {
                            resync = found
                            resyncAt = reader.output.count
                        }
                        if resync != nil, TerminalReader.find(Array("$ ".utf8), in: reader.output, from: resyncAt) != nil { break }
                    }
                    let found = try #require(resync, "no resync; controls: \(reader.controls.suffix(5)); bytes \(reader.binaryBytes); output: \(reader.text.suffix(200))")
                    #expect(TerminalReader.find(Array("$ ".utf8), in: reader.output, from: resyncAt) != nil, "no prompt after resync: \(reader.text.suffix(200)); controls: \(reader.controls.suffix(5))")
                    #expect((found["skippedBytes"] as? Int ?? 0) > 0, "\(found)")
                    #expect((found["replayBytes"] as? Int ?? 0) <= harness.services.terminalSettings.resyncReplayBytes)
                    reader.searchFrom = reader.output.count
                    try await outbound.type("echo after''-flood\n")
                    try await reader.waitFor("after-flood")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("an admin watches read-only: sees the owner's output, and its own input is ignored")
    func spectator() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "dave")
                let config = Self.configuration(origin: nil)
                let ownerURL = try await Self.ticket(client, id, token: token)
                let adminURL = try await Self.ticket(client, id, token: APIHarness.adminToken)
                try await client.ws(ownerURL, configuration: config) { ownerInbound, ownerOutbound, _ in
                    var owner = TerminalReader(ownerInbound)
                    _ = try await owner.waitForControl("ready")
                    try await owner.waitForPrompt()
                    try await client.ws(adminURL, configuration: config) { inbound, outbound, _ in
                        var admin = TerminalReader(inbound)
                        let ready = try await admin.waitForControl("ready")
                        #expect(ready?["access"] as? String == "read")
                        try await outbound.type("touch /tmp/spectator-wrote\n")
                        try await outbound.control(#"{"type":"resize","cols":33,"rows":11}"#)
                        #expect(try await admin.waitForControl("readonly") != nil)
                        try await ownerOutbound.type("echo from''-owner\n")
                        try await admin.waitFor("from-owner")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    try await owner.waitForPrompt()
                    try await ownerOutbound.type("ls /tmp; stty size; echo done''-listing\n")
                    try await owner.waitFor("done-listing")
                    #expect(!owner.text.contains("spectator-wrote"))
                    #expect(!owner.text.contains("11 33"))
                    try await ownerOutbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("a share link lets a teammate co-drive the terminal")
    func shareLink() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "erin")
                let mate = try await harness.player("frank")
                let share = try await client.call(.post, "/api/v1/instances/\(id)/shares", token: token, json: #"{"access":"write"}"#)
                #expect(share.status == 201)
                let secret = try #require(share.body["share"] as? String)
                let notOwner = try await client.call(.post, "/api/v1/instances/\(id)/shares", token: mate.token, json: #"{"access":"write"}"#)
                #expect(notOwner.status == 404)
                let url = try await Self.ticket(client, id, token: mate.token, body: "{\"share\":\"\(secret)\"}")
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    let ready = try await reader.waitForControl("ready")
                    #expect(ready?["access"] as? String == "write")
                    try await reader.waitForPrompt()
                    try await outbound.type("echo co''-driver\n")
                    try await reader.waitFor("co-driver")
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("a ticket asked for without a body opens the main terminal, which is then listed; bad names and share access are 422")
    func ticketWithoutBody() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment]) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "gina")
                let ticket = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", token: token)
                #expect(ticket.status == 201, "\(ticket.body)")
                #expect(ticket.body["terminal"] as? String == "main")
                #expect(ticket.body["access"] as? String == "write")
                let url = try #require(ticket.body["url"] as? String)
                #expect(url.hasPrefix("/api/v1/instances/\(id)/terminal?ticket="))
                let badName = try await client.call(.post, "/api/v1/instances/\(id)/terminal/ticket", token: token, json: #"{"terminal":"Main Tab"}"#)
                #expect(badName.status == 422)
                #expect(errorCode(badName.body) == "invalid_terminal")
                let badAccess = try await client.call(.post, "/api/v1/instances/\(id)/shares", token: token, json: #"{"access":"admin"}"#)
                #expect(badAccess.status == 422)
                #expect(errorCode(badAccess.body) == "invalid_access")
                let none = try await client.call(.get, "/api/v1/instances/\(id)/terminals", token: token)
                #expect(none.status == 200)
                #expect((none.body["items"] as? [String]) == [])
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    #expect(try await reader.waitForControl("ready") != nil)
                    let live = try await client.call(.get, "/api/v1/instances/\(id)/terminals", token: token)
                    #expect((live.body["items"] as? [String]) == ["main"])
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }

    @Test("10 s of `yes` keeps the terminal's buffers within the bound, also for a client that stops reading")
    func runawayProducer() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(20) {
                let (id, token) = try await Self.start(harness, client: client, player: "gina")
                let url = try await Self.ticket(client, id, token: token)
                let baseline = residentBytes()
                let peak = PeakMeter(baseline)
                try await client.ws(url, configuration: Self.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    _ = try await reader.waitForControl("ready")
                    try await reader.waitForPrompt()
                    try await outbound.type("yes\n")
                    let end = ContinuousClock.now + .seconds(10)
                    var stalled = false
                    while ContinuousClock.now < end {
                        _ = try await reader.readOne()
                        if reader.binaryBytes > 4 << 20 && !stalled {
                            // Stop reading for 3 s: Berth must pause the PTY, not buffer.
                            stalled = true
                            try await Task.sleep(for: .seconds(3))
                        }
                        await peak.record(residentBytes())
                    }
                    #expect(reader.binaryBytes > 1 << 20)
                    try await outbound.type("\u{03}")
                    try await outbound.close(.normalClosure, reason: nil)
                }
                let session = try #require(await harness.services.terminals.existingSession(instanceID: id, name: "main"))
                let settings = harness.services.terminalSettings
                let peakQueued = await session.peakQueuedBytes
                let screen = await session.screenBytes
                #expect(screen <= settings.screenBufferBytes)
                // One client: its queue limit plus the chunk that crossed it.
                #expect(peakQueued <= settings.clientQueueBytes + 256 * 1024, "peak queued \(peakQueued)")
                // Unbounded buffering of `yes` would grow by hundreds of MiB in 10 s.
                let grown = await peak.value - baseline
                #expect(grown < 96 << 20, "RSS grew by \(grown >> 20) MiB")
            } }
        }
    }
}

/// A WebSocket upgrade request on a new connection, by hand, so a test sees the status, headers
/// and body of a refusal (WebSocket clients only report that the upgrade failed).
enum RawUpgrade {
    struct Answer {
        var head: String
        var body: [String: Any]
        var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }
        var code: String? { errorCode(body) }
        var message: String? { (body["error"] as? [String: Any])?["message"] as? String }
        var contentType: String? {
            head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-type:") }
                .map { $0.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces) }
        }
    }

    static func send(port: Int, path: String, origin: String?, upgrade: Bool = true, headers: [String] = []) async throws -> Answer {
        var request = "GET \(path) HTTP/1.1\r\nHost: localhost:\(port)\r\n"
        if upgrade {
            request += "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        } else {
            request += "Connection: close\r\n"
        }
        if let origin { request += "Origin: \(origin)\r\n" }
        for header in headers { request += header + "\r\n" }
        request += "\r\n"
        let bytes = try await Task.detached { try exchange(port: port, request: request) }.value
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        return Answer(head: head, body: object)
    }

    /// Sends `request` to 127.0.0.1:`port` and reads until the server closes (at most 10 s).
    static func exchange(port: Int, request: String) throws -> [UInt8] {
        struct SocketError: Error { let step: String }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(step: "socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketError(step: "connect") }
        let out = Array(request.utf8)
        guard out.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == out.count else { throw SocketError(step: "write") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return answer
    }
}

/// Runs `body`, failing with a timeout when it takes longer than `seconds`.
func withTimeout(_ seconds: Int, _ body: @escaping @Sendable () async throws -> Void) async throws {
    struct TimedOut: Error, CustomStringConvertible {
        let seconds: Int
        var description: String { "timed out after \(seconds) s" }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(seconds: seconds)
        }
        try await group.next()
        group.cancelAll()
    }
}

/// The largest value recorded.
actor PeakMeter {
    private(set) var value: Int

    init(_ start: Int) {
        value = start
    }

    func record(_ sample: Int) {
        value = max(value, sample)
    }
}

@Suite("Terminal recordings (live server, real engine)", .serialized, .timeLimit(.minutes(3)))
struct RecordingTests {
    @Test("a session is recorded as asciicast with input, output, resizes and markers; it verifies, and one edited byte fails")
    func recordAndVerify() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(60) {
                let (id, token) = try await TerminalTests.start(harness, client: client, player: "rita")
                let url = try await TerminalTests.ticket(client, id, token: token)
                try await client.ws(url, configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.control(#"{"type":"resize","cols":90,"rows":30}"#)
                    try await outbound.type("echo 'héllo wörld ✓ 你好'\n")
                    try await reader.waitFor("你好")
                    try await outbound.close(.normalClosure, reason: nil)
                }
                let stopped = try await client.call(.delete, "/api/v1/instances/\(id)", token: token)
                #expect(stopped.status == 200)
                // The hub closes the terminal of a stopped instance within a second or two.
                var record: [String: Any]?
                for _ in 0..<40 {
                    let list = try await client.call(.get, "/api/v1/recordings?instance=\(id)", token: APIHarness.adminToken)
                    if let first = (list.body["items"] as? [[String: Any]])?.first, first["endedAt"] != nil {
                        record = first
                        break
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
                let recording = try #require(record, "the recording of \(id) was not closed")
                let recordingID = try #require(recording["id"] as? String)
                let notAdmin = try await client.call(.get, "/api/v1/recordings/\(recordingID)/verify", token: token)
                #expect(notAdmin.status == 403)
                let verified = try await client.call(.get, "/api/v1/recordings/\(recordingID)/verify", token: APIHarness.adminToken)
                #expect(verified.body["valid"] as? Bool == true, "\(verified.body)")
                #expect(verified.body["finalized"] as? Bool == true)

                let stored = try #require(try await harness.services.store.recordings.recording(id: recordingID))
                let castURL = harness.services.recordings.castURL(stored)
                let cast = try String(contentsOf: castURL, encoding: .utf8)
                let lines = cast.split(separator: "\n")
                let header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
                #expect(header["version"] as? Int == 2)
                var kinds: Set<String> = []
                var output = ""
                for line in lines.dropFirst() {
                    let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any])
                    let kind = try #require(event[1] as? String)
                    kinds.insert(kind)
                    if kind == "o" { output += event[2] as? String ?? "" }
                    if kind == "r" { #expect(event[2] as? String == "90x30") }
                }
                #expect(kinds == ["o", "i", "r", "m"])
                #expect(output.contains("héllo wörld ✓ 你好"))
                let attributes = try FileManager.default.attributesOfItem(atPath: castURL.path)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

                if ProcessInfo.processInfo.environment["BERTH_ASCIINEMA_CHECK"] == "1" {
                    let player = Process()
                    // asciinema opens /dev/tty, so give it one with script(1).
                    player.executableURL = URL(fileURLWithPath: "/usr/bin/script")
                    player.arguments = ["-qec", "asciinema cat '\(castURL.path)'", "/dev/null"]
                    player.standardOutput = FileHandle.nullDevice
                    try player.run()
                    player.waitUntilExit()
                    #expect(player.terminationStatus == 0, "asciinema cat refused \(castURL.path)")
                }

                // Edit one byte of the output: verification must fail.
                var bytes = try Data(contentsOf: castURL)
                let target = try #require(bytes.lastIndex(of: UInt8(ascii: "h")))
                bytes[target] = UInt8(ascii: "H")
                try bytes.write(to: castURL)
                let tampered = try await client.call(.get, "/api/v1/recordings/\(recordingID)/verify", token: APIHarness.adminToken)
                #expect(tampered.body["valid"] as? Bool == false)
                #expect((tampered.body["problems"] as? [String])?.isEmpty == false)

                let download = try await client.call(.get, "/api/v1/recordings/\(recordingID)/cast", token: APIHarness.adminToken)
                #expect(download.status == 200)
                let key = try await client.call(.get, "/api/v1/recordings/public-key", token: token)
                #expect((key.body["publicKey"] as? String)?.isEmpty == false)
            } }
        }
    }
}

@Suite("Idle instances and finishing shells (live server; real engine for the shell)", .timeLimit(.minutes(2)))
struct IdleTests {
    @Test("with terminal.onExit: stop, exiting the shell sends `exited` and stops the instance")
    func exitStopsInstance() async throws {
        let finishEnvironment = """
            name: Interview finish
            berth:
              command: ["sleep", "infinity"]
              terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp, onExit: stop}
            """
        try await APIHarness.with(environments: ["term-finish": finishEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(60) {
                let owner = try await harness.player("olga")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"term-finish"}"#)
                let id = try #require(created.body["id"] as? String)
                let url = try await TerminalTests.ticket(client, id, token: owner.token)
                try await client.ws(url, configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("exit 7\n")
                    let exited = try await reader.waitForControl("exited")
                    #expect(exited?["code"] as? Int == 7)
                }
                var state = ""
                for _ in 0..<40 where state != "stopped" {
                    try await Task.sleep(for: .milliseconds(250))
                    state = try await client.call(.get, "/api/v1/instances/\(id)", token: owner.token).body["state"] as? String ?? ""
                }
                #expect(state == "stopped")
            } }
        }
    }
}
