import BerthCore
import BerthEngine
import BerthTerminal
import BerthTestSupport
import DockerEngine
import Foundation
import NIOCore
import Testing

/// The fakes' own behaviour where it matters to the layers above: failures a test injects
/// surface as the real runtime's errors, and the scripted shell answers as a PTY does. (The
/// parts both share with the real engine are compared side by side in IntegrationTests'
/// `FakeContractTests`.)
@Suite("Fake engine and PTY")
struct FakeEngineTests {
    static func environment(_ slug: String = "web", network: NetworkPolicy = .isolated, ports: [PortSpec] = [PortSpec(port: 80, protocol: .http)]) throws -> EnvironmentSpec {
        let yaml = """
            name: \(slug)
            category: test
            image: berth/base:latest
            berth:
              network: \(network.rawValue)
              ports: [\(ports.map { "{port: \($0.port), protocol: \($0.protocol.rawValue)}" }.joined(separator: ", "))]
            """
        let outcome = EnvironmentParser().parse(yaml: yaml, file: "\(slug)/challenge.yml", slug: slug)
        return try #require(outcome.spec, "\(outcome.problems)")
    }

    static func instance(_ id: String = Identifier.make("inst"), environment: String = "web") -> Instance {
        let now = Date()
        return Instance(
            id: id, environment: environment, owner: Owner(kind: .user, id: "u_1"), requestedBy: "u_1", state: .starting, createdAt: now, updatedAt: now,
            expiresAt: now.addingTimeInterval(600), maxExpiresAt: now.addingTimeInterval(1200), renewalsLeft: 0
        )
    }

    @Test("a launch publishes the environment's ports on the host, records the hardened request, and is listed with its network")
    func launchPublishes() async throws {
        let runtime = FakeInstanceRuntime(publishAddress: "127.0.0.1")
        let instance = Self.instance()
        let placement = try await runtime.launch(instance: instance, environment: try Self.environment(), hostPorts: [31080])
        let container = try #require(await runtime.container(ofInstance: instance.id))
        #expect(container.id == placement.containerID && container.id.count == 64)
        #expect(container.name == "berth-\(instance.id)")
        #expect(container.ports == [FakeInstanceRuntime.PublishedPort(containerPort: 80, hostPort: 31080, hostAddress: "127.0.0.1")])
        #expect(container.request.hostConfig.capDrop == ["ALL"])
        #expect(container.request.labels[BerthLabel.instance] == instance.id)
        #expect(placement.networkID != nil)
        #expect(try await runtime.managedNetworks().map(\.instanceID) == [instance.id])
        #expect(await runtime.calls == [.launch(instanceID: instance.id, environment: "web", hostPorts: [31080]), .managedNetworks])

        let offline = try await runtime.launch(instance: Self.instance(), environment: try Self.environment("solo", network: .none, ports: []), hostPorts: [])
        #expect(offline.networkID == nil, "network none gets no network")
    }

    @Test("a host port in use, a missing image and an injected failure fail the launch as the real runtime does")
    func launchFailures() async throws {
        let runtime = FakeInstanceRuntime()
        let web = try Self.environment()
        _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31080])
        await #expect(throws: LaunchFailure.self) { _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31080]) }
        await runtime.occupyHostPorts([31081])
        do {
            _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31081])
            Issue.record("a taken port was published")
        } catch LaunchFailure.portTaken(let message) {
            #expect(message.contains("port is already allocated"))
        }
        await runtime.removeImage(of: "web")
        do {
            _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31082])
            Issue.record("a missing image launched")
        } catch LaunchFailure.imageMissing(let image) {
            #expect(image == "berth/base:latest")
        }
        await runtime.restoreImage(of: "web")
        await runtime.failNextLaunch(LaunchFailure.engine(DockerError(status: 500, message: "boom", operation: "start container")))
        await #expect(throws: LaunchFailure.self) { _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31083]) }
        _ = try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31083])
        #expect(await runtime.containers.count == 2)
    }

    @Test("an engine that is down fails every call as unreachable and drops the event stream; a wedged one answers a ping within its limit")
    func engineOutages() async throws {
        let runtime = FakeInstanceRuntime()
        try await runtime.ping()
        let dropped = Task { try await runtime.watchEnds { _ in } }
        while await runtime.watcherCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await runtime.setMode(.down)
        await #expect(throws: DockerError.self) { try await dropped.value }
        do {
            try await runtime.ping()
            Issue.record("a down engine answered")
        } catch let error as DockerError {
            #expect(error.isUnreachable)
        }
        do {
            _ = try await runtime.launch(instance: Self.instance(), environment: try Self.environment(), hostPorts: [31080])
        } catch LaunchFailure.engine(let error) {
            #expect(error.isUnreachable)
        }
        await runtime.setMode(.wedged)
        do {
            try await runtime.ping(timeout: .milliseconds(100))
            Issue.record("a wedged engine answered")
        } catch let error as DockerError {
            #expect(error.isUnreachable && error.message.contains("did not answer within 100 ms"), "\(error)")
        }
        await runtime.setMode(.up)
        try await runtime.ping(timeout: .milliseconds(100))
    }

    @Test("a hanging start waits until it is cancelled")
    func hangingStart() async throws {
        let runtime = FakeInstanceRuntime()
        await runtime.setLaunchesHang(true)
        let web = try Self.environment()
        let start = Task { try await runtime.launch(instance: Self.instance(), environment: web, hostPorts: [31080]) }
        while await runtime.launchCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        start.cancel()
        await #expect(throws: CancellationError.self) { _ = try await start.value }
        #expect(await runtime.containers.isEmpty)
    }

    @Test("a container that exits is reported with its code (and OOM), stays listed as not running, and refuses files")
    func exits() async throws {
        let runtime = FakeInstanceRuntime()
        let instance = Self.instance()
        let placement = try await runtime.launch(instance: instance, environment: try Self.environment(), hostPorts: [31080])
        let (ends, continuation) = AsyncStream<ContainerEnd>.makeStream()
        let watcher = Task { try await runtime.watchEnds { continuation.yield($0) } }
        while await runtime.watcherCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await runtime.exit(instanceID: instance.id, code: 137, oomKilled: true))
        var iterator = ends.makeAsyncIterator()
        #expect(await iterator.next() == ContainerEnd(instanceID: instance.id, exitCode: 137, oomKilled: true))
        #expect(try await runtime.managedContainers().map(\.running) == [false])
        await #expect(throws: LaunchFailure.self) {
            try await runtime.writeFile(containerID: placement.containerID, path: "/flag", contents: "x", user: nil)
        }
        #expect(await runtime.exit(instanceID: instance.id, code: 1) == false, "an exited container cannot exit again")
        watcher.cancel()
        try await watcher.value
    }

    /// Reads `output` until `marker` appears.
    static func read(_ output: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, until marker: String) async throws -> (String, NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        var iterator = output
        var text = ""
        while !text.contains(marker), let chunk = try await iterator.next() {
            text += String(decoding: chunk.readableBytesView, as: UTF8.self)
        }
        return (text, iterator)
    }

    @Test("the scripted shell prompts, echoes, runs lines, emits hostile bytes as they are, records resizes, and Ctrl-C Ctrl-D end it with 0")
    func scriptedShell() async throws {
        let pty = FakePTYConnector(shell: .init(prompt: "$ ", replies: ["whoami": "player\n"]))
        let code = try await pty.withPTY(containerID: "c1", terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24)) { connection in
            var output = connection.output.makeAsyncIterator()
            var text: String
            (text, output) = try await Self.read(output, until: "$ ")
            try await connection.write(ByteBuffer(string: "whoami\r"))
            (text, output) = try await Self.read(output, until: "player\r\n$ ")
            #expect(text == "whoami\r\nplayer\r\n$ ")
            try await connection.resize(TerminalSize(cols: 120, rows: 50))
            try await connection.write(ByteBuffer(string: "stty size\r"))
            (text, output) = try await Self.read(output, until: "50 120\r\n")
            #expect(await pty.emit([0x1b, 0x5d, 0x30, 0x3b, 0xff, 0x00, 0x07]) == 1)
            let hostile = try #require(try await output.next())
            #expect(Array(hostile.readableBytesView) == [0x1b, 0x5d, 0x30, 0x3b, 0xff, 0x00, 0x07], "emitted bytes arrive unchanged")
            try await connection.write(ByteBuffer(bytes: [0x03, 0x04]))
            while try await output.next() != nil {}
        }
        #expect(code == 0)
        let session = try #require(await pty.sessions.first)
        #expect(session.resizes == [TerminalSize(cols: 120, rows: 50)] && session.startSize == TerminalSize(cols: 80, rows: 24))
        #expect(session.commands == ["whoami", "stty size"])
        #expect(session.ended && session.exitCode == 0)
        #expect(await pty.liveCount == 0)
    }

    @Test("a PTY starts only in a running container, ends when the container stops, and a test can end a shell with a code")
    func ptyFollowsContainer() async throws {
        let runtime = FakeInstanceRuntime()
        let pty = FakePTYConnector(runtime: runtime)
        await #expect(throws: DockerError.self) {
            _ = try await pty.withPTY(containerID: "missing", terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24)) { _ in }
        }
        let instance = Self.instance()
        let placement = try await runtime.launch(instance: instance, environment: try Self.environment(), hostPorts: [31080])
        let exited = try await pty.withPTY(containerID: placement.containerID, terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24)) { connection in
            #expect(await pty.exitShells(code: 42) == 1)
            for try await _ in connection.output {}
        }
        #expect(exited == 42)
        let stopped = try await pty.withPTY(containerID: placement.containerID, terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24)) { connection in
            await runtime.exit(instanceID: instance.id, code: 0)
            for try await _ in connection.output {}
        }
        #expect(stopped == nil, "a shell killed with its container has no exit code of its own")
        await #expect(throws: DockerError.self) {
            _ = try await pty.withPTY(containerID: placement.containerID, terminal: TerminalSpec(), size: TerminalSize(cols: 80, rows: 24)) { _ in }
        }
    }
}
