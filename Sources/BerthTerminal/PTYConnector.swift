import BerthCore
import DockerEngine
import NIOCore

/// A live PTY: its output, and ways to write to it and resize it.
public struct PTYConnection: Sendable {
    /// Raw output of the PTY; reading slowly pauses the producer (backpressure).
    public let output: NIOAsyncChannelInboundStream<ByteBuffer>
    /// Writes input to the PTY.
    public let write: @Sendable (ByteBuffer) async throws -> Void
    /// Changes the PTY size.
    public let resize: @Sendable (TerminalSize) async throws -> Void

    /// Creates a connection from its parts.
    public init(
        output: NIOAsyncChannelInboundStream<ByteBuffer>, write: @escaping @Sendable (ByteBuffer) async throws -> Void,
        resize: @escaping @Sendable (TerminalSize) async throws -> Void
    ) {
        self.output = output
        self.write = write
        self.resize = resize
    }
}

/// Starts terminal processes inside instances.
public protocol PTYConnector: Sendable {
    /// Starts `terminal`'s command under a PTY of `size` in the container, runs `body` with the
    /// connection, closes it when `body` returns, and returns the process's exit code when known.
    func withPTY(containerID: String, terminal: TerminalSpec, size: TerminalSize, _ body: @Sendable (PTYConnection) async throws -> Void) async throws -> Int?
}

/// ``PTYConnector`` over Docker exec with `Tty: true` and a hijacked connection, on the engine that
/// runs the container.
public struct DockerPTYConnector: PTYConnector {
    /// The engine of each container.
    public let engines: any ContainerEngineResolver
    /// Non-default detach keys, so Ctrl-P and Ctrl-Q reach the shell.
    public let detachKeys: String

    /// Creates a connector for the containers of one engine.
    public init(docker: DockerClient, detachKeys: String) {
        self.init(engines: docker, detachKeys: detachKeys)
    }

    /// Creates a connector for containers on several engines (a swarm's nodes).
    public init(engines: any ContainerEngineResolver, detachKeys: String) {
        self.engines = engines
        self.detachKeys = detachKeys
    }

    public func withPTY(containerID: String, terminal: TerminalSpec, size: TerminalSize, _ body: @Sendable (PTYConnection) async throws -> Void) async throws -> Int? {
        let request = TTYExecRequest(
            command: terminal.command, user: terminal.user, workingDir: terminal.workdir,
            env: ["TERM=xterm-256color"], detachKeys: detachKeys
        )
        let docker = try await engines.engine(forContainer: containerID)
        let execID = try await docker.createTTYExec(containerID, request)
        try await docker.withExecStream(execID, initialSize: (cols: size.cols, rows: size.rows), coalescing: .terminal) { stream in
            let connection = PTYConnection(
                output: stream.inbound,
                write: { buffer in try await stream.outbound.write(buffer) },
                resize: { size in try await docker.resizeExec(execID, cols: size.cols, rows: size.rows) }
            )
            try await body(connection)
        }
        // The daemon records the exit a moment after the stream ends.
        return try await docker.waitForExecExit(execID, timeout: .milliseconds(500)).exitCode
    }
}
