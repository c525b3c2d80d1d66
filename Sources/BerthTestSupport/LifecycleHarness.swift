import BerthCore
import BerthEngine
import BerthStore
import DockerEngine
import Foundation
import Logging

/// The real parts of Berth wired together for an integration test: environment folders written
/// to a temporary directory and built through ``ImageBuilder``, a SQLite ``BerthDatabase`` on a temporary
/// file, a ``DockerRuntime`` in a namespace of its own, and the ``InstanceLifecycle`` over them.
/// When the scope ends every container and network of the namespace, the built images and the
/// files are removed.
public struct LifecycleHarness: Sendable {
    /// The engine client.
    public let docker: DockerClient
    /// The store on a temporary file.
    public let store: BerthDatabase
    /// The catalog loaded from the written folders.
    public let catalog: EnvironmentCatalog
    /// The runtime; its namespace is unique to this harness.
    public let runtime: DockerRuntime
    /// The lifecycle under test.
    public let lifecycle: InstanceLifecycle
    /// Users and tokens over the same store.
    public let accounts: Accounts
    /// The policy the lifecycle enforces.
    public let policy: LifecyclePolicy
    /// An admin user.
    public let admin: User
    /// The clock the lifecycle reads.
    public let clock: @Sendable () -> Date
    /// A logger that discards everything, for services the test starts.
    public let logger: Logger

    /// Sets everything up, runs `body`, and tears everything down, also when `body` throws.
    public static func with<Result: Sendable>(
        environments: [TestEnvironment], assignment: AssignmentMode = .user, ownerCap: Int = 3, globalCap: Int = 100,
        clock: @escaping @Sendable () -> Date = { Date() }, _ body: (LifecycleHarness) async throws -> Result
    ) async throws -> Result {
        let docker = try DockerClient.fromEnvironment()
        try await EngineFixture.requireEngine(docker)
        try await EngineFixture.requireBaseImage(docker)
        return try await TemporaryDirectory.with(prefix: "berth-harness") { directory in
            let environmentsFolder = directory.path("environments")
            for environment in environments { try environment.write(into: environmentsFolder) }
            let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }
            let catalog = EnvironmentCatalog(directory: environmentsFolder)
            let scan = try await catalog.reload()
            guard scan.isValid, scan.environments.count == environments.count else {
                throw FixtureError("test environments are invalid: \(scan.problems.map(\.description).joined(separator: "; "))")
            }
            let builder = ImageBuilder(docker: docker)
            var images: [String] = []
            do {
                for environment in scan.environments where environment.hasInstance {
                    images.append(try await builder.build(environment, folder: await catalog.folder(of: environment.slug)) { _ in })
                }
                let store = try await BerthDatabase.open(path: directory.path("berth.db").path, logger: logger)
                let namespace = "test-\(UniqueName.make())"
                let runtime = DockerRuntime(docker: docker, publishAddress: "127.0.0.1", namespace: namespace, environmentFolders: catalog)
                // A random slice of high ports, so parallel runs rarely race for the same host port.
                let firstPort = 30000 + Int.random(in: 0..<300) * 100
                let policy = LifecyclePolicy(
                    assignment: assignment, ownerCap: ownerCap, globalCap: globalCap, portRange: firstPort...(firstPort + 99),
                    endpointHost: "127.0.0.1"
                )
                let lifecycle = InstanceLifecycle(
                    store: store, runtime: runtime, catalog: catalog, policy: policy, logger: logger, clock: clock
                )
                let accounts = Accounts(store: store)
                let harness = LifecycleHarness(
                    docker: docker, store: store, catalog: catalog, runtime: runtime, lifecycle: lifecycle, accounts: accounts,
                    policy: policy, admin: try await accounts.createUser(name: "admin", role: .admin), clock: clock, logger: logger
                )
                let result: Result
                do {
                    result = try await body(harness)
                } catch {
                    await harness.tearDown()
                    throw error
                }
                await harness.tearDown()
                await removeImages(images, docker: docker)
                return result
            } catch {
                await removeImages(images, docker: docker)
                throw error
            }
        }
    }

    /// A new player.
    public func player(_ name: String) async throws -> User {
        try await accounts.createUser(name: name, role: .player)
    }

    /// A second lifecycle over the same store, runtime and catalog, as after a restart of Berth.
    public func restartedLifecycle() -> InstanceLifecycle {
        InstanceLifecycle(store: store, runtime: runtime, catalog: catalog, policy: policy, logger: logger, clock: clock)
    }

    /// The namespace label filter of this harness's containers and networks.
    public var namespaceFilter: String { "\(BerthLabel.namespace)=\(runtime.namespace)" }

    /// Inspects the container of a running instance.
    public func container(of instance: Instance) async throws -> ContainerInspect {
        guard let id = instance.containerID else { throw FixtureError("instance \(instance.id) has no container") }
        return try await docker.inspectContainer(id)
    }

    /// Runs a command in an instance's container as its terminal user.
    public func exec(_ instance: Instance, _ script: String) async throws -> ExecResult {
        guard let id = instance.containerID else { throw FixtureError("instance \(instance.id) has no container") }
        return try await docker.exec(id, command: ["/bin/sh", "-c", script])
    }

    /// True when the engine still has the container.
    public func containerExists(_ id: String) async throws -> Bool {
        do {
            _ = try await docker.inspectContainer(id)
            return true
        } catch let error as DockerError where error.isNotFound {
            return false
        }
    }

    private func tearDown() async {
        if let containers = try? await docker.listContainers(labels: [namespaceFilter]) {
            for container in containers { try? await docker.removeContainer(container.id, force: true) }
        }
        if let networks = try? await docker.listNetworks(labels: [namespaceFilter]) {
            for network in networks { try? await docker.removeNetwork(network.id) }
        }
        try? await store.close()
    }

    /// Removes the built environment images (by id) once no container uses them.
    private static func removeImages(_ references: [String], docker: DockerClient) async {
        for reference in references.reversed() { try? await docker.removeImage(reference, force: true) }
    }
}
