import Foundation
import HTTPTransport
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// What a TTY exec runs.
public struct TTYExecRequest: Sendable {
    /// The detach keys Berth sets on every TTY exec: `ctrl-@,ctrl-^,ctrl-_,ctrl-]`
    /// (bytes `00 1e 1f 1d`).
    ///
    /// Docker always watches an attached TTY's input for a detach sequence (an empty `DetachKeys`
    /// means the default `ctrl-p,ctrl-q`), and detaching ends the session: Docker 20.10 writes
    /// "read escape sequence" into the stream and fails the exec (exit 126). This sequence leaves
    /// Ctrl-P and Ctrl-Q to the shell, is four keys long so it is never typed by accident, and starts
    /// with NUL (Ctrl-Space), the least used control key: the daemon holds a lone key that starts the
    /// sequence until the next one arrives, so this costs at most a delay on Ctrl-Space. The daemon
    /// only matches keys that arrive one per read, so a paste (many bytes at once) is not matched.
    public static let berthDetachKeys = "ctrl-@,ctrl-^,ctrl-_,ctrl-]"

    /// The command and its arguments, e.g. `["/bin/sh", "-l"]`.
    public var command: [String]
    /// `user`, `uid` or `uid:gid` to run as; nil for the container's user.
    public var user: String?
    /// Working directory; nil for the container's.
    public var workingDir: String?
    /// Extra environment variables as `KEY=value`.
    public var env: [String]
    /// Docker's `DetachKeys`: comma-separated `ctrl-<key>` or single characters.
    public var detachKeys: String

    /// Creates a request; `detachKeys` defaults to ``berthDetachKeys``.
    public init(
        command: [String], user: String? = nil, workingDir: String? = nil, env: [String] = [],
        detachKeys: String = TTYExecRequest.berthDetachKeys
    ) {
        self.command = command
        self.user = user
        self.workingDir = workingDir
        self.env = env
        self.detachKeys = detachKeys
    }
}

/// State of an exec from GET /exec/{id}/json.
public struct ExecState: Sendable, Equatable {
    /// True while the process runs.
    public var running: Bool
    /// The exit code once the process has ended, nil before.
    public var exitCode: Int?
    /// The process id on the host, 0 before it started.
    public var pid: Int

    /// Creates a state.
    public init(running: Bool, exitCode: Int?, pid: Int) {
        self.running = running
        self.exitCode = exitCode
        self.pid = pid
    }
}

/// A hijacked, bidirectional raw byte stream to an exec's PTY.
///
/// With a TTY the stream is not multiplexed: `inbound` carries the PTY's output as the process
/// wrote it (stdout and stderr together) and `outbound` types into the PTY. Reading applies
/// backpressure: while `inbound` is not read, at most a few socket reads are buffered and the
/// socket is not read further, so the daemon (and in the end the process) is held back.
/// Finishing `outbound` half-closes the connection; the daemon then ends the stream too, though
/// the process in the PTY keeps running until it exits on its own.
public struct ExecStream: Sendable {
    /// The PTY's output; ends when the process exits or the connection closes.
    public let inbound: NIOAsyncChannelInboundStream<ByteBuffer>
    /// Input for the PTY.
    public let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Wraps an inbound stream and an outbound writer (e.g. NIO's testing streams).
    public init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound
        self.outbound = outbound
    }
}

extension DockerClient {
    /// POST /containers/{id}/exec with Tty, AttachStdin/Stdout/Stderr true, DetachKeys set. Returns the exec id.
    public func createTTYExec(_ containerID: String, _ request: TTYExecRequest) async throws -> String {
        struct ExecCreate: Encodable {
            var AttachStdin = true
            var AttachStdout = true
            var AttachStderr = true
            var Tty = true
            var DetachKeys: String
            var Cmd: [String]
            var User: String?
            var WorkingDir: String?
            var Env: [String]
        }
        struct Created: Decodable { var Id: String }
        let create = ExecCreate(
            DetachKeys: request.detachKeys, Cmd: request.command, User: request.user, WorkingDir: request.workingDir, Env: request.env
        )
        let operation = "create exec"
        let response = try await call(.POST, "/containers/\(Self.escape(containerID))/exec", json: create, operation: operation)
        do {
            return try JSONDecoder().decode(Created.self, from: response.body).Id
        } catch {
            throw DockerError(status: 0, message: "unexpected answer from the engine: \(error)", operation: operation)
        }
    }

    /// POST /exec/{id}/start {"Detach":false,"Tty":true} with `Connection: Upgrade`, `Upgrade: tcp`, then hands the raw stream to `body`; the connection is closed when body returns or throws. Throws DockerError with the daemon's message when the daemon answers with an error status instead of 101 (or 200 on engines that don't send 101).
    ///
    /// With `initialSize`, the PTY is resized (``resizeExec(_:cols:rows:)``) after the daemon accepted
    /// the start and before `body` runs; the daemon waits for the process to start before it
    /// resizes. That resize is best effort: it fails only when the process already ended, and then
    /// `body` still gets the stream with whatever the process wrote. Errors thrown by `body` are
    /// rethrown unchanged; failures before `body` runs are ``DockerError``s (status 0 when the
    /// daemon could not be reached or answered garbage).
    ///
    /// With `coalescing`, output that arrives in quick succession reaches `inbound` in fewer,
    /// larger buffers (see ``OutputCoalescing``); without it, each socket read is one buffer.
    public func withExecStream<R: Sendable>(
        _ execID: String, initialSize: (cols: Int, rows: Int)?, coalescing: OutputCoalescing? = nil,
        _ body: (ExecStream) async throws -> R
    ) async throws -> R {
        let operation = "start exec"
        let connection: ExecConnection
        do {
            connection = try await ExecConnection.connect(to: transport.address, tls: transport.tls, coalescing: coalescing)
        } catch {
            throw DockerError(status: 0, message: "\(error)", operation: operation)
        }
        let request = Self.execStartRequest(execID: execID, address: transport.address)
        return try await connection.channel.executeThenClose { inbound, outbound in
            let outcome: ExecHandshakeOutcome
            do {
                try await outbound.write(request)
                let channel = connection.channel.channel
                outcome = try await withTaskCancellationHandler {
                    try await connection.handshake.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
            } catch {
                throw DockerError(status: 0, message: "\(TransportError.tls(error, failure: connection.tlsFailure, address: transport.address.description) ?? error)", operation: operation)
            }
            if case .rejected(let head, let errorBody) = outcome {
                throw Self.error(status: head.status, body: ByteBuffer(bytes: errorBody), operation: operation)
            }
            if let initialSize {
                try? await resizeExec(execID, cols: initialSize.cols, rows: initialSize.rows)
            }
            return try await body(ExecStream(inbound: inbound, outbound: outbound))
        }
    }

    /// POST /exec/{id}/resize?h=&w=
    public func resizeExec(_ execID: String, cols: Int, rows: Int) async throws {
        guard cols > 0, rows > 0, cols <= Int(UInt16.max), rows <= Int(UInt16.max) else {
            throw DockerError(status: 400, message: "invalid terminal size \(cols)x\(rows)", operation: "resize exec")
        }
        _ = try await call(.POST, "/exec/\(Self.escape(execID))/resize?h=\(rows)&w=\(cols)", operation: "resize exec")
    }

    /// GET /exec/{id}/json
    public func inspectExec(_ execID: String) async throws -> ExecState {
        struct Inspect: Decodable {
            var Running: Bool
            var ExitCode: Int?
            var Pid: Int?
        }
        let operation = "inspect exec"
        let response = try await call(.GET, "/exec/\(Self.escape(execID))/json", operation: operation)
        do {
            let inspect = try JSONDecoder().decode(Inspect.self, from: response.body)
            return ExecState(running: inspect.Running, exitCode: inspect.Running ? nil : inspect.ExitCode, pid: inspect.Pid ?? 0)
        } catch {
            throw DockerError(status: 0, message: "unexpected answer from the engine: \(error)", operation: operation)
        }
    }

    /// Polls ``inspectExec(_:)`` until the exec is no longer running (the daemon records the exit
    /// a moment after the stream ends) or `timeout` passes, and returns the last state.
    public func waitForExecExit(_ execID: String, timeout: Duration = .seconds(5)) async throws -> ExecState {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var state = try await inspectExec(execID)
        while state.running && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            state = try await inspectExec(execID)
        }
        return state
    }

    // MARK: - Plumbing

    /// The bytes of the exec start request that asks the daemon to hijack the connection; `tty`
    /// must match the exec's creation (without a TTY the stream is multiplexed).
    static func execStartRequest(execID: String, address: TransportAddress, tty: Bool = true) -> ByteBuffer {
        let body = #"{"Detach":false,"Tty":"# + (tty ? "true" : "false") + "}"
        let host: String
        switch address {
        case .unix: host = "localhost"
        case .tcp(let name, let port): host = "\(name):\(port)"
        }
        let head = [
            "POST /v\(apiVersion)/exec/\(escape(execID))/start HTTP/1.1",
            "Host: \(host)",
            "User-Agent: berth",
            "Content-Type: application/json",
            "Content-Length: \(body.utf8.count)",
            "Connection: Upgrade",
            "Upgrade: tcp",
        ].joined(separator: "\r\n")
        return ByteBuffer(string: head + "\r\n\r\n" + body)
    }
}

/// A fresh connection to the daemon for one exec stream: the raw channel plus the future answer to
/// the start request.
struct ExecConnection: Sendable {
    /// Socket reads buffered for a consumer that is not reading, before the socket is no longer read.
    static let highWatermark = 8
    /// Buffered reads below which reading the socket resumes.
    static let lowWatermark = 2

    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let handshake: EventLoopFuture<ExecHandshakeOutcome>
    /// The first error of the TLS session, when the connection is TLS.
    let tlsFailure: TLSFailure

    /// Connects to the daemon at `address`, over `tls` when given (the TLS handler sits in front of
    /// the handshake parser, which then sees plain bytes).
    static func connect(
        to address: TransportAddress, tls: TransportTLS? = nil, coalescing: OutputCoalescing? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, timeout: TimeAmount = .seconds(5)
    ) async throws -> ExecConnection {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(timeout)
        let tlsFailure = TLSFailure()
        let initializer: @Sendable (any Channel) -> EventLoopFuture<ExecConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let promise = channel.eventLoop.makePromise(of: ExecHandshakeOutcome.self)
                try tls?.addHandlers(to: channel, recordingFailuresIn: tlsFailure)
                try channel.pipeline.syncOperations.addHandler(ExecHandshakeHandler(outcome: promise))
                if let coalescing {
                    try channel.pipeline.syncOperations.addHandler(OutputCoalescingHandler(coalescing))
                }
                // Coalesced buffers are larger, so fewer of them are buffered: about the same bytes.
                let watermarks = coalescing == nil ? (low: lowWatermark, high: highWatermark) : (low: 1, high: 4)
                let configuration = NIOAsyncChannel<ByteBuffer, ByteBuffer>.Configuration(
                    backPressureStrategy: .init(lowWatermark: watermarks.low, highWatermark: watermarks.high),
                    isOutboundHalfClosureEnabled: true
                )
                let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel, configuration: configuration)
                return ExecConnection(channel: wrapped, handshake: promise.futureResult, tlsFailure: tlsFailure)
            }
        }
        do {
            switch address {
            case .unix(let path):
                return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
            case .tcp(let host, let port):
                return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            }
        } catch {
            throw TransportError.connectFailed(address: address.description, reason: "\(error)")
        }
    }
}
