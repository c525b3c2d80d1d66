import BerthCore
import DockerEngine
import Foundation
import Logging

/// ``InstanceRuntime`` on a Docker Swarm: one service per instance, created through a manager,
/// running on whichever node fits it.
///
/// - The service is `berth-<instance id>`, one replica never restarted, its image named by id (a
///   worker pulls any image named by tag on each start), its reservations equal to its limits so
///   the scheduler admits only what fits.
/// - Ports are published in host mode on a port the node picks, never through the ingress mesh
///   (which stalls past about 128 published services); the endpoint is the node's address and the
///   port the task reports.
/// - An instance is running only once its task runs; a task still pending after
///   ``SwarmSettings/pendingTimeoutSeconds`` (no node fits) fails the start with `no_capacity`.
/// - The placement's `networkID` is the service id: removing the service removes the instance.
public struct SwarmRuntime: EngineBackedRuntime {
    /// The manager's engine.
    public let manager: DockerClient
    /// The nodes and their engines.
    public let nodes: SwarmNodes
    /// The hardening rules.
    public let blueprint: SwarmServiceBlueprint
    /// The `berth.namespace` label value of everything this runtime creates and manages.
    public let namespace: String
    /// Where to place and how long to wait.
    public let settings: SwarmSettings
    /// Where environments' folders are, to find the image of a built folder (on the manager's engine).
    public var environmentFolders: EnvironmentCatalog?
    /// How often a starting task is looked at, first: the wait doubles up to ``startPollCeiling``,
    /// so a quick start is seen quickly and a burst of slow ones does not flood the manager.
    public var startPollInterval: Duration = .milliseconds(10)
    /// The longest wait between two looks at a starting task.
    public var startPollCeiling: Duration = .milliseconds(200)
    /// How often the tasks are looked at for ends.
    public var watchInterval: Duration = .seconds(1)
    /// Every this many looks, the nodes' volumes of ended tasks are removed.
    public var volumeSweepRounds = 30
    let logger: Logger

    /// Creates a runtime that manages only services labelled with `namespace`.
    public init(
        manager: DockerClient, nodes: SwarmNodes, settings: SwarmSettings, namespace: String, blueprint: SwarmServiceBlueprint = SwarmServiceBlueprint(),
        environmentFolders: EnvironmentCatalog? = nil, logger: Logger
    ) {
        self.manager = manager
        self.nodes = nodes
        self.settings = settings
        self.namespace = namespace
        self.blueprint = blueprint
        self.environmentFolders = environmentFolders
        self.logger = logger
    }

    public var engines: any ContainerEngineResolver { nodes }

    public var engineTimeout: Duration { manager.timeout }

    public var choosesHostPorts: Bool { true }

    public func ping() async throws {
        try await manager.ping()
    }

    public func ping(timeout: Duration) async throws {
        try await manager.ping(timeout: timeout)
    }

    /// Fails unless the manager's engine is a manager of an active swarm.
    public func checkManager() async throws {
        let info = try await manager.info()
        guard info.swarm.localNodeState == "active", info.swarm.controlAvailable else {
            throw BerthError(
                .engineUnavailable,
                "The engine at DOCKER_HOST is not a manager of an active swarm (state \(info.swarm.localNodeState)); BERTH_ENGINE=swarm needs a manager's engine."
            )
        }
    }

    // MARK: - Launch

    public func launch(instance: Instance, environment: EnvironmentSpec, hostPorts: [Int], mounts: [InstanceMount]) async throws -> RuntimePlacement {
        if let reason = SwarmServiceBlueprint.unsupported(environment, mounts: mounts) {
            throw BerthError(.swarmUnsupported, "'\(environment.slug)' cannot run on a swarm: \(reason). Run it on a single Docker Engine (BERTH_ENGINE=docker).")
        }
        let environment = try await ImageBuilder(docker: manager).pinned(environment, folders: environmentFolders)
        let labels = [
            BerthLabel.instance: instance.id, BerthLabel.environment: environment.slug, BerthLabel.owner: instance.owner.label,
            BerthLabel.namespace: namespace,
        ]
        let image = environment.imageReference ?? environment.slug
        let serviceID: String
        do {
            let constraints = try await nodes.constraints(image: image, environment: environment.slug)
            serviceID = try await createService(blueprint.service(instance: instance, environment: environment, labels: labels, constraints: constraints))
        } catch let error as DockerError {
            throw LaunchFailure.engine(error)
        }
        do {
            return try await waitUntilRunning(serviceID: serviceID, environment: environment)
        } catch {
            try? await manager.removeService(serviceID)
            if let error = error as? DockerError { throw LaunchFailure.engine(error) }
            throw error
        }
    }

    /// Creates the service; a leftover of the same name (a start cut short) is removed first.
    private func createService(_ spec: ServiceSpec) async throws -> String {
        do {
            return try await manager.createService(spec)
        } catch let error as DockerError where error.isConflict {
            do { try await manager.removeService(spec.name) } catch let error as DockerError where error.isNotFound {}
            return try await manager.createService(spec)
        }
    }

    /// Waits for the service's task to run, then checks the node gave it the daemon's defaults.
    private func waitUntilRunning(serviceID: String, environment: EnvironmentSpec) async throws -> RuntimePlacement {
        let clock = ContinuousClock()
        let started = clock.now
        let pendingLimit = Duration.seconds(settings.pendingTimeoutSeconds)
        let limit = pendingLimit + manager.timeout
        var last: SwarmTask?
        var pause = startPollInterval
        while true {
            let tasks = try await manager.listTasks(filters: ["service": [serviceID]])
            if let task = tasks.max(by: { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }) {
                last = task
                if task.status.isRunning, let containerID = task.status.containerStatus?.containerID, let nodeID = task.nodeID {
                    return try await placement(of: task, containerID: containerID, nodeID: nodeID, serviceID: serviceID, environment: environment)
                }
                if task.status.hasEnded {
                    let message = task.status.err ?? task.status.message ?? task.status.state
                    if message.lowercased().contains("no such image") {
                        guard let nodeID = task.nodeID, let image = environment.imageReference else {
                            throw LaunchFailure.imageMissing(environment.imageReference ?? environment.slug)
                        }
                        // Its engine held the image when asked (or did not answer then).
                        await nodes.lacks(image, on: nodeID)
                        let node = (try? await nodes.node(nodeID))?.hostname ?? nodeID
                        throw BerthError(.imageNotFound, "Swarm node \(node) no longer holds the image \(image) of '\(environment.slug)'; Berth places the next start elsewhere, so press Start again. An admin loads the image into that node (docker save, docker load).")
                    }
                    throw LaunchFailure.refused("The swarm could not start the instance: \(message).")
                }
            }
            let waited = clock.now - started
            let pending = last?.status.isUnplaced ?? true
            if (pending && waited >= pendingLimit) || waited >= limit {
                let why = last?.status.err ?? last?.status.message ?? "no task yet"
                throw LaunchFailure.noCapacity(
                    "No swarm node has room for '\(environment.slug)' (\(environment.berth.resources.cpus) CPUs and \(environment.berth.resources.memoryBytes >> 20) MiB reserved): its task was still \(last?.status.state ?? "not created") after \(settings.pendingTimeoutSeconds) s (\(why)). Try again when instances have stopped; organisers add nodes or raise BERTH_SWARM_PENDING_TIMEOUT."
                )
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, startPollCeiling)
        }
    }

    private func placement(of task: SwarmTask, containerID: String, nodeID: String, serviceID: String, environment: EnvironmentSpec) async throws -> RuntimePlacement {
        await nodes.remember(container: containerID, on: nodeID)
        let node = try await nodes.node(nodeID)
        if let missing = await nodes.missingDaemonDefaults(container: containerID, on: nodeID) {
            let reason = "node \(node.hostname): \(missing)"
            await nodes.refuse(nodeID, reason: reason)
            throw LaunchFailure.refused("The swarm placed the instance on a node without Berth's hardening (\(reason)); that node runs no more instances, press Start again.")
        }
        let published = task.status.portStatus?.ports ?? []
        var endpoints: [PublishedPort] = []
        for declared in environment.berth.ports {
            guard let port = published.first(where: { $0.targetPort == declared.port }), let hostPort = port.publishedPort, hostPort > 0 else {
                throw LaunchFailure.refused("The swarm did not publish port \(declared.port) of the instance on node \(node.hostname).")
            }
            endpoints.append(PublishedPort(containerPort: declared.port, host: node.endpointHost, hostPort: hostPort))
        }
        return RuntimePlacement(containerID: containerID, networkID: serviceID, endpoints: endpoints)
    }

    // MARK: - Removal and listing

    public func destroy(containerID: String?, networkID: String?) async throws {
        // The service is the instance: its id (the placement's networkID), or its id or name as
        // reconciliation and half-done starts know it.
        guard let service = networkID ?? containerID else { return }
        do { try await manager.removeService(service) } catch let error as DockerError where error.isNotFound {}
        if let containerID { await nodes.forget(container: containerID) }
    }

    public func managedContainers() async throws -> [ManagedResource] {
        let services = try await manager.listServices(labels: [BerthLabel.instance, namespaceFilter])
        let ids = Set(services.map(\.id))
        let tasks = try await manager.listTasks(filters: ["label": [namespaceFilter]]).filter { ids.contains($0.serviceID) }
        return services.map { service in
            // A task on a node that went down still reads running: the end watcher fails its
            // instance with the node named, so reconciliation does not end it first without.
            let running = tasks.contains { $0.serviceID == service.id && $0.status.isRunning }
            return ManagedResource(id: service.id, instanceID: service.spec.labels[BerthLabel.instance] ?? "", running: running)
        }
    }

    public func managedNetworks() async throws -> [ManagedResource] {
        []
    }

    private var namespaceFilter: String { "\(BerthLabel.namespace)=\(namespace)" }

    // MARK: - Ends

    public func watchExits(_ died: @escaping @Sendable (String, Int) async -> Void) async throws {
        try await watchEnds { end in await died(end.instanceID, end.exitCode) }
    }

    /// Swarm has no task events: the tasks are read every ``watchInterval``. A task that ended is
    /// reported once; so is a running task on a node that went down, with the node named.
    public func watchEnds(_ died: @escaping @Sendable (ContainerEnd) async -> Void) async throws {
        var reported = Set<String>()
        var rounds = 0
        while !Task.isCancelled {
            rounds += 1
            if rounds % volumeSweepRounds == 0 { await nodes.removeDanglingVolumes(namespace: namespace) }
            do {
                let nodeList = try await manager.listNodes()
                let down = Dictionary(nodeList.filter { $0.status.state != "ready" }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                // The label filter matches the services' labels.
                let tasks = try await manager.listTasks(filters: ["label": [namespaceFilter]])
                var seen = Set<String>()
                for task in tasks {
                    let labels = task.spec.containerSpec.labels
                    guard labels[BerthLabel.namespace] == namespace, let instanceID = labels[BerthLabel.instance] else { continue }
                    seen.insert(task.id)
                    guard !reported.contains(task.id), let containerID = task.status.containerStatus?.containerID, !containerID.isEmpty else { continue }
                    if task.status.hasEnded {
                        reported.insert(task.id)
                        let exitCode = task.status.containerStatus?.exitCode ?? -1
                        var oomKilled = false
                        if exitCode == 137, let nodeID = task.nodeID, let engine = try? await nodes.engine(ofNode: nodeID) {
                            oomKilled = await DockerRuntime.wasKilledForMemory(containerID, exitCode: exitCode, docker: engine)
                        }
                        await died(ContainerEnd(instanceID: instanceID, exitCode: exitCode, oomKilled: oomKilled, containerID: containerID))
                    } else if task.status.isRunning, let nodeID = task.nodeID, let node = down[nodeID] {
                        reported.insert(task.id)
                        let name = node.description.hostname ?? nodeID
                        await died(ContainerEnd(
                            instanceID: instanceID, exitCode: -1, oomKilled: false, containerID: containerID, reason: EndReason.nodeDown(name)
                        ))
                    }
                }
                reported.formIntersection(seen)
            } catch {
                logger.warning("reading the swarm's tasks failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: watchInterval)
        }
    }
}

// Files and lab scripts go to the node's engine, as on one engine.
extension SwarmRuntime: InstanceFileSystem {}

extension SwarmRuntime: LabScriptHost {}
