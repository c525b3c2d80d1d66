import BerthCore
import DockerEngine
import Foundation
import Logging

/// Where a launched instance lives in the engine.
public struct RuntimePlacement: Sendable, Equatable {
    /// The container id.
    public var containerID: String
    /// The other engine object the instance holds, removed with it: its network on one engine,
    /// its service on a swarm.
    public var networkID: String?
    /// Where the engine published each declared port, for runtimes that choose host ports
    /// themselves (``InstanceRuntime/choosesHostPorts``); empty otherwise.
    public var endpoints: [PublishedPort]

    /// Creates a placement (runtimes other than Docker's build their own).
    public init(containerID: String, networkID: String?, endpoints: [PublishedPort] = []) {
        self.containerID = containerID
        self.networkID = networkID
        self.endpoints = endpoints
    }
}

/// A container port as published by the engine: the host (a swarm node's address) and its port.
public struct PublishedPort: Sendable, Equatable {
    /// The port inside the container.
    public var containerPort: Int
    /// The address players reach it at.
    public var host: String
    /// The port on that address.
    public var hostPort: Int

    /// Creates a published port.
    public init(containerPort: Int, host: String, hostPort: Int) {
        self.containerPort = containerPort
        self.host = host
        self.hostPort = hostPort
    }
}

/// A container or network the engine holds with Berth's labels.
public struct ManagedResource: Sendable, Equatable {
    /// Engine id.
    public var id: String
    /// The `berth.instance` label.
    public var instanceID: String
    /// True for a running container.
    public var running: Bool

    /// Creates a resource.
    public init(id: String, instanceID: String, running: Bool) {
        self.id = id
        self.instanceID = instanceID
        self.running = running
    }
}

/// Why a launch failed, so the lifecycle can answer with the right status.
public enum LaunchFailure: Error, Sendable {
    /// The environment's image is not in the engine.
    case imageMissing(String)
    /// A host port was taken by something else.
    case portTaken(String)
    /// The engine answered with an error.
    case engine(DockerError)
    /// No node has room for the instance (a swarm task stayed pending); the message says why.
    case noCapacity(String)
    /// The engine refused the instance for a reason it states (a swarm task was rejected).
    case refused(String)
}

/// The engine that runs instances. Docker Engine is the default; Swarm can follow behind the
/// same protocol, so the lifecycle, API and tests stay the same.
public protocol InstanceRuntime: Sendable {
    /// Succeeds when the engine answers.
    func ping() async throws
    /// Succeeds when the engine answers within `timeout`; fails as unreachable otherwise.
    func ping(timeout: Duration) async throws
    /// Creates and starts a hardened container (and its network) for `instance`, binding each of
    /// `mounts` (a mounted workspace) read-write into it.
    func launch(instance: Instance, environment: EnvironmentSpec, hostPorts: [Int], mounts: [InstanceMount]) async throws -> RuntimePlacement
    /// Writes `contents` and a newline to `path` in a running container as `user` (mode 0600),
    /// creating its folder. Used for per-instance flags, which must never be environment variables.
    func writeFile(containerID: String, path: String, contents: String, user: String?) async throws
    /// Removes the container and network, ignoring ones already gone.
    func destroy(containerID: String?, networkID: String?) async throws
    /// Every container carrying the `berth.instance` label.
    func managedContainers() async throws -> [ManagedResource]
    /// Every network carrying the `berth.instance` label.
    func managedNetworks() async throws -> [ManagedResource]
    /// Calls `died` with the instance id and exit code whenever a managed container's main process ends,
    /// until cancelled.
    func watchExits(_ died: @escaping @Sendable (String, Int) async -> Void) async throws
    /// Like ``watchExits(_:)``, and also says whether the kernel killed the container for memory.
    func watchEnds(_ died: @escaping @Sendable (ContainerEnd) async -> Void) async throws
    /// True when the engine picks host ports itself (a swarm's dynamic host-mode ports): Berth then
    /// leases none and takes the endpoints from the placement.
    var choosesHostPorts: Bool { get }
}

/// How a managed container's main process ended.
public struct ContainerEnd: Sendable, Equatable {
    /// The instance the container belongs to.
    public var instanceID: String
    /// The exit code, -1 when the engine did not say.
    public var exitCode: Int
    /// True when the engine reports `OOMKilled`.
    public var oomKilled: Bool
    /// The container that ended, nil when the engine did not say. An instance that was reset has
    /// a new container, and an end of its old one must not end it.
    public var containerID: String?
    /// What the owner is told when the end was not the program's own (the swarm node running it
    /// went down); nil to describe the exit code.
    public var reason: String?

    /// Creates an end.
    public init(instanceID: String, exitCode: Int, oomKilled: Bool, containerID: String? = nil, reason: String? = nil) {
        self.instanceID = instanceID
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.containerID = containerID
        self.reason = reason
    }
}

extension InstanceRuntime {
    /// Engines that cannot tell an out-of-memory kill report plain exits.
    public func watchEnds(_ died: @escaping @Sendable (ContainerEnd) async -> Void) async throws {
        try await watchExits { instanceID, exitCode in await died(ContainerEnd(instanceID: instanceID, exitCode: exitCode, oomKilled: false)) }
    }
}

extension InstanceRuntime {
    /// Creates and starts a container without host mounts.
    public func launch(instance: Instance, environment: EnvironmentSpec, hostPorts: [Int]) async throws -> RuntimePlacement {
        try await launch(instance: instance, environment: environment, hostPorts: hostPorts, mounts: [])
    }
}

extension InstanceRuntime {
    /// Berth leases host ports unless the runtime says otherwise.
    public var choosesHostPorts: Bool { false }
}

extension InstanceRuntime {
    /// Runtimes without their own limit answer as ``ping()`` does.
    public func ping(timeout: Duration) async throws {
        try await ping()
    }
}

/// ``InstanceRuntime`` on one Docker Engine.
public struct DockerRuntime: EngineBackedRuntime {
    /// The engine client.
    public let docker: DockerClient
    /// Host address service ports are published on.
    public let publishAddress: String
    /// The hardening rules.
    public let blueprint: ContainerBlueprint
    /// The `berth.namespace` label value of everything this runtime creates and manages.
    public let namespace: String
    /// Where environments' folders are, to find the content tag of a built folder at each start;
    /// without it, the image is looked up by the environment's own reference.
    public var environmentFolders: EnvironmentCatalog?

    /// The namespace a server uses unless told otherwise.
    public static let defaultNamespace = "default"

    /// Creates a runtime that manages only containers and networks labelled with `namespace`.
    public init(
        docker: DockerClient, publishAddress: String, blueprint: ContainerBlueprint = ContainerBlueprint(),
        namespace: String = DockerRuntime.defaultNamespace, environmentFolders: EnvironmentCatalog? = nil
    ) {
        self.docker = docker
        self.publishAddress = publishAddress
        self.blueprint = blueprint
        self.namespace = namespace
        self.environmentFolders = environmentFolders
    }

    private var namespaceFilter: String { "\(BerthLabel.namespace)=\(namespace)" }

    public var engines: any ContainerEngineResolver { docker }

    public var engineTimeout: Duration { docker.timeout }

    public func ping() async throws {
        try await docker.ping()
    }

    public func ping(timeout: Duration) async throws {
        try await docker.ping(timeout: timeout)
    }

    public func launch(instance: Instance, environment: EnvironmentSpec, hostPorts: [Int], mounts: [InstanceMount]) async throws -> RuntimePlacement {
        // By id, not tag: whatever another build tags meanwhile, this container runs this image.
        let environment = try await ImageBuilder(docker: docker).pinned(environment, folders: environmentFolders)
        let name = "berth-\(instance.id)"
        let labels = [
            BerthLabel.instance: instance.id, BerthLabel.environment: environment.slug, BerthLabel.owner: instance.owner.label,
            BerthLabel.namespace: namespace,
        ]
        var networkID: String?
        var containerID: String?
        do {
            if environment.berth.network != .none {
                var network = NetworkCreateRequest(name: name)
                network.labels = labels
                network.options = [
                    "com.docker.network.bridge.enable_icc": "false",
                    "com.docker.network.bridge.enable_ip_masquerade": environment.berth.network == .internet ? "true" : "false",
                    // The host firewall's rule matches Berth's bridges by this name.
                    "com.docker.network.bridge.name": HostFirewall.bridgeName(forInstance: instance.id),
                ]
                networkID = try await docker.createNetwork(network)
            }
            var request = blueprint.request(
                instance: instance, environment: environment, hostPorts: hostPorts, publishAddress: publishAddress,
                networkName: networkID == nil ? nil : name, mounts: mounts
            )
            request.labels[BerthLabel.namespace] = namespace
            let id = try await docker.createContainer(name: name, request)
            containerID = id
            try await docker.startContainer(id)
            return RuntimePlacement(containerID: id, networkID: networkID)
        } catch let error as DockerError {
            try? await destroy(containerID: containerID ?? (error.isConflict ? name : nil), networkID: networkID)
            if error.isNotFound && error.operation == "create container" { throw LaunchFailure.imageMissing(environment.imageReference ?? environment.slug) }
            let lowered = error.message.lowercased()
            if lowered.contains("port is already allocated") || lowered.contains("address already in use") {
                throw LaunchFailure.portTaken(error.message)
            }
            throw LaunchFailure.engine(error)
        }
    }

    public func destroy(containerID: String?, networkID: String?) async throws {
        if let containerID {
            do { try await docker.removeContainer(containerID, force: true) } catch let error as DockerError where error.isNotFound {}
        }
        if let networkID {
            do { try await docker.removeNetwork(networkID) } catch let error as DockerError where error.isNotFound {}
        }
    }

    public func managedContainers() async throws -> [ManagedResource] {
        try await docker.listContainers(labels: [BerthLabel.instance, namespaceFilter]).map {
            ManagedResource(id: $0.id, instanceID: $0.labels[BerthLabel.instance] ?? "", running: $0.state == "running")
        }
    }

    public func managedNetworks() async throws -> [ManagedResource] {
        try await docker.listNetworks(labels: [BerthLabel.instance, namespaceFilter]).map {
            ManagedResource(id: $0.id, instanceID: $0.labels?[BerthLabel.instance] ?? "", running: false)
        }
    }

    public func watchEnds(_ died: @escaping @Sendable (ContainerEnd) async -> Void) async throws {
        try await docker.events(filters: ["type": ["container"], "event": ["die"], "label": [BerthLabel.instance, namespaceFilter]]) { event in
            if let instanceID = event.actor.attributes?[BerthLabel.instance] {
                let exitCode = Int(event.actor.attributes?["exitCode"] ?? "") ?? -1
                let oomKilled = await Self.wasKilledForMemory(event.actor.id, exitCode: exitCode, docker: docker)
                await died(ContainerEnd(instanceID: instanceID, exitCode: exitCode, oomKilled: oomKilled, containerID: event.actor.id))
            }
            return !Task.isCancelled
        }
    }

    /// Whether the kernel killed a container that just died for memory. The die event does not say;
    /// the container's state does, until Berth removes it. The engine can handle containerd's OOM
    /// event after the exit (seen on a loaded machine: `OOMKilled` false at the die event, exit 137),
    /// so a container killed by SIGKILL is asked again for up to a second before it counts as killed.
    static func wasKilledForMemory(_ containerID: String, exitCode: Int, docker: DockerClient) async -> Bool {
        let attempts = exitCode == 137 ? 6 : 1
        for attempt in 0..<attempts {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200)) }
            guard let state = try? await docker.inspectContainer(containerID).state else { return false }
            if state.oomKilled { return true }
        }
        return false
    }

    public func watchExits(_ died: @escaping @Sendable (String, Int) async -> Void) async throws {
        try await docker.events(filters: ["type": ["container"], "event": ["die"], "label": [BerthLabel.instance, namespaceFilter]]) { event in
            if let instanceID = event.actor.attributes?[BerthLabel.instance] {
                await died(instanceID, Int(event.actor.attributes?["exitCode"] ?? "") ?? -1)
            }
            return !Task.isCancelled
        }
    }
}
