import BerthCore
import BerthTerminal
import Foundation
import Logging
import NIOCore
import Testing

/// A PTY in memory: records input and resizes, and lets a test produce output.
actor FakePTY {
    private(set) var input: [UInt8] = []
    private(set) var resizes: [TerminalSize] = []
    private(set) var startedWith: TerminalSize?
    /// True once the session asked for the PTY (which may take a while to come up).
    private(set) var requested = false
    private var source: NIOAsyncChannelInboundStream<ByteBuffer>.TestSource?

    func started(_ size: TerminalSize, _ source: NIOAsyncChannelInboundStream<ByteBuffer>.TestSource) {
        startedWith = size
        self.source = source
    }

    func request() { requested = true }

    func write(_ buffer: ByteBuffer) { input += buffer.readableBytesView }
    func resize(_ size: TerminalSize) { resizes.append(size) }

    /// Produces output; false when the PTY is not up yet.
    func produce(_ bytes: [UInt8]) -> Bool {
        guard let source else { return false }
        source.yield(ByteBuffer(bytes: bytes))
        return true
    }

    var isUp: Bool { source != nil }
}

/// Starts the fake PTY after `startDelay`, as a Docker exec takes a moment to start.
struct FakePTYConnector: PTYConnector {
    let pty: FakePTY
    var startDelay: Duration = .zero

    func withPTY(containerID: String, terminal: TerminalSpec, size: TerminalSize, _ body: @Sendable (PTYConnection) async throws -> Void) async throws -> Int? {
        await pty.request()
        try await Task.sleep(for: startDelay)
        let (stream, source) = NIOAsyncChannelInboundStream<ByteBuffer>.makeTestingStream()
        await pty.started(size, source)
        let pty = self.pty
        try await body(PTYConnection(output: stream, write: { await pty.write($0) }, resize: { await pty.resize($0) }))
        return 0
    }
}

/// Counts what the recorder would see.
actor CountingObserver: TerminalObserver {
    private(set) var outputBytes: [UInt8] = []
    private(set) var inputBytes = 0

    func output(_ bytes: ByteBuffer) async { outputBytes += bytes.readableBytesView }
    func input(_ bytes: ByteBuffer) async { inputBytes += bytes.readableBytes }
    func resized(_ size: TerminalSize) async {}
    func marker(_ label: String) async {}
    func flush() async {}
    func close() async {}
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: @Sendable () async -> Bool) async -> Bool {
    let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

@Suite("Terminal session with a PTY in memory")
struct TerminalSessionTests {
    static func session(_ pty: FakePTY, settings: TerminalSettings, startDelay: Duration = .zero) -> TerminalSession {
        TerminalSession(
            instanceID: "inst_t", name: "main", containerID: "c", terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24),
            connector: FakePTYConnector(pty: pty, startDelay: startDelay), settings: settings, logger: Logger(label: "test")
        )
    }

    /// Runs `body` with the session running; closes it afterwards.
    static func running(_ session: TerminalSession, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = await session.run() }
            try await body()
            await session.close(reason: "test over")
            try await group.waitForAll()
        }
    }

    @Test("input faster than the rate limit is held back, not dropped: every byte reaches the PTY in order")
    func inputBackpressure() async throws {
        var settings = TerminalSettings()
        settings.inputBytesPerSecond = 512 * 1024
        settings.inputBurstBytes = 16 * 1024
        let pty = FakePTY()
        let session = Self.session(pty, settings: settings)
        let observer = CountingObserver()
        await session.observe(with: observer)
        try await Self.running(session) {
            #expect(await eventually { await pty.isUp })
            let (writer, output) = await session.attach(access: .write)
            await session.control(.acknowledgeInput, from: writer)
            var sent: [UInt8] = []
            let started = ContinuousClock.now
            // 16 KiB frames, and one frame larger than the whole burst.
            for index in 0..<24 {
                let size = index == 5 ? 48 * 1024 : 16 * 1024
                let frame = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
                sent += frame
                #expect(await session.input(ByteBuffer(bytes: frame), from: writer) == .written)
            }
            let elapsed = ContinuousClock.now - started
            #expect(await pty.input == sent)
            #expect(await observer.inputBytes == sent.count)
            // Held back to the rate: at least (total - burst) / rate, a lower bound a loaded machine cannot break.
            let floor = Double(sent.count - settings.inputBurstBytes) / Double(settings.inputBytesPerSecond)
            #expect(elapsed >= .milliseconds(Int64(floor * 1000 * 0.95)), "\(sent.count) bytes in \(elapsed)")
            // Each frame was acknowledged with `written` once it reached the PTY.
            var acknowledged = 0
            var frames = 0
            for await item in output {
                if case .control(.written(let bytes)) = item {
                    acknowledged += bytes
                    frames += 1
                }
                if frames == 24 { break }
            }
            #expect(acknowledged == sent.count)
        }
    }

    @Test("a spectator's input is refused and never reaches the PTY")
    func spectatorInput() async throws {
        let pty = FakePTY()
        let session = Self.session(pty, settings: TerminalSettings())
        try await Self.running(session) {
            #expect(await eventually { await pty.isUp })
            let (spectator, _) = await session.attach(access: .read)
            #expect(await session.input(ByteBuffer(string: "rm -rf /\n"), from: spectator) == .readOnly)
            #expect(await pty.input.isEmpty)
        }
    }

    @Test("a resize sent before the PTY is up is applied when it starts")
    func firstResize() async throws {
        let pty = FakePTY()
        let session = Self.session(pty, settings: TerminalSettings(), startDelay: .milliseconds(300))
        try await Self.running(session) {
            let (writer, _) = await session.attach(access: .write)
            let (spectator, _) = await session.attach(access: .read)
            // The exec is starting (with the first size) but not up yet.
            #expect(await eventually { await pty.requested })
            #expect(await pty.isUp == false)
            await session.control(.resize(TerminalSize(cols: 33, rows: 11)), from: spectator)
            await session.control(.resize(TerminalSize(cols: 132, rows: 43)), from: writer)
            #expect(await eventually { await pty.resizes == [TerminalSize(cols: 132, rows: 43)] })
            #expect(await pty.startedWith == TerminalSize(cols: 80, rows: 24))
            // Later resizes go straight to the PTY.
            await session.control(.resize(TerminalSize(cols: 100, rows: 30)), from: writer)
            #expect(await pty.resizes.last == TerminalSize(cols: 100, rows: 30))
        }
    }

    @Test("a writer with acknowledgements that falls behind skips ahead: bounded output, then resync with the end of the screen; the recorder sees every byte")
    func writerSkipsAhead() async throws {
        var settings = TerminalSettings()
        settings.clientQueueBytes = 64 * 1024
        settings.screenBufferBytes = 64 * 1024
        settings.resyncReplayBytes = 8 * 1024
        let pty = FakePTY()
        let session = Self.session(pty, settings: settings)
        let observer = CountingObserver()
        await session.observe(with: observer)
        try await Self.running(session) {
            #expect(await eventually { await pty.isUp })
            let (writer, output) = await session.attach(access: .write)
            let window = 16 * 1024
            await session.control(.flow(window: window), from: writer)
            var iterator = output.makeAsyncIterator()
            guard case .control(.ready) = await iterator.next() else {
                Issue.record("the stream does not start with ready")
                return
            }
            // 400 KiB of output that the client never acknowledges.
            let chunk = 4 * 1024
            var produced: [UInt8] = []
            for index in 0..<100 {
                let bytes = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: chunk)
                produced += bytes
                _ = await pty.produce(bytes)
            }
            let total = produced.count
            #expect(await eventually { await observer.outputBytes.count == total })
            #expect(await observer.outputBytes == produced)
            // A marker in the stream, so the test reads exactly what was queued before it.
            await session.notify(writer, .pong)
            var received = 0
            reading: while let item = await iterator.next() {
                switch item {
                case .bytes(let buffer):
                    received += buffer.readableBytes
                    await session.delivered(writer, bytes: buffer.readableBytes)
                case .control(.pong): break reading
                case .control(let other): Issue.record("unexpected \(other)")
                }
            }
            // The window, plus the chunk that filled it.
            #expect(received > 0)
            #expect(received <= window + chunk, "sent \(received) bytes to a client with a \(window)-byte window")
            // The client rendered everything: it gets resync, the end of the screen, then live output.
            await session.control(.ack(bytes: received), from: writer)
            guard case .control(.resync(let replayBytes, let skippedBytes)) = await iterator.next() else {
                Issue.record("no resync after the client caught up")
                return
            }
            #expect(skippedBytes == total - received)
            #expect(replayBytes == settings.resyncReplayBytes)
            guard case .bytes(let replay) = await iterator.next() else {
                Issue.record("no replay after resync")
                return
            }
            #expect(Array(replay.readableBytesView) == Array(produced.suffix(settings.resyncReplayBytes)))
            await session.delivered(writer, bytes: replay.readableBytes)
            await session.control(.ack(bytes: replay.readableBytes), from: writer)
            _ = await pty.produce(Array("$ ".utf8))
            guard case .bytes(let live) = await iterator.next() else {
                Issue.record("no live output after the resync")
                return
            }
            #expect(String(buffer: live) == "$ ")
        }
    }

    @Test("an acknowledgement that arrives before the socket write is reported is not lost: the lagging page still gets its resync", .timeLimit(.minutes(1)))
    func acknowledgementBeforeDelivery() async throws {
        var settings = TerminalSettings()
        settings.clientQueueBytes = 64 * 1024
        settings.resyncReplayBytes = 1024
        let pty = FakePTY()
        let session = Self.session(pty, settings: settings)
        try await Self.running(session) {
            #expect(await eventually { await pty.isUp })
            let (writer, output) = await session.attach(access: .write)
            await session.control(.flow(window: 16 * 1024), from: writer)
            var iterator = output.makeAsyncIterator()
            guard case .control(.ready) = await iterator.next() else {
                Issue.record("the stream does not start with ready")
                return
            }
            for _ in 0..<40 { _ = await pty.produce([UInt8](repeating: UInt8(ascii: "y"), count: 4096)) }
            await session.notify(writer, .pong)
            reading: while let item = await iterator.next() {
                switch item {
                case .bytes(let buffer):
                    // On loopback the page renders and acknowledges before the server's writer
                    // task reports the write.
                    await session.control(.ack(bytes: buffer.readableBytes), from: writer)
                    await session.delivered(writer, bytes: buffer.readableBytes)
                case .control(.pong): break reading
                case .control(.resync): break reading
                case .control(let other): Issue.record("unexpected \(other)")
                }
            }
            _ = await pty.produce(Array("$ ".utf8))
            var resynced = false
            while let item = await iterator.next() {
                if case .control(.resync) = item { resynced = true }
                if case .bytes(let buffer) = item, String(buffer: buffer).hasSuffix("$ ") { break }
                if case .bytes(let buffer) = item {
                    await session.control(.ack(bytes: buffer.readableBytes), from: writer)
                    await session.delivered(writer, bytes: buffer.readableBytes)
                }
            }
            #expect(resynced, "the page caught up, so it must get resync and live output (the prompt)")
        }
    }

    @Test("a writer without acknowledgements gets every byte (the PTY waits for it) while a stalled spectator skips ahead")
    func rawWriterLosesNothing() async throws {
        var settings = TerminalSettings()
        settings.clientQueueBytes = 32 * 1024
        let pty = FakePTY()
        let session = Self.session(pty, settings: settings)
        let observer = CountingObserver()
        await session.observe(with: observer)
        try await Self.running(session) {
            #expect(await eventually { await pty.isUp })
            let (writer, output) = await session.attach(access: .write)
            let (spectator, _) = await session.attach(access: .read)
            _ = spectator  // never reads
            var produced: [UInt8] = []
            for index in 0..<64 {
                let bytes = [UInt8](repeating: UInt8(index), count: 8 * 1024)
                produced += bytes
                _ = await pty.produce(bytes)
            }
            // Nobody has read yet: the PTY is held back at the writer's queue limit.
            try await Task.sleep(for: .milliseconds(200))
            #expect(await observer.outputBytes.count <= settings.clientQueueBytes + 8 * 1024)
            var received: [UInt8] = []
            for await item in output {
                guard case .bytes(let buffer) = item else { continue }
                received += buffer.readableBytesView
                await session.delivered(writer, bytes: buffer.readableBytes)
                if received.count >= produced.count { break }
            }
            #expect(received == produced)
            #expect(await observer.outputBytes == produced)
            // The spectator's queue stayed at its limit: it skipped the rest.
            #expect(await session.peakQueuedBytes <= 2 * (settings.clientQueueBytes + 8 * 1024))
        }
    }
}
