import BerthCore
import BerthTerminal
import DockerEngine
import Foundation
import NIOCore

/// A ``PTYConnector`` whose PTYs run a scripted shell in memory, for terminal-hub and WebSocket
/// tests that are not about the engine.
///
/// Each PTY behaves as a shell under a PTY in cooked mode does for the layers above: it prints
/// ``Shell/prompt`` when it starts, echoes what is typed (Enter as `\r\n`), runs a line on Enter
/// (`echo WORDS`, `stty size`, `exit [CODE]`, the lines of ``Shell/replies``, otherwise
/// `CMD: not found`), prints `^C` and a new prompt on Ctrl-C, and exits with 0 on Ctrl-D at
/// an empty line, which is how ``TerminalSession`` asks a shell to end. When the shell exits its
/// output ends and ``withPTY(containerID:terminal:size:_:)`` returns the exit code; when the body
/// returns first, the process is left running and its code is unknown (nil), as with Docker.
///
/// With a ``FakeInstanceRuntime``, a PTY starts only in a running container (404 or 409
/// ``DockerError`` otherwise, as `docker exec` answers) and its output ends when the container stops.
///
/// A test drives the process's side: ``emit(_:containerID:)`` writes any bytes (hostile ones
/// included), ``exitShells(code:containerID:)`` ends shells, ``failNextStart(_:)`` breaks a start,
/// and ``sessions`` shows what each PTY received: input, start size and resizes.
public actor FakePTYConnector: PTYConnector {
    /// What the scripted shell prints and answers.
    public struct Shell: Sendable {
        /// Printed when the shell starts and after each command.
        public var prompt: String
        /// Replies to whole lines, before the built-in commands: line → output (newlines become `\r\n`).
        public var replies: [String: String]
        /// False for a PTY with echo off (a password prompt, a raw-mode program).
        public var echo: Bool

        /// Creates a shell.
        public init(prompt: String = "$ ", replies: [String: String] = [:], echo: Bool = true) {
            self.prompt = prompt
            self.replies = replies
            self.echo = echo
        }
    }

    /// What one PTY has seen so far.
    public struct Session: Sendable {
        /// The order the PTY was started in, from 1.
        public var number: Int
        /// The container it runs in.
        public var containerID: String
        /// The terminal declaration it was started with.
        public var terminal: TerminalSpec
        /// The size it was started with.
        public var startSize: TerminalSize
        /// Every resize, in order.
        public var resizes: [TerminalSize]
        /// Every byte written to it.
        public var input: [UInt8]
        /// The lines the shell ran.
        public var commands: [String]
        /// True once its shell exited or its connection closed.
        public var ended: Bool
        /// The shell's exit code, once it exited.
        public var exitCode: Int?

        /// The current size: the last resize, or the start size.
        public var size: TerminalSize { resizes.last ?? startSize }
    }

    private struct Live {
        var session: Session
        var line: [UInt8] = []
        let source: NIOAsyncChannelInboundStream<ByteBuffer>.TestSource
    }

    /// The fake engine whose containers the PTYs run in, if any.
    public nonisolated let runtime: FakeInstanceRuntime?
    private var shell: Shell
    private var live: [Int: Live] = [:]
    private var started = 0
    private var startFailures: [any Error] = []

    /// Creates a connector running `shell`, in `runtime`'s containers when given.
    public init(runtime: FakeInstanceRuntime? = nil, shell: Shell = Shell()) {
        self.runtime = runtime
        self.shell = shell
    }

    // MARK: - What a test controls

    /// Replaces the script of shells started from now on.
    public func setShell(_ shell: Shell) {
        self.shell = shell
    }

    /// Makes the next start fail with `error` before any output, as a failed `docker exec` create.
    public func failNextStart(_ error: any Error) {
        startFailures.append(error)
    }

    /// Writes `bytes` as output of every live PTY (of `containerID` only, when given). Returns
    /// how many PTYs got them.
    @discardableResult
    public func emit(_ bytes: [UInt8], containerID: String? = nil) -> Int {
        let targets = live.filter { containerID == nil || $0.value.session.containerID == containerID }
        for target in targets.values { target.source.yield(ByteBuffer(bytes: bytes)) }
        return targets.count
    }

    /// Ends every live shell (of `containerID` only, when given) with `code`, as `exit CODE` would.
    /// Returns how many ended.
    @discardableResult
    public func exitShells(code: Int, containerID: String? = nil) -> Int {
        let targets = live.keys.filter { containerID == nil || live[$0]?.session.containerID == containerID }
        for number in targets { end(number, exitCode: code) }
        return targets.count
    }

    // MARK: - What a test reads

    /// Every PTY started so far, oldest first.
    public var sessions: [Session] {
        ended.merging(live.mapValues(\.session)) { _, current in current }.values.sorted { $0.number < $1.number }
    }

    /// The number of PTYs whose shell is running.
    public var liveCount: Int { live.count }

    private var ended: [Int: Session] = [:]

    // MARK: - PTYConnector

    public nonisolated func withPTY(
        containerID: String, terminal: TerminalSpec, size: TerminalSize, _ body: @Sendable (PTYConnection) async throws -> Void
    ) async throws -> Int? {
        if let runtime {
            guard let container = await runtime.container(id: containerID) else {
                throw DockerError(status: 404, message: "No such container: \(containerID)", operation: "create exec")
            }
            guard container.running else {
                throw DockerError(status: 409, message: "Container \(containerID) is not running", operation: "create exec")
            }
        }
        let (output, source) = NIOAsyncChannelInboundStream<ByteBuffer>.makeTestingStream()
        let number = try await open(containerID: containerID, terminal: terminal, size: size, source: source)
        let connection = PTYConnection(
            output: output,
            write: { bytes in try await self.received(bytes, in: number) },
            resize: { size in try await self.resized(size, in: number) }
        )
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let runtime {
                    group.addTask {
                        // A stopped container takes its processes with it: the output ends.
                        await runtime.waitUntilStopped(containerID)
                        if !Task.isCancelled { await self.end(number, exitCode: nil) }
                    }
                }
                try await body(connection)
                group.cancelAll()
            }
        } catch {
            await close(number)
            throw error
        }
        return await close(number)
    }

    // MARK: - The scripted shell

    private func open(containerID: String, terminal: TerminalSpec, size: TerminalSize, source: NIOAsyncChannelInboundStream<ByteBuffer>.TestSource) throws -> Int {
        if !startFailures.isEmpty { throw startFailures.removeFirst() }
        started += 1
        let session = Session(
            number: started, containerID: containerID, terminal: terminal, startSize: size, resizes: [], input: [], commands: [], ended: false, exitCode: nil
        )
        live[started] = Live(session: session, source: source)
        source.yield(ByteBuffer(string: shell.prompt))
        return started
    }

    /// The connection closed: the shell's code if it exited, nil if it still runs.
    private func close(_ number: Int) -> Int? {
        if let current = live.removeValue(forKey: number) {
            var session = current.session
            session.ended = true
            ended[number] = session
            current.source.finish()
        }
        return ended[number]?.exitCode
    }

    private func end(_ number: Int, exitCode: Int?) {
        guard let current = live.removeValue(forKey: number) else { return }
        var session = current.session
        session.ended = true
        session.exitCode = exitCode
        ended[number] = session
        current.source.finish()
    }

    private func received(_ bytes: ByteBuffer, in number: Int) throws {
        guard var current = live[number] else { throw ChannelError.ioOnClosedChannel }
        current.session.input += bytes.readableBytesView
        var out: [UInt8] = []
        var exit: Int?
        for byte in bytes.readableBytesView where exit == nil {
            switch byte {
            case 0x03:
                out += Array("^C\r\n\(shell.prompt)".utf8)
                current.line.removeAll()
            case 0x04 where current.line.isEmpty:
                out += Array("exit\r\n".utf8)
                exit = 0
            case 0x04:
                break
            case 0x0d, 0x0a:
                if shell.echo { out += [0x0d, 0x0a] }
                let line = String(decoding: current.line, as: UTF8.self)
                current.line.removeAll()
                current.session.commands.append(line)
                switch run(line, size: current.session.size) {
                case .output(let text): out += Array((text + shell.prompt).utf8)
                case .exit(let code): exit = code
                }
            case 0x7f, 0x08:
                if !current.line.isEmpty {
                    current.line.removeLast()
                    if shell.echo { out += [0x08, 0x20, 0x08] }
                }
            default:
                current.line.append(byte)
                if shell.echo { out.append(byte) }
            }
        }
        live[number] = current
        if !out.isEmpty { current.source.yield(ByteBuffer(bytes: out)) }
        if let exit { end(number, exitCode: exit) }
    }

    private func resized(_ size: TerminalSize, in number: Int) throws {
        guard live[number] != nil else {
            throw DockerError(status: 404, message: "No such exec instance", operation: "resize exec")
        }
        live[number]?.session.resizes.append(size)
    }

    private enum Outcome {
        case output(String)
        case exit(Int)
    }

    private func run(_ line: String, size: TerminalSize) -> Outcome {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if let reply = shell.replies[trimmed] { return .output(Self.crlf(reply)) }
        let words = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let command = words.first else { return .output("") }
        switch command {
        case "exit": return .exit(words.count > 1 ? Int(words[1]) ?? 2 : 0)
        case "echo": return .output(words.dropFirst().joined(separator: " ") + "\r\n")
        case "stty" where words.dropFirst().first == "size": return .output("\(size.rows) \(size.cols)\r\n")
        default: return .output("\(command): not found\r\n")
        }
    }

    private static func crlf(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        return text.hasSuffix("\n") || text.isEmpty ? lines : lines + "\r\n"
    }
}
