import BerthCore
import BerthEngine
import BerthTerminal
import BerthTestSupport
import DockerEngine
import Foundation
import NIOCore
import Testing

/// The fakes in BerthTestSupport stand in for the engine in API tests, so they must keep the same
/// contract as the real thing: each scenario here runs on ``DockerRuntime`` (and
/// ``DockerPTYConnector``) and on ``FakeInstanceRuntime`` (and ``FakePTYConnector``), and expects
/// the same answers.
extension Integration {
    @Suite("The fakes keep the engine's contract")
    struct FakeContractTests {
        /// The two implementations, built over one harness's environments.
        enum Kind: String, CaseIterable, CustomTestStringConvertible {
            case docker, fake
            var testDescription: String { rawValue }
        }

        static func instance(_ id: String, environment: String) -> Instance {
            let now = Date()
            return Instance(
                id: id, environment: environment, owner: Owner(kind: .user, id: "u_contract"), requestedBy: "u_contract", state: .starting, createdAt: now,
                updatedAt: now, expiresAt: now.addingTimeInterval(600), maxExpiresAt: now.addingTimeInterval(1200), renewalsLeft: 0
            )
        }

        /// Collects what a runtime's event watcher reports.
        actor Ends {
            private(set) var all: [ContainerEnd] = []
            func add(_ end: ContainerEnd) { all.append(end) }
        }

        @Test("launch, list, write a file, destroy twice (the second is a no-op); a removed running container is reported as ended with 137", arguments: Kind.allCases)
        func runtimeLifecycle(kind: Kind) async throws {
            try await LifecycleHarness.with(environments: [Environments.web]) { harness in
                let runtime: any InstanceRuntime = kind == .docker ? harness.runtime : FakeInstanceRuntime()
                let web = try #require(await harness.catalog.environment(Environments.webSlug))
                let port = harness.policy.portRange.lowerBound
                let instance = Self.instance(Identifier.make("inst"), environment: web.slug)
                let ends = Ends()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await runtime.watchEnds { await ends.add($0) } }
                    // The event stream is open once the engine answered it; give it a moment.
                    try await Task.sleep(for: .milliseconds(300))

                    let placement = try await runtime.launch(instance: instance, environment: web, hostPorts: [port])
                    #expect(placement.networkID != nil, "an isolated environment gets a network of its own")
                    let containers = try await runtime.managedContainers()
                    #expect(containers.contains { $0.id == placement.containerID && $0.instanceID == instance.id && $0.running })
                    #expect(try await runtime.managedNetworks().contains { $0.id == placement.networkID && $0.instanceID == instance.id })

                    try await runtime.writeFile(containerID: placement.containerID, path: "/tmp/flag/flag.txt", contents: "flag{x}", user: "1000:1000")

                    try await runtime.destroy(containerID: placement.containerID, networkID: placement.networkID)
                    try await runtime.destroy(containerID: placement.containerID, networkID: placement.networkID)
                    #expect(try await runtime.managedContainers().allSatisfy { $0.instanceID != instance.id })
                    #expect(try await runtime.managedNetworks().allSatisfy { $0.instanceID != instance.id })
                    let deadline = ContinuousClock.now + .seconds(20)
                    while await ends.all.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                    group.cancelAll()
                }
                let reported = await ends.all
                #expect(reported.contains { $0.instanceID == instance.id && $0.exitCode == 137 && !$0.oomKilled }, "\(reported)")
                await #expect(throws: (any Error).self) {
                    try await runtime.writeFile(containerID: "no-such-container", path: "/tmp/x", contents: "x", user: nil)
                }
            }
        }

        @Test("a missing image fails the launch with imageMissing and leaves nothing behind", arguments: Kind.allCases)
        func missingImage(kind: Kind) async throws {
            try await LifecycleHarness.with(environments: [Environments.web]) { harness in
                var web = try #require(await harness.catalog.environment(Environments.webSlug))
                let runtime: any InstanceRuntime
                if kind == .docker {
                    web.image = .prebuilt(reference: "berth-test/no-such-image:\(UniqueName.make())")
                    runtime = DockerRuntime(docker: harness.docker, publishAddress: "127.0.0.1", namespace: harness.runtime.namespace)
                } else {
                    let fake = FakeInstanceRuntime()
                    await fake.removeImage(of: web.slug)
                    runtime = fake
                }
                let instance = Self.instance(Identifier.make("inst"), environment: web.slug)
                do {
                    _ = try await runtime.launch(instance: instance, environment: web, hostPorts: [harness.policy.portRange.lowerBound])
                    Issue.record("a launch without its image succeeded")
                } catch LaunchFailure.imageMissing {
                } catch {
                    Issue.record("expected imageMissing, got \(error)")
                }
                #expect(try await runtime.managedContainers().isEmpty)
                #expect(try await runtime.managedNetworks().isEmpty)
            }
        }

        /// Reads a PTY's output until `marker` appears (or the output ends).
        static func read(
            _ output: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, until marker: String
        ) async throws -> String {
            var text = ""
            while !text.contains(marker), let chunk = try await output.next() {
                text += String(decoding: chunk.readableBytesView, as: UTF8.self)
            }
            return text
        }

        @Test("a PTY echoes typed input, runs a line, reports its size, and returns the shell's exit code", arguments: Kind.allCases)
        func ptyContract(kind: Kind) async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let shell = try #require(await harness.catalog.environment(Environments.shellSlug))
                let alice = try await harness.player("alice")
                let instance = try await harness.lifecycle.request(environment: shell.slug, by: alice)
                let connector: any PTYConnector
                let containerID: String
                if kind == .docker {
                    connector = DockerPTYConnector(docker: harness.docker, detachKeys: TerminalSettings().detachKeys)
                    containerID = try #require(instance.containerID)
                } else {
                    let fake = FakeInstanceRuntime()
                    containerID = try await fake.launch(instance: instance, environment: shell, hostPorts: []).containerID
                    connector = FakePTYConnector(runtime: fake)
                }
                let code = try await connector.withPTY(containerID: containerID, terminal: shell.berth.terminal, size: TerminalSize(cols: 90, rows: 30)) { pty in
                    var output = pty.output.makeAsyncIterator()
                    try await pty.write(ByteBuffer(string: "echo contract-$((6*7))\r"))
                    _ = try await Self.read(&output, until: "contract-")
                    try await pty.resize(TerminalSize(cols: 100, rows: 40))
                    try await pty.write(ByteBuffer(string: "stty size\r"))
                    let size = try await Self.read(&output, until: "40 100")
                    #expect(size.contains("40 100"), "\(size)")
                    try await pty.write(ByteBuffer(string: "exit 3\r"))
                    while try await output.next() != nil {}
                }
                #expect(code == 3)
            }
        }
    }
}
