import BerthCore
import Logging
import NIOCore

/// What a client's output stream carries.
public enum TerminalOutput: Sendable {
    /// PTY bytes, for a binary frame.
    case bytes(ByteBuffer)
    /// A control message, for a text frame.
    case control(ServerControl)
}

/// What became of a client's input.
public enum InputOutcome: Sendable, Equatable {
    /// Written to the PTY (after waiting for the input rate limit, if needed).
    case written
    /// The client may only watch.
    case readOnly
    /// The PTY is gone.
    case closed
}

/// One PTY process inside an instance, bridged to any number of clients. Output goes to the
/// observer (the recorder, which sees every byte), to a bounded screen buffer and to each client's
/// queue. A client that falls behind skips ahead and gets the end of the screen again once it
/// has caught up, so a flood never builds a backlog and Ctrl-C shows its prompt at once: every
/// spectator, and a writer that acknowledges what it rendered (the browser page). A writer
/// without acknowledgements (a script) gets every byte instead: while its queue is full the PTY
/// pauses. Input over the rate limit is held back, never dropped: ``input(_:from:)``
/// returns only once the bytes are written, so a caller that awaits it before reading more
/// applies backpressure to its client. The session outlives its clients for the reconnect window.
public actor TerminalSession {
    /// The instance the PTY runs in.
    public nonisolated let instanceID: String
    /// The terminal's name (tab), e.g. `main`.
    public nonisolated let name: String

    private struct Client {
        var access: TerminalAccess
        var continuation: AsyncStream<TerminalOutput>.Continuation
        /// Bytes handed to the client's stream and not yet written to its socket.
        var queued = 0
        /// Bytes handed to the client and not yet acknowledged, when it uses acknowledgements.
        /// Counted when handed over, not when written to the socket: on loopback the page's
        /// acknowledgement can arrive before the write is reported, and must never be lost.
        var unacknowledged = 0
        var window: Int?
        var lagging = false
        /// Output bytes skipped since the client started lagging.
        var skipped = 0
        /// The client asked for `written` after each input frame.
        var acknowledgesInput = false

        /// Spectators and clients that acknowledge what they render skip ahead when full; a
        /// writer without acknowledgements holds the PTY back instead.
        var skipsAhead: Bool { access == .read || window != nil }

        /// True when the client holds as much output as it may: its queue is at the limit or,
        /// with acknowledgements, everything sent and not yet acknowledged fills its window.
        func isFull(limit: Int) -> Bool {
            queued >= limit || (window.map { unacknowledged >= $0 } ?? false)
        }

        /// Hands output to the client's stream and counts it.
        mutating func send(_ bytes: ByteBuffer) {
            continuation.yield(.bytes(bytes))
            queued += bytes.readableBytes
            if window != nil { unacknowledged += bytes.readableBytes }
        }
    }

    private let containerID: String
    private let terminal: TerminalSpec
    private let connector: any PTYConnector
    private let settings: TerminalSettings
    private let logger: Logger
    private var screen: ScreenBuffer
    private var limiter: InputRateLimiter
    private var clients: [Int: Client] = [:]
    private var nextClientID = 1
    private var connection: PTYConnection?
    private var size: TerminalSize
    private var waitingForRoom: [CheckedContinuation<Void, Never>] = []
    private var closeSignal: AsyncStream<Void>.Continuation?
    private var closeReason: String?
    private var observer: (any TerminalObserver)?
    private var everAttached = false
    private(set) var finished = false
    /// When the last client left; nil while someone is attached.
    public private(set) var emptySince: ContinuousClock.Instant? = .now
    /// Largest number of output bytes ever queued for clients at once, for the memory bound.
    public private(set) var peakQueuedBytes = 0

    /// Creates a session; ``run()`` starts the PTY.
    public init(
        instanceID: String, name: String, containerID: String, terminal: TerminalSpec, size: TerminalSize,
        connector: any PTYConnector, settings: TerminalSettings, logger: Logger
    ) {
        self.instanceID = instanceID
        self.name = name
        self.containerID = containerID
        self.terminal = terminal
        self.size = size
        self.connector = connector
        self.settings = settings
        self.logger = logger
        self.screen = ScreenBuffer(capacity: settings.screenBufferBytes)
        self.limiter = InputRateLimiter(bytesPerSecond: settings.inputBytesPerSecond, burstBytes: settings.inputBurstBytes)
    }

    /// Sets the observer (the recorder) before ``run()``.
    public func observe(with observer: (any TerminalObserver)?) {
        self.observer = observer
    }

    /// Records a marker, such as a share or an admin action, in the terminal's recording.
    public func mark(_ label: String) async {
        await observer?.marker(label)
    }

    /// Writes what the observer buffered.
    public func flushObserver() async {
        await observer?.flush()
    }

    /// True when Berth closed the PTY (rather than the shell exiting on its own).
    public var wasClosed: Bool { closeReason != nil }

    /// True once the PTY has ended; a new session is needed for a new shell.
    public var isFinished: Bool { finished }

    /// Number of attached clients.
    public var clientCount: Int { clients.count }

    /// Bytes held in the screen buffer.
    public var screenBytes: Int { screen.count }

    /// The newest `limit` bytes of the screen buffer, raw (escape sequences included).
    public func screenSnapshot(last limit: Int) -> [UInt8] { screen.snapshot(last: limit) }

    // MARK: - Clients

    /// Attaches a client: its stream starts with `ready` and the recent screen, then live output.
    public func attach(access: TerminalAccess, by user: String = "-") async -> (id: Int, output: AsyncStream<TerminalOutput>) {
        let id = nextClientID
        nextClientID += 1
        let (stream, continuation) = AsyncStream<TerminalOutput>.makeStream()
        var client = Client(access: access, continuation: continuation)
        let replay = screen.snapshot()
        continuation.yield(.control(.ready(terminal: name, access: access, size: size, replayBytes: replay.count)))
        if access == .read { continuation.yield(.control(.readonly)) }
        if !replay.isEmpty { client.send(ByteBuffer(bytes: replay)) }
        if finished { continuation.yield(.control(.exited(code: nil))) }
        clients[id] = client
        emptySince = nil
        logger.info("terminal client attached", metadata: [
            "instance.id": "\(instanceID)", "terminal": "\(name)", "access": "\(access.rawValue)", "clients": "\(clients.count)",
        ])
        if finished { continuation.finish() }
        let kind = everAttached && clients.count == 1 ? "reconnect" : "connect"
        everAttached = true
        await observer?.marker("\(kind) user \(user) \(access.rawValue)")
        return (id, stream)
    }

    /// Detaches a client; the PTY stays up for the reconnect window when it was the last.
    public func detach(_ id: Int) async {
        guard let client = clients.removeValue(forKey: id) else { return }
        await observer?.marker("disconnect")
        client.continuation.finish()
        if clients.isEmpty { emptySince = .now }
        wakeProducer()
        logger.info("terminal client detached", metadata: ["instance.id": "\(instanceID)", "terminal": "\(name)", "clients": "\(clients.count)"])
    }

    /// Records that `bytes` of a client's output reached its socket.
    public func delivered(_ id: Int, bytes: Int) {
        guard var client = clients[id] else { return }
        client.queued = max(0, client.queued - bytes)
        clients[id] = client
        resyncIfCaughtUp(id)
        wakeProducer()
    }

    /// Handles a control message from a client.
    public func control(_ message: ClientControl, from id: Int) async {
        guard var client = clients[id] else { return }
        switch message {
        case .ack(let bytes):
            client.unacknowledged = max(0, client.unacknowledged - bytes)
            clients[id] = client
            resyncIfCaughtUp(id)
        case .flow(let window):
            client.window = window
            clients[id] = client
            wakeProducer()
        case .ping:
            client.continuation.yield(.control(.pong))
        case .acknowledgeInput:
            client.acknowledgesInput = true
            clients[id] = client
        case .resize(let requested):
            guard client.access == .write else {
                client.continuation.yield(.control(.readonly))
                return
            }
            guard requested != size, !finished else { return }
            size = requested
            await observer?.resized(requested)
            // Before the PTY is up (a resize as a new terminal's first message) the size is only
            // remembered: ``connected(_:startedWith:)`` applies it.
            if let connection { await apply(requested, to: connection) }
            for (otherID, other) in clients where otherID != id { other.continuation.yield(.control(.resized(requested))) }
        }
    }

    /// Writes a client's input to the PTY, if it may write. Input over the rate limit waits for
    /// its turn (the actor serves others meanwhile), and the write itself waits while the exec
    /// stream is full, so nothing is dropped; the caller should read the client's next frame only
    /// after this returns.
    public func input(_ bytes: ByteBuffer, from id: Int) async -> InputOutcome {
        guard let client = clients[id] else { return .closed }
        guard client.access == .write else { return .readOnly }
        guard connection != nil, !finished else { return .closed }
        let wait = limiter.reserve(bytes.readableBytes)
        if wait > .zero {
            do { try await Task.sleep(for: wait) } catch { return .closed }
        }
        guard let connection, !finished, clients[id] != nil else { return .closed }
        do {
            try await connection.write(bytes)
            if let client = clients[id], client.acknowledgesInput {
                client.continuation.yield(.control(.written(bytes: bytes.readableBytes)))
            }
            await observer?.input(bytes)
            return .written
        } catch {
            return .closed
        }
    }

    /// Sends a control message to one client, in order with its output.
    public func notify(_ id: Int, _ message: ServerControl) {
        clients[id]?.continuation.yield(.control(message))
    }

    /// Sends a control message to every client.
    public func broadcast(_ message: ServerControl) {
        for client in clients.values { client.continuation.yield(.control(message)) }
    }

    // MARK: - The PTY

    /// Runs the PTY until it exits or ``close(reason:)`` is called; then tells every client and
    /// ends their streams. Returns the exit code when known.
    @discardableResult
    public func run() async -> Int? {
        let (signal, signalContinuation) = AsyncStream<Void>.makeStream()
        closeSignal = signalContinuation
        logger.debug("terminal starting", metadata: ["instance.id": "\(instanceID)", "terminal": "\(name)"])
        var exitCode: Int?
        let startSize = size
        do {
            exitCode = try await connector.withPTY(containerID: containerID, terminal: terminal, size: startSize) { connection in
                await self.connected(connection, startedWith: startSize)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await chunk in connection.output { await self.output(chunk) }
                    }
                    group.addTask {
                        for await _ in signal { return }
                        if Task.isCancelled { return }
                        // Docker keeps an exec running when its connection closes, so ask the
                        // shell to end: interrupt what runs in the foreground, then end input.
                        try? await connection.write(ByteBuffer(bytes: [0x03, 0x04]))
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            closeReason = closeReason ?? "Berth is shutting down"
        } catch {
            logger.warning("terminal failed", metadata: ["instance.id": "\(instanceID)", "terminal": "\(name)", "error": "\(error)"])
            broadcast(.error(code: "terminal_failed", message: "The terminal could not run: \(error)"))
        }
        finish(exitCode: exitCode)
        await observer?.marker(closeReason.map { "closed: \($0)" } ?? "exited \(exitCode.map(String.init) ?? "?")")
        await observer?.close()
        return exitCode
    }

    /// Closes the PTY (the shell sees its input end) and tells clients why.
    public func close(reason: String) {
        guard !finished else { return }
        closeReason = reason
        closeSignal?.finish()
        wakeProducer()
    }

    private func connected(_ connection: PTYConnection, startedWith startSize: TerminalSize) async {
        logger.debug("terminal connected to its PTY", metadata: ["instance.id": "\(instanceID)", "terminal": "\(name)"])
        self.connection = connection
        // A writer resized while the exec was starting: its size wins over the one we started with.
        if size != startSize { await apply(size, to: connection) }
    }

    private func apply(_ requested: TerminalSize, to connection: PTYConnection) async {
        do {
            try await connection.resize(requested)
        } catch {
            logger.notice("terminal resize failed", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
        }
    }

    private func output(_ chunk: ByteBuffer) async {
        screen.append(chunk.readableBytesView)
        await observer?.output(chunk)
        var total = 0
        for (id, var client) in clients {
            if !client.lagging && client.skipsAhead && client.isFull(limit: settings.clientQueueBytes) {
                // Skip ahead instead of holding the PTY back or building a backlog the client
                // would replay for seconds.
                client.lagging = true
            }
            if client.lagging {
                client.skipped += chunk.readableBytes
            } else {
                client.send(chunk)
            }
            clients[id] = client
            total += client.queued
        }
        peakQueuedBytes = max(peakQueuedBytes, total)
        while closeReason == nil, clients.values.contains(where: { !$0.skipsAhead && $0.isFull(limit: settings.clientQueueBytes) }) {
            await withCheckedContinuation { waitingForRoom.append($0) }
        }
    }

    /// A lagging client that has written and (with acknowledgements) rendered everything it was
    /// sent gets `resync` and the end of the screen buffer, then live output again.
    private func resyncIfCaughtUp(_ id: Int) {
        guard var client = clients[id], client.lagging, client.queued == 0, client.unacknowledged == 0 else { return }
        let replay = screen.snapshot(last: settings.resyncReplayBytes)
        client.continuation.yield(.control(.resync(replayBytes: replay.count, skippedBytes: client.skipped)))
        client.lagging = false
        client.skipped = 0
        if !replay.isEmpty { client.send(ByteBuffer(bytes: replay)) }
        clients[id] = client
    }

    private func wakeProducer() {
        let waiting = waitingForRoom
        waitingForRoom.removeAll()
        for continuation in waiting { continuation.resume() }
    }

    private func finish(exitCode: Int?) {
        finished = true
        connection = nil
        closeSignal = nil
        wakeProducer()
        let message: ServerControl = closeReason.map { .closed(reason: $0) } ?? .exited(code: exitCode)
        for client in clients.values {
            client.continuation.yield(.control(message))
            client.continuation.finish()
        }
        clients.removeAll()
        emptySince = .now
        logger.info("terminal ended", metadata: [
            "instance.id": "\(instanceID)", "terminal": "\(name)", "exit.code": "\(exitCode.map(String.init) ?? "-")",
            "reason": "\(closeReason ?? "exited")",
        ])
    }
}
