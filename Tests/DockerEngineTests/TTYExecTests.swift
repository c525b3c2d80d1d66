import BerthTestSupport
import DockerEngine
import Foundation
import NIOCore
import Testing

// MARK: - Handshake parser (pure, no I/O)

@Suite("TTYExec handshake parser")
struct TTYExecHandshakeParserTests {
    private static let upgraded =
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("a head split across chunks, one byte at a time, completes only at the blank line")
    func splitHead() throws {
        var parser = ExecHandshakeParser()
        let head = Self.bytes(Self.upgraded)
        for byte in head.dropLast() {
            #expect(try parser.feed([UInt8]([byte])) == nil)
        }
        let outcome = try parser.feed([UInt8]([head[head.count - 1]]))
        guard case .stream(let parsed, let leftover)? = outcome else {
            Issue.record("expected a stream, got \(String(describing: outcome))")
            return
        }
        #expect(parsed.status == 101)
        #expect(parsed.reason == "UPGRADED")
        #expect(parsed.header("Content-Type") == "application/vnd.docker.raw-stream")
        #expect(parsed.header("upgrade") == "tcp")
        #expect(leftover.isEmpty)
        #expect(try parser.feed(Self.bytes("more")) == nil, "bytes after the outcome are not the parser's business")
    }

    @Test("a head split right inside the CRLFCRLF terminator")
    func splitTerminator() throws {
        var parser = ExecHandshakeParser()
        let text = Self.upgraded + "$ "
        let cut = text.utf8.count - 4
        #expect(try parser.feed(Array(text.utf8.prefix(cut))) == nil)
        let outcome = try parser.feed(Array(text.utf8.dropFirst(cut)))
        #expect(outcome == .stream(ExecHandshakeHead(status: 101, reason: "UPGRADED", headers: [
            "content-type": "application/vnd.docker.raw-stream", "connection": "Upgrade", "upgrade": "tcp",
        ]), leftover: Self.bytes("$ ")))
    }

    @Test("101 with trailing PTY bytes in the same chunk hands them on untouched")
    func upgradedWithTrailingBytes() throws {
        var parser = ExecHandshakeParser()
        let trailing: [UInt8] = [0x1b, 0x5b, 0x3f, 0x32, 0x30, 0x30, 0x34, 0x68, 0x2f, 0x20, 0x23, 0x20, 0x00, 0x0d, 0x0a]
        let outcome = try parser.feed(ByteBuffer(bytes: Self.bytes(Self.upgraded) + trailing))
        guard case .stream(let head, let leftover)? = outcome else {
            Issue.record("expected a stream, got \(String(describing: outcome))")
            return
        }
        #expect(head.isRawStream)
        #expect(leftover == trailing)
    }

    @Test("200 from an engine that does not upgrade is a raw stream too")
    func okIsStream() throws {
        var parser = ExecHandshakeParser()
        let outcome = try parser.feed(Self.bytes("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nhi"))
        guard case .stream(let head, let leftover)? = outcome else {
            Issue.record("expected a stream, got \(String(describing: outcome))")
            return
        }
        #expect(head.status == 200)
        #expect(leftover == Self.bytes("hi"))
    }

    @Test("404 with a JSON body framed by Content-Length, split across chunks")
    func notFoundWithJSON() throws {
        let json = #"{"message":"No such exec instance: deadbeef"}"# + "\n"
        let response = "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n" + json
        var parser = ExecHandshakeParser()
        let all = Self.bytes(response)
        var outcome: ExecHandshakeOutcome?
        var offset = 0
        while offset < all.count, outcome == nil {
            let end = min(offset + 7, all.count)
            outcome = try parser.feed(all[offset..<end])
            offset = end
        }
        #expect(offset == all.count, "the outcome must wait for the whole body")
        guard case .rejected(let head, let body)? = outcome else {
            Issue.record("expected a rejection, got \(String(describing: outcome))")
            return
        }
        #expect(head.status == 404)
        #expect(head.reason == "Not Found")
        #expect(String(decoding: body, as: UTF8.self) == json)
    }

    @Test("an error body in chunked encoding is decoded")
    func chunkedError() throws {
        var parser = ExecHandshakeParser()
        let head = "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(try parser.feed(Self.bytes(head + "b\r\n{\"message\":")) == nil)
        #expect(try parser.feed(Self.bytes("\r\n6;ext=1\r\n\"boom\"\r\n")) == nil)
        let outcome = try parser.feed(Self.bytes("1\r\n}\r\n0\r\n\r\n"))
        #expect(outcome == .rejected(
            ExecHandshakeHead(status: 500, reason: "Internal Server Error", headers: ["transfer-encoding": "chunked"]),
            body: Self.bytes(#"{"message":"boom"}"#)
        ))
    }

    @Test("an error body without framing runs to the end of the connection")
    func bodyUntilClose() throws {
        var parser = ExecHandshakeParser()
        #expect(try parser.feed(Self.bytes("HTTP/1.0 409 Conflict\r\n\r\ncontainer is paused")) == nil)
        let outcome = try parser.finish()
        #expect(outcome == .rejected(ExecHandshakeHead(status: 409, reason: "Conflict"), body: Self.bytes("container is paused")))
    }

    @Test("an interim 100 Continue is skipped")
    func continueSkipped() throws {
        var parser = ExecHandshakeParser()
        let outcome = try parser.feed(Self.bytes("HTTP/1.1 100 Continue\r\n\r\n" + Self.upgraded + "x"))
        #expect(outcome == .stream(ExecHandshakeHead(status: 101, reason: "UPGRADED", headers: [
            "content-type": "application/vnd.docker.raw-stream", "connection": "Upgrade", "upgrade": "tcp",
        ]), leftover: Self.bytes("x")))
    }

    @Test("garbage, oversized heads and early closes are errors")
    func malformed() throws {
        var garbage = ExecHandshakeParser()
        #expect(throws: ExecHandshakeError.malformedStatusLine("SSH-2.0-OpenSSH_9.2")) {
            try garbage.feed(Self.bytes("SSH-2.0-OpenSSH_9.2\r\n\r\n"))
        }

        var badHeader = ExecHandshakeParser()
        #expect(throws: ExecHandshakeError.malformedHeader("no colon here")) {
            try badHeader.feed(Self.bytes("HTTP/1.1 101 UPGRADED\r\nno colon here\r\n\r\n"))
        }

        var badLength = ExecHandshakeParser()
        #expect(throws: ExecHandshakeError.self) {
            try badLength.feed(Self.bytes("HTTP/1.1 404 Not Found\r\nContent-Length: -3\r\n\r\n"))
        }

        var huge = ExecHandshakeParser()
        #expect(throws: ExecHandshakeError.headTooLarge(ExecHandshakeParser.maxHeadBytes)) {
            try huge.feed(Self.bytes("HTTP/1.1 101 UPGRADED\r\nX: " + String(repeating: "a", count: ExecHandshakeParser.maxHeadBytes)))
        }

        var truncatedHead = ExecHandshakeParser()
        #expect(try truncatedHead.feed(Self.bytes("HTTP/1.1 101 UPGR")) == nil)
        #expect(throws: ExecHandshakeError.truncated) { try truncatedHead.finish() }

        var truncatedBody = ExecHandshakeParser()
        #expect(try truncatedBody.feed(Self.bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nabc")) == nil)
        #expect(throws: ExecHandshakeError.truncated) { try truncatedBody.finish() }
    }
}

// MARK: - Against the real engine

@Suite("TTYExec against the Docker Engine", .serialized, .timeLimit(.minutes(2)))
struct TTYExecEngineTests {
    private static let shell = TTYExecRequest(command: ["/bin/sh"], user: "player", workingDir: "/tmp", env: ["TERM=xterm-256color"])

    @Test("echo hello typed into /bin/sh shows hello")
    func echoHello() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            try await docker.withExecStream(exec, initialSize: nil) { stream in
                var screen = PTYScreen(stream)
                try await stream.outbound.write(ByteBuffer(string: "echo hello\r"))
                try await screen.expect("\nhello\r\n")
                try await stream.outbound.write(ByteBuffer(string: "id -u\r"))
                try await screen.expect("\n1000\r\n")
                try await stream.outbound.write(ByteBuffer(string: "pwd\r"))
                try await screen.expect("\n/tmp\r\n")
                try await stream.outbound.write(ByteBuffer(string: "exit\r"))
                try await screen.readToEnd()
            }
        }
    }

    @Test("stty size follows resizeExec, and initialSize is applied at start")
    func resize() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            try await docker.withExecStream(exec, initialSize: (cols: 123, rows: 45)) { stream in
                var screen = PTYScreen(stream)
                try await stream.outbound.write(ByteBuffer(string: "stty size\r"))
                try await screen.expect("\n45 123\r\n")
                try await docker.resizeExec(exec, cols: 100, rows: 40)
                try await stream.outbound.write(ByteBuffer(string: "stty size\r"))
                try await screen.expect("\n40 100\r\n")
                try await stream.outbound.write(ByteBuffer(string: "exit\r"))
                try await screen.readToEnd()
            }
            await #expect(throws: DockerError.self) { try await docker.resizeExec(exec, cols: 0, rows: 40) }
        }
    }

    @Test("Ctrl-P and Ctrl-Q typed one at a time reach the PTY and do not detach")
    func ctrlPCtrlQReachTheShell() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            try await docker.withExecStream(exec, initialSize: nil) { stream in
                var screen = PTYScreen(stream)
                // Raw mode, so neither the line editor nor IXON eat the keys; the quotes keep the
                // marker out of the command's echo.
                try await stream.outbound.write(ByteBuffer(string: "stty raw -echo; echo RE''ADY; head -c 2 | od -An -tx1; stty sane\r"))
                try await screen.expect("READY")
                // One key per write and a pause between them: the daemon's detach matcher only
                // looks at single-byte reads, exactly as a human types.
                try await stream.outbound.write(ByteBuffer(bytes: [0x10]))
                try await Task.sleep(for: .milliseconds(300))
                try await stream.outbound.write(ByteBuffer(bytes: [0x11]))
                try await screen.expect("10 11")
                try await Task.sleep(for: .milliseconds(300))
                try await stream.outbound.write(ByteBuffer(string: "echo still-here\r"))
                try await screen.expect("\nstill-here\r\n")
                try await stream.outbound.write(ByteBuffer(string: "exit\r"))
                try await screen.readToEnd()
            }
        }
    }

    @Test("Berth's detach keys, typed one at a time, do detach: they are set and valid")
    func berthDetachKeysDetach() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            let output = try await docker.withExecStream(exec, initialSize: nil) { stream in
                var screen = PTYScreen(stream)
                try await stream.outbound.write(ByteBuffer(string: "echo ali''ve\r"))
                try await screen.expect("alive")
                for key: UInt8 in [0x00, 0x1e, 0x1f, 0x1d] {
                    try await Task.sleep(for: .milliseconds(200))
                    try await stream.outbound.write(ByteBuffer(bytes: [key]))
                }
                try await screen.readToEnd()
                return screen.text
            }
            // Docker 20.10 treats a detached exec as failed: it says so in the stream and ends the
            // process (exit 126). That is why the keys must never be typed by accident.
            #expect(output.contains("escape sequence"), "\(output.debugDescription)")
            let state = try await docker.waitForExecExit(exec)
            #expect(!state.running)
        }
        await #expect(throws: DockerError.self) {
            try await withTTYContainer { docker, container in
                _ = try await docker.createTTYExec(container, TTYExecRequest(command: ["/bin/sh"], detachKeys: "ctrl-+"))
            }
        }
    }

    @Test("exit 3 ends the stream and inspectExec reports exit code 3")
    func exitCode() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            let before = try await docker.inspectExec(exec)
            #expect(!before.running)
            #expect(before.exitCode == nil)
            try await docker.withExecStream(exec, initialSize: (cols: 80, rows: 24)) { stream in
                var screen = PTYScreen(stream)
                try await stream.outbound.write(ByteBuffer(string: "echo run''ning\r"))
                try await screen.expect("running")
                let during = try await docker.inspectExec(exec)
                #expect(during.running)
                #expect(during.pid > 0)
                #expect(during.exitCode == nil)
                try await stream.outbound.write(ByteBuffer(string: "exit 3\r"))
                try await screen.readToEnd()
            }
            let after = try await docker.waitForExecExit(exec)
            #expect(after.running == false)
            #expect(after.exitCode == 3)
        }
    }

    @Test("a missing container or exec gives a DockerError with 404 and the daemon's message")
    func missing() async throws {
        let docker = try DockerClient.fromEnvironment()
        let missing = "berth-test-missing-\(UUID().uuidString.prefix(8).lowercased())"
        await expectDockerError(status: 404, containing: "No such container") {
            _ = try await docker.createTTYExec(missing, Self.shell)
        }
        await expectDockerError(status: 404, containing: "No such exec instance") {
            try await docker.withExecStream("0123456789abcdef\(missing)", initialSize: nil) { _ in
                Issue.record("the body must not run when the daemon refuses")
                return ()
            }
        }
        await expectDockerError(status: 404, containing: "No such exec instance") {
            _ = try await docker.inspectExec(missing)
        }
        await expectDockerError(status: 404, containing: "No such exec instance") {
            try await docker.resizeExec(missing, cols: 80, rows: 24)
        }
        let nowhere = DockerClient(address: .unix(path: "/tmp/berth-test-\(missing).sock"))
        await expectDockerError(status: 0, containing: "connect") {
            try await nowhere.withExecStream("abc", initialSize: nil) { _ in }
        }
    }

    @Test("a stopped container gives the daemon's conflict, not a hang")
    func stoppedContainer() async throws {
        try await withTTYContainer { docker, container in
            try await docker.stopContainer(container, timeoutSeconds: 0)
            await expectDockerError(status: 409, containing: "not running") {
                _ = try await docker.createTTYExec(container, Self.shell)
            }
        }
    }

    @Test("a consumer that stops reading stops the producer; reading resumes with intact data")
    func slowConsumer() async throws {
        try await withTTYContainer { docker, container in
            let line = Array("0123456789abcdef\r\n".utf8)
            let exec = try await docker.createTTYExec(container, TTYExecRequest(command: ["yes", "0123456789abcdef"]))
            try await docker.withExecStream(exec, initialSize: nil) { stream in
                var iterator = stream.inbound.makeAsyncIterator()
                var received: [UInt8] = []
                let clock = ContinuousClock()
                let start = clock.now
                while clock.now - start < .milliseconds(500), let chunk = try await iterator.next() {
                    received += chunk.readableBytesView
                }
                let rate = Double(received.count) / 0.5

                // Stop reading. Once the few buffered reads and the socket buffers are full, `yes`
                // must block in write(2): its byte count stops moving.
                // On a loaded machine filling the buffers takes a while, so look for a quiet second
                // within 10 s rather than insisting on the first one.
                let rssBefore = residentBytes()
                let deliveredBeforePause = received.count
                try await Task.sleep(for: .seconds(1))
                var writtenEarly = try await bytesWritten(byCommand: "yes", in: container, docker: docker)
                var writtenLate = writtenEarly
                for _ in 0..<10 {
                    try await Task.sleep(for: .seconds(1))
                    writtenLate = try await bytesWritten(byCommand: "yes", in: container, docker: docker)
                    if writtenLate - writtenEarly < 64 << 10 { break }
                    writtenEarly = writtenLate
                }
                let rssAfter = residentBytes()

                var resumed = 0
                let resumedAt = clock.now
                while resumed < 2 << 20, let chunk = try await iterator.next() {
                    received += chunk.readableBytesView
                    resumed += chunk.readableBytes
                }
                let resumedSeconds = Double((clock.now - resumedAt).components.attoseconds) / 1e18 + Double((clock.now - resumedAt).components.seconds)
                let writtenResumed = try await bytesWritten(byCommand: "yes", in: container, docker: docker)
                try await stream.outbound.write(ByteBuffer(bytes: [0x03]))

                // What `yes` wrote that the reader never got is buffered somewhere on the way (the
                // terminal, the daemon, the sockets, the client): it must stay bounded. The terminal
                // turns each "\n" into "\r\n", so a written line arrives one byte longer. (The
                // process's RSS is printed, not asserted: suites running beside this one move it.)
                let inFlight = writtenLate * line.count / (line.count - 1) - deliveredBeforePause
                let growth = rssAfter - rssBefore
                print(
                    "TTYExec slow consumer: \(Int(rate) >> 10) KiB/s at first, \(Int(Double(resumed) / resumedSeconds) >> 10) KiB/s after the pause; during the pause yes wrote "
                        + "\(writtenLate - writtenEarly) bytes in the last second, \(inFlight >> 10) KiB were in flight, and the process's RSS grew \(growth >> 10) KiB"
                )
                #expect(writtenLate - writtenEarly < 64 << 10, "the producer kept writing while nobody read")
                #expect(writtenResumed > writtenLate, "the producer resumes when reading resumes")
                #expect(resumed >= 2 << 20, "reading resumes after the pause")
                #expect(inFlight < 16 << 20, "\(inFlight >> 20) MiB were written but not delivered while nobody read")

                // Every line after the first (possibly partial) one is intact: nothing lost or reordered.
                guard let firstBreak = received.firstIndex(of: 0x0a) else {
                    Issue.record("no line in \(received.count) bytes")
                    return
                }
                var offset = firstBreak + 1
                var bad = 0
                while offset + line.count <= received.count {
                    if !received[offset..<(offset + line.count)].elementsEqual(line) { bad += 1 }
                    offset += line.count
                }
                #expect(bad == 0, "\(bad) corrupted lines in \(received.count) bytes")
                #expect(received[offset...].elementsEqual(line.prefix(received.count - offset)))
            }
        }
    }

    @Test("with coalescing, streamed output arrives complete and in order, in buffers of bounded size")
    func coalescedOutput() async throws {
        try await withTTYContainer { docker, container in
            // Numbered lines, so any loss, duplication or reordering shows.
            let count = 100_000
            let exec = try await docker.createTTYExec(
                container, TTYExecRequest(command: ["/bin/sh", "-c", "stty -onlcr; seq 1 \(count)"])
            )
            var largest = 0
            var received: [UInt8] = []
            try await docker.withExecStream(exec, initialSize: nil, coalescing: .terminal) { stream in
                for try await chunk in stream.inbound {
                    largest = max(largest, chunk.readableBytes)
                    received += chunk.readableBytesView
                }
            }
            let expected = (1...count).map { "\($0)\n" }.joined()
            #expect(received.count == expected.utf8.count)
            #expect(received.elementsEqual(expected.utf8), "the output differs from seq's")
            // One buffer is at most maxBytes plus one socket read (NIO reads at most 64 KiB at once).
            #expect(largest <= OutputCoalescing.terminal.maxBytes + 64 * 1024, "largest buffer \(largest)")
        }
    }

    @Test("finishing outbound half-closes: the daemon ends the stream instead of hanging")
    func halfClose() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, TTYExecRequest(command: ["cat"]))
            try await docker.withExecStream(exec, initialSize: nil) { stream in
                var screen = PTYScreen(stream)
                try await stream.outbound.write(ByteBuffer(string: "ping\r"))
                try await screen.expect("ping\r\n")
                stream.outbound.finish()
                try await screen.readToEnd()
            }
            // Docker ends a TTY stream when its input ends, but the process keeps its PTY and runs on.
            let state = try await docker.inspectExec(exec)
            #expect(state.running, "\(state)")
        }
    }

    @Test("returning from the body while the shell still runs closes the connection promptly")
    func returnWhileRunning() async throws {
        try await withTTYContainer { docker, container in
            let exec = try await docker.createTTYExec(container, Self.shell)
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                let answer = try await docker.withExecStream(exec, initialSize: nil) { stream in
                    var screen = PTYScreen(stream)
                    try await stream.outbound.write(ByteBuffer(string: "echo 4''2\r"))
                    try await screen.expect("42")
                    return 42
                }
                #expect(answer == 42)
            }
            #expect(elapsed < .seconds(3))
            // Whether the process outlives the connection is the daemon's choice: dockerd may kill an
            // exec whose client went away, or leave it running. Either way, the exec is still known.
            _ = try await docker.inspectExec(exec)

            struct Boom: Error {}
            let another = try await docker.createTTYExec(container, Self.shell)
            await #expect(throws: Boom.self, "the body's own error comes back unchanged") {
                try await docker.withExecStream(another, initialSize: (cols: 80, rows: 24)) { _ in throw Boom() }
            }
        }
    }
}

// MARK: - Helpers

/// Collects what the PTY prints and waits for expected text.
private struct PTYScreen {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private(set) var bytes: [UInt8] = []
    private var searchFrom = 0

    init(_ stream: ExecStream) {
        iterator = stream.inbound.makeAsyncIterator()
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Reads until `needle` appears after the previous match; fails if the stream ends first.
    mutating func expect(_ needle: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let pattern = Array(needle.utf8)
        while true {
            if let range = Self.find(pattern, in: bytes, from: searchFrom) {
                searchFrom = range
                return
            }
            guard let chunk = try await iterator.next() else {
                Issue.record("the stream ended before \(needle.debugDescription); got \(text.debugDescription)", sourceLocation: sourceLocation)
                throw TTYTestError("stream ended")
            }
            bytes += chunk.readableBytesView
        }
    }

    /// Reads until the stream ends.
    mutating func readToEnd() async throws {
        while let chunk = try await iterator.next() {
            bytes += chunk.readableBytesView
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        var index = start
        while index + pattern.count <= bytes.count {
            if bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index + pattern.count }
            index += 1
        }
        return nil
    }
}

private struct TTYTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` with a running `sleep 3600` container of `berth/base:latest`, named and labelled for
/// this file, removed afterwards; fails after 30 s instead of hanging.
private func withTTYContainer(_ body: @escaping @Sendable (DockerClient, String) async throws -> Void) async throws {
    let docker = try DockerClient.fromEnvironment()
    var host = HostConfig()
    host.networkMode = "none"
    host.initProcess = true
    var request = ContainerCreateRequest(image: "berth/base:latest", hostConfig: host)
    request.command = ["sleep", "3600"]
    let run = UUID().uuidString.prefix(8).lowercased()
    request.labels = ["berth.test.run": "tty-exec-\(run)"]
    let id = try await docker.createContainer(name: "berth-test-tty-\(run)", request)
    do {
        try await docker.startContainer(id)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body(docker, id)
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return false
            }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw TTYTestError("timed out after 30 s") }
        }
    } catch {
        try? await docker.removeContainer(id, force: true)
        throw error
    }
    try await docker.removeContainer(id, force: true)
}

/// How many bytes the process running `command` in `container` has written so far (`wchar`).
private func bytesWritten(byCommand command: String, in container: String, docker: DockerClient) async throws -> Int {
    let result = try await docker.exec(container, command: ["sh", "-c", "grep wchar /proc/$(pidof \(command))/io"])
    guard result.exitCode == 0, let value = result.stdout.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
        throw TTYTestError("cannot read the I/O counters of \(command): \(result.stdout) \(result.stderr)")
    }
    return value
}
