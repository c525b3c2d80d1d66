import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import Logging
import Synchronization
import Testing

/// The Swarm runtime on a real swarm: the three-node harness of `scripts/swarm-harness.sh`, named
/// by `BERTH_TEST_SWARM_ENV` (its env file; `make test-swarm` sets it). Without it the suite is skipped.
/// The harness's settings, read from its env file.
enum SwarmHarness {
    struct Settings {
        var manager: String
        var tlsDirectory: String
        var nodeAddresses: [String]
    }

    /// The env file named by `BERTH_TEST_SWARM_ENV`, nil when unset (the suite is skipped).
    static let file: String? = ProcessInfo.processInfo.environment["BERTH_TEST_SWARM_ENV"].flatMap { $0.isEmpty ? nil : $0 }

    /// The settings in ``file``; nil when it is missing or incomplete (the tests then fail).
    static let settings: Settings? = {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let body = line.hasPrefix("export ") ? line.dropFirst(7) : line[...]
            let parts = body.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            values[parts[0]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        guard let manager = values["BERTH_SWARM_MANAGER"], let tls = values["BERTH_SWARM_TLS_DIR"] else { return nil }
        return Settings(manager: manager, tlsDirectory: tls, nodeAddresses: (values["BERTH_SWARM_NODES"] ?? "").split(separator: " ").map(String.init))
    }()
}

@Suite("Swarm runtime on a real three-node swarm", .enabled(if: SwarmHarness.file != nil), .serialized)
struct SwarmRuntimeTests {
    static var harness: SwarmHarness.Settings? { SwarmHarness.settings }

    static let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }

    /// The harness's settings with `pool`, and its manager's engine.
    static func swarm(pool: String? = nil) throws -> (settings: SwarmSettings, manager: DockerClient) {
        let harness = try #require(Self.harness, "BERTH_TEST_SWARM_ENV names no readable harness env file")
        var settings = SwarmSettings()
        settings.tlsDirectory = harness.tlsDirectory
        settings.pool = pool
        return (settings, try DockerClient.fromEnvironment(["DOCKER_HOST": harness.manager]))
    }

    /// The harness's nodes as a fresh Berth sees them, limited to `pool` when given.
    static func nodes(pool: String? = nil, recheckInterval: Duration = .seconds(60)) throws -> SwarmNodes {
        let (settings, manager) = try swarm(pool: pool)
        return SwarmNodes(manager: manager, tls: try EngineTLS.load(directory: try #require(settings.tlsDirectory)), settings: settings, recheckInterval: recheckInterval, logger: logger)
    }

    /// Runs `body` with node `nodeID` labelled `berth.pool=pool`; the label is removed after, whatever happens.
    static func withPoolLabel(_ pool: String, on nodeID: String, _ body: () async throws -> Void) async throws {
        try managerCLI(["node", "update", "--label-add", "berth.pool=\(pool)", nodeID])
        do {
            try await body()
        } catch {
            try? managerCLI(["node", "update", "--label-rm", "berth.pool", nodeID])
            throw error
        }
        try managerCLI(["node", "update", "--label-rm", "berth.pool", nodeID])
    }

    /// Runs `body` with a runtime in a namespace of its own; every service of it is removed after.
    static func withRuntime(pendingSeconds: Int = 6, _ body: (SwarmRuntime) async throws -> Void) async throws {
        var (settings, manager) = try swarm()
        settings.pendingTimeoutSeconds = pendingSeconds
        let runtime = SwarmRuntime(manager: manager, nodes: try nodes(), settings: settings, namespace: "test-\(UniqueName.make())", logger: logger)
        do {
            try await body(runtime)
        } catch {
            await removeServices(of: runtime)
            throw error
        }
        await removeServices(of: runtime)
    }

    static func removeServices(of runtime: SwarmRuntime) async {
        let services = (try? await runtime.manager.listServices(labels: ["\(BerthLabel.namespace)=\(runtime.namespace)"])) ?? []
        for service in services { try? await runtime.manager.removeService(service.id) }
    }

    static func environment(_ berth: String) throws -> EnvironmentSpec {
        var spec = try ContainerLabBlueprintTests.spec(berth)
        spec.image = .prebuilt(reference: "berth/base:latest")
        return spec
    }

    static func instance(_ id: String = "inst_\(UniqueName.make())") -> Instance {
        let now = Date()
        return Instance(
            id: id, environment: "blueprint", owner: Owner(kind: .user, id: "usr_swarm"), requestedBy: "usr_swarm",
            state: .starting, createdAt: now, updatedAt: now, expiresAt: now, maxExpiresAt: now, renewalsLeft: 0)
    }

    @Test("every node passes the start-up check: TLS to its engine, seccomp, no inter-container traffic")
    func nodesAccepted() async throws {
        try await Self.withRuntime { runtime in
            try await runtime.checkManager()
            let nodes = try await runtime.nodes.checkNewNodes()
            #expect(nodes.count == 3)
            #expect(nodes.allSatisfy { $0.refusal == nil }, "\(nodes.map { "\($0.hostname): \($0.refusal ?? "ok")" })")
            #expect(Set(nodes.map(\.address)) == Set(Self.harness?.nodeAddresses ?? []))
        }
    }

    /// Runs the docker CLI against the harness's manager; fails the test when it fails.
    static func managerCLI(_ arguments: [String]) throws {
        let harness = try #require(Self.harness)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "-H", harness.manager] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "docker \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }

    @Test("a node the check refused is checked again after the re-check interval and accepted once fixed; a node an instance refused stays refused")
    func refusedNodeRechecked() async throws {
        let pool = "recheck-\(UniqueName.make())"
        let nodes = try Self.nodes(pool: pool, recheckInterval: .milliseconds(500))
        // No node is in the new pool: every one is refused, and says why.
        let before = try await nodes.checkNewNodes()
        #expect(before.count == 3 && before.allSatisfy { $0.refusal?.contains("not in pool \(pool)") == true }, "\(before)")
        let fixed = try #require(before.max { $0.hostname < $1.hostname })
        try await Self.withPoolLabel(pool, on: fixed.id) {
            // The operator fixed one node; a check younger than the interval is not repeated.
            #expect(try await nodes.checkNewNodes().first { $0.id == fixed.id }?.refusal != nil)
            try await Task.sleep(for: .milliseconds(600))
            let after = try await nodes.checkNewNodes()
            #expect(after.first { $0.id == fixed.id }?.refusal == nil, "\(after)")
            #expect(after.filter { $0.refusal != nil }.count == 2)
            var constraints = try await nodes.constraints()
            #expect(constraints.contains("node.labels.berth.pool==\(pool)"))
            #expect(!constraints.contains("node.id!=\(fixed.id)"), "\(constraints)")
            #expect(constraints.filter { $0.hasPrefix("node.id!=") }.count == 2, "\(constraints)")
            // An instance showed the node lacks a daemon default: the check cannot see that, so
            // the node stays refused past the interval.
            await nodes.refuse(fixed.id, reason: "its containers run without no-new-privileges")
            try await Task.sleep(for: .milliseconds(600))
            constraints = try await nodes.constraints()
            #expect(constraints.contains("node.id!=\(fixed.id)"), "\(constraints)")
        }
    }

    @Test("an image only the manager holds: its instances go to the manager, the workers are kept out; with no node holding it the start is image_not_found naming the nodes")
    func imageOnOneNode() async throws {
        let harness = try #require(Self.harness, "BERTH_TEST_SWARM_ENV names no readable harness env file")
        let managerAddress = try #require(harness.nodeAddresses.first)
        // A build on the manager alone gives an id the workers do not hold.
        let tag = "berth-test/manager-only-\(UniqueName.make().lowercased()):latest"
        var context = TarArchive()
        context.append(TarArchive.Entry(path: "Dockerfile", contents: Array("FROM berth/base:latest\nLABEL berth.test.unique=\"\(tag)\"\n".utf8)))
        let managerEngine = try DockerClient.fromEnvironment(["DOCKER_HOST": harness.manager], timeout: .seconds(120))
        let imageID = try await managerEngine.buildImage(context: try context.encoded(), tag: tag)
        do {
            try await Self.withRuntime { runtime in
                var environment = try Self.environment("command: [httpd, -f, -p, '8080', -h, /etc]\nports: [{port: 8080, protocol: http}]\nresources: {memory: 32m, cpus: 0.1}")
                environment.image = .prebuilt(reference: tag)
                let constraints = try await runtime.nodes.constraints(image: imageID, environment: "manager-only")
                let nodes = try await runtime.nodes.checkNewNodes()
                let workers = nodes.filter { $0.address != managerAddress }
                #expect(workers.count == 2)
                for worker in workers { #expect(constraints.contains("node.id!=\(worker.id)"), "\(constraints)") }
                let managerNode = try #require(nodes.first { $0.address == managerAddress })
                #expect(!constraints.contains("node.id!=\(managerNode.id)"), "\(constraints)")
                // Three starts in a row all land on the manager, where the swarm alone would spread them.
                for _ in 0..<3 {
                    let placement = try await runtime.launch(instance: Self.instance(), environment: environment, hostPorts: [])
                    #expect(placement.endpoints.first?.host == managerAddress, "\(placement.endpoints)")
                }
            }
            // Nodes restricted to one worker's pool: none of them holds the image.
            let worker = try #require(harness.nodeAddresses.last)
            let workerNode = try #require(try await Self.nodes().checkNewNodes().first { $0.address == worker })
            let pool = "images-\(UniqueName.make())"
            try await Self.withPoolLabel(pool, on: workerNode.id) {
                do {
                    _ = try await Self.nodes(pool: pool).constraints(image: imageID, environment: "manager-only")
                    Issue.record("a start with no node holding its image was placed")
                } catch let error as BerthError {
                    #expect(error.code == .imageNotFound)
                    #expect(error.message.contains(workerNode.hostname), "\(error.message)")
                    #expect(error.message.contains("docker load"))
                }
            }
        } catch {
            try? await managerEngine.removeImage(imageID, force: true)
            throw error
        }
        try? await managerEngine.removeImage(imageID, force: true)
    }

    @Test("an instance runs as a service whose task runs; its port is on the node's address; exec reaches it through the node's engine; removal removes the service")
    func launchExecDestroy() async throws {
        try await Self.withRuntime { runtime in
            let environment = try Self.environment(
                "command: [httpd, -f, -p, '8080', -h, /etc]\nports: [{port: 8080, protocol: http}]\nresources: {memory: 64m, cpus: 0.25, pids: 50}\n"
                    + "readOnlyRoot: true\nwritable: [/tmp, /home/player]\nterminal: {user: '1000'}"
            )
            let instance = Self.instance()
            let placement = try await runtime.launch(instance: instance, environment: environment, hostPorts: [])
            let serviceID = try #require(placement.networkID)
            let service = try await runtime.manager.inspectService(serviceID)
            #expect(service.spec.name == "berth-\(instance.id)")
            #expect(service.spec.taskTemplate.containerSpec.image.hasPrefix("sha256:"))
            let endpoint = try #require(placement.endpoints.first)
            #expect(endpoint.containerPort == 8080)
            #expect(Self.harness?.nodeAddresses.contains(endpoint.host) == true)
            #expect(endpoint.hostPort > 0)

            // Terminals, checks, files and flags all go through the node's engine.
            let engine = try await runtime.nodes.engine(forContainer: placement.containerID)
            let status = try await engine.exec(placement.containerID, command: ["cat", "/proc/1/status"])
            #expect(status.stdout.contains("NoNewPrivs:\t1"))
            #expect(status.stdout.contains("Seccomp:\t2"))
            let pids = try await engine.exec(placement.containerID, command: ["/bin/sh", "-c", "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max"])
            #expect(pids.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "50")
            // A writable folder the image has belongs to the terminal's user, as on one engine.
            try await runtime.writeFile(containerID: placement.containerID, path: "/home/player/flag.txt", contents: "berth{swarm}", user: "1000")
            let flag = try await engine.exec(placement.containerID, command: ["/bin/sh", "-c", "cat /home/player/flag.txt; stat -c %u /home/player; touch /x"], user: "1000")
            #expect(flag.stdout == "berth{swarm}\n1000\n")
            #expect(flag.stderr.contains("Read-only"))

            let listed = try await runtime.managedContainers()
            #expect(listed.contains { $0.id == serviceID && $0.instanceID == instance.id && $0.running })

            try await runtime.destroy(containerID: placement.containerID, networkID: serviceID)
            await #expect(throws: DockerError.self) { _ = try await runtime.manager.inspectService(serviceID) }
            // A service that no longer exists counts as already removed.
            try await runtime.destroy(containerID: placement.containerID, networkID: serviceID)
            #expect(try await runtime.managedContainers().isEmpty)

            // The writable folders' volumes (labelled) may outlive the task's container: sweeps remove
            // them once no container uses them.
            let labelled = ["label": ["\(BerthLabel.namespace)=\(runtime.namespace)"]]
            let deadline = ContinuousClock.now + .seconds(20)
            var left = try await engine.listVolumeNames(filters: labelled)
            while !left.isEmpty, ContinuousClock.now < deadline {
                await runtime.nodes.removeDanglingVolumes(namespace: runtime.namespace)
                try await Task.sleep(for: .milliseconds(500))
                left = try await engine.listVolumeNames(filters: labelled)
            }
            #expect(left.isEmpty)
        }
    }

    @Test("a task no node has room for fails the start with no capacity after the pending time, and its service is removed")
    func noCapacity() async throws {
        try await Self.withRuntime(pendingSeconds: 3) { runtime in
            let environment = try Self.environment("resources: {memory: 64m, cpus: 64, pids: 50}")
            let started = ContinuousClock.now
            do {
                _ = try await runtime.launch(instance: Self.instance(), environment: environment, hostPorts: [])
                Issue.record("a task needing 64 CPUs started")
            } catch LaunchFailure.noCapacity(let message) {
                #expect(message.contains("64"))
            }
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(try await runtime.managedContainers().isEmpty)
        }
    }

    @Test("an image the nodes do not have is image missing, not a hang")
    func missingImage() async throws {
        try await Self.withRuntime { runtime in
            var environment = try Self.environment("resources: {memory: 64m, cpus: 0.25, pids: 50}")
            environment.image = .prebuilt(reference: "berth-test/absent-\(UniqueName.make()):latest")
            await #expect(throws: LaunchFailure.self) {
                _ = try await runtime.launch(instance: Self.instance(), environment: environment, hostPorts: [])
            }
        }
    }

    @Test("a task whose program exits is reported once, with its exit code and container")
    func exitsAreWatched() async throws {
        try await Self.withRuntime { runtime in
            let environment = try Self.environment("command: [/bin/sh, -c, 'sleep 3; exit 7']\nresources: {memory: 64m, cpus: 0.25, pids: 50}")
            let instance = Self.instance()
            let placement = try await runtime.launch(instance: instance, environment: environment, hostPorts: [])
            let ends = Mutex<[ContainerEnd]>([])
            let watcher = Task { try await runtime.watchEnds { end in ends.withLock { $0.append(end) } } }
            defer { watcher.cancel() }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, ends.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(200)) }
            try await Task.sleep(for: .seconds(2))
            let seen = ends.withLock { $0 }
            #expect(seen.count == 1)
            #expect(seen.first?.instanceID == instance.id)
            #expect(seen.first?.exitCode == 7)
            #expect(seen.first?.containerID == placement.containerID)
        }
    }
}
