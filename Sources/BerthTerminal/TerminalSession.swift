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

/// Why input was not passed to the PTY.
public enum InputOutcome: Sendable, Equatable {
    /// Written to the PTY.
    case written
    /// The client may only watch.
    case readOnly
    /// Over the terminal's input rate limit; dropped.
    case rateLimited
    /// The PTY is gone.
    case closed
}

/// One PTY process inside an instance, bridged to any number of clients. Output goes to a bounded
/// screen buffer and to each client's queue. A writer that falls behind pauses reading from the
/// PTY (backpressure); a spectator that falls behind skips ahead and gets the screen again, so it
/// never slows anyone else. The session outlives its clients for the reconnect window.
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
        /// Bytes written and not yet acknowledged, when the client uses acknowledgements.
        var unacknowledged = 0
        var window: Int?
        var lagging = false

        func isFull(limit: Int) -> Bool {
            queued >= limit || (window.map { unacknowledged >= $0 } ?? false)
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
        if !replay.isEmpty {
            continuation.yield(.bytes(ByteBuffer(bytes: replay)))
            client.queued += replay.count
        }
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
        if client.window != nil { client.unacknowledged += bytes }
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
            wakeProducer()
        case .flow(let window):
            client.window = window
            clients[id] = client
        case .ping:
            client.continuation.yield(.control(.pong))
        case .resize(let requested):
            guard client.access == .write else {
                client.continuation.yield(.control(.readonly))
                return
            }
            guard requested != size, let connection else { return }
            size = requested
            await observer?.resized(requested)
            do {
                try await connection.resize(requested)
            } catch {
                logger.notice("terminal resize failed", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
            }
            for (otherID, other) in clients where otherID != id { other.continuation.yield(.control(.resized(requested))) }
        }
    }

    /// Writes a client's keystrokes to the PTY, if it may write and is within the rate limit.
    public func input(_ bytes: ByteBuffer, from id: Int) async -> InputOutcome {
        guard let client = clients[id] else { return .closed }
        guard client.access == .write else { return .readOnly }
        guard let connection, !finished else { return .closed }
        guard limiter.allow(bytes.readableBytes) else { return .rateLimited }
        do {
            try await connection.write(bytes)
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
        do {
            exitCode = try await connector.withPTY(containerID: containerID, terminal: terminal, size: size) { connection in
                await self.connected(connection)
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

    private func connected(_ connection: PTYConnection) {
        logger.debug("terminal connected to its PTY", metadata: ["instance.id": "\(instanceID)", "terminal": "\(name)"])
        self.connection = connection
    }

    private func output(_ chunk: ByteBuffer) async {
        screen.append(chunk.readableBytesView)
        await observer?.output(chunk)
        var total = 0
        for (id, var client) in clients {
            if client.lagging { continue }
            if client.access == .read && client.isFull(limit: settings.clientQueueBytes) {
                // A slow spectator skips ahead instead of holding the PTY back.
                client.lagging = true
                clients[id] = client
                continue
            }
            client.continuation.yield(.bytes(chunk))
            client.queued += chunk.readableBytes
            clients[id] = client
            total += client.queued
        }
        peakQueuedBytes = max(peakQueuedBytes, total)
        while closeReason == nil, clients.values.contains(where: { $0.access == .write && $0.isFull(limit: settings.clientQueueBytes) }) {
            await withCheckedContinuation { waitingForRoom.append($0) }
        }
    }

    private func resyncIfCaughtUp(_ id: Int) {
        guard var client = clients[id], client.lagging, client.queued == 0, client.unacknowledged == 0 else { return }
        let replay = screen.snapshot()
        client.lagging = false
        client.continuation.yield(.control(.resync(replayBytes: replay.count)))
        client.continuation.yield(.bytes(ByteBuffer(bytes: replay)))
        client.queued += replay.count
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
