import Foundation
import HTTPTransport
import NIOCore

/// A command to run in a container without a TTY.
public struct PlainExecRequest: Sendable {
    /// The command and its arguments.
    public var command: [String]
    /// `user`, `uid` or `uid:gid` to run as; nil for the container's user.
    public var user: String?
    /// Working directory; nil for the container's.
    public var workingDir: String?
    /// Extra environment variables as `KEY=value`.
    public var env: [String]

    /// Creates a request.
    public init(command: [String], user: String? = nil, workingDir: String? = nil, env: [String] = []) {
        self.command = command
        self.user = user
        self.workingDir = workingDir
        self.env = env
    }
}

/// What an exec run by ``DockerClient/execBytes(_:_:input:maxStdoutBytes:timeout:)`` left: its exit
/// code and its output as raw bytes (binary safe, unlike ``ExecResult``).
public struct ExecBytes: Sendable, Equatable {
    /// Exit code of the command (126 or 127 when the engine could not start it).
    public var exitCode: Int
    /// Everything it wrote to stdout.
    public var stdout: [UInt8]
    /// Everything it wrote to stderr, cut at ``DockerClient/execStderrLimit`` bytes.
    public var stderr: [UInt8]

    /// Creates a result.
    public init(exitCode: Int, stdout: [UInt8], stderr: [UInt8]) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    /// stderr as text, for error messages.
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

extension DockerClient {
    /// The most stderr bytes kept of a plain exec: enough for any error message.
    public static let execStderrLimit = 64 << 10
    /// The size of each write of an exec's input.
    static let execInputChunkBytes = 64 << 10

    /// Runs `request` without a TTY over a hijacked connection: writes `input` (when given) to the
    /// process's stdin and then half-closes the connection so the process reads end-of-file, while
    /// handing each piece of its stdout to `stdout` as it arrives. Returns the exit code and stderr.
    ///
    /// ``exec(_:command:user:workingDir:env:maxOutputBytes:outputTimeout:)`` cannot send input and
    /// decodes output as text; file transfers need both. The process may stop reading its input
    /// early (it failed, or refused the request): the rest of the input is dropped and the exit code
    /// says what happened. After `timeout` the connection is closed and the call fails.
    public func execStreaming(
        _ containerID: String, _ request: PlainExecRequest, input: [UInt8]? = nil, timeout: Duration? = nil,
        stdout: (ByteBuffer) async throws -> Void
    ) async throws -> (exitCode: Int, stderr: [UInt8]) {
        let execID = try await createPlainExec(containerID, request, attachStdin: input != nil)
        let operation = "start exec"
        let connection: ExecConnection
        do {
            connection = try await ExecConnection.connect(to: transport.address, tls: transport.tls)
        } catch {
            throw DockerError(status: 0, message: "\(error)", operation: operation)
        }
        let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        let startRequest = Self.execStartRequest(execID: execID, address: transport.address, tty: false)
        let stderr: [UInt8] = try await connection.channel.executeThenClose { inbound, outbound in
            let channel = connection.channel.channel
            let outcome: ExecHandshakeOutcome
            do {
                try await outbound.write(startRequest)
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
            return try await withThrowingTaskGroup(of: Void.self) { group in
                if let input {
                    group.addTask {
                        // A process that exits without reading everything closes the stream: the
                        // rest is dropped, and its exit code tells the caller why.
                        var offset = 0
                        while offset < input.count, !Task.isCancelled {
                            let end = min(offset + Self.execInputChunkBytes, input.count)
                            do { try await outbound.write(ByteBuffer(bytes: input[offset..<end])) } catch { return }
                            offset = end
                        }
                        outbound.finish()
                    }
                }
                if let timeout {
                    group.addTask {
                        do { try await Task.sleep(for: timeout) } catch { return }
                        channel.close(promise: nil)
                    }
                }
                var demultiplexer = StreamDemultiplexer()
                var stderr: [UInt8] = []
                do {
                    for try await chunk in inbound {
                        for (stream, payload) in demultiplexer.feed(chunk) {
                            if stream == .stderr {
                                stderr += payload.readableBytesView.prefix(max(0, Self.execStderrLimit - stderr.count))
                            } else {
                                try await stdout(payload)
                            }
                        }
                    }
                } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
                    // Closed by the timer: reported below.
                }
                group.cancelAll()
                return stderr
            }
        }
        if let deadline, ContinuousClock.now >= deadline {
            let state = try? await inspectExec(execID)
            if state?.running ?? true {
                throw DockerError(status: 0, message: "the command did not finish within \(timeout.map { "\($0)" } ?? "")", operation: "exec")
            }
        }
        let state = try await waitForExecExit(execID)
        guard !state.running, let exitCode = state.exitCode else {
            throw DockerError(status: 0, message: "the command's output ended but it is still running", operation: "exec")
        }
        return (exitCode, stderr)
    }

    /// Runs `request` as ``execStreaming(_:_:input:timeout:stdout:)`` does and collects stdout;
    /// fails when stdout grows past `maxStdoutBytes`.
    public func execBytes(
        _ containerID: String, _ request: PlainExecRequest, input: [UInt8]? = nil, maxStdoutBytes: Int = 16 << 20,
        timeout: Duration? = nil
    ) async throws -> ExecBytes {
        var collected: [UInt8] = []
        let (exitCode, stderr) = try await execStreaming(containerID, request, input: input, timeout: timeout) { chunk in
            guard collected.count + chunk.readableBytes <= maxStdoutBytes else {
                throw DockerError(status: 0, message: "exec output exceeded \(maxStdoutBytes) bytes", operation: "exec")
            }
            collected += chunk.readableBytesView
        }
        return ExecBytes(exitCode: exitCode, stdout: collected, stderr: stderr)
    }
}
