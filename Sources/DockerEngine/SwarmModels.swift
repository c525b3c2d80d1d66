import Foundation

// The Swarm objects of the Engine API (1.41) that Berth creates and reads, with Docker's JSON names.
// Optional fields are encoded only when set; answers are decoded leniently, since the engine leaves
// out empty fields (a pending task has no node, container or ports yet).

/// The body of `POST /services/create` and the `Spec` of a service.
public struct ServiceSpec: Codable, Sendable, Equatable {
    /// The service's name, e.g. `berth-<instance id>`.
    public var name: String
    /// Labels on the service.
    public var labels: [String: String]
    /// What each task runs.
    public var taskTemplate: TaskSpec
    /// How many tasks: replicated with a count.
    public var mode: ServiceMode
    /// Published ports; nil publishes none.
    public var endpointSpec: EndpointSpec?

    /// Creates a spec of `replicas` tasks (1 by default).
    public init(
        name: String, labels: [String: String] = [:], taskTemplate: TaskSpec, mode: ServiceMode = .replicated(1),
        endpointSpec: EndpointSpec? = nil
    ) {
        self.name = name
        self.labels = labels
        self.taskTemplate = taskTemplate
        self.mode = mode
        self.endpointSpec = endpointSpec
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", labels = "Labels", taskTemplate = "TaskTemplate", mode = "Mode", endpointSpec = "EndpointSpec"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        taskTemplate = try container.decode(TaskSpec.self, forKey: .taskTemplate)
        mode = try container.decodeIfPresent(ServiceMode.self, forKey: .mode) ?? ServiceMode()
        endpointSpec = try container.decodeIfPresent(EndpointSpec.self, forKey: .endpointSpec)
    }
}

/// A service's scheduling mode; Berth uses replicated services only.
public struct ServiceMode: Codable, Sendable, Equatable {
    /// A fixed number of tasks.
    public struct Replicated: Codable, Sendable, Equatable {
        /// How many tasks run.
        public var replicas: Int

        /// Creates the mode's settings.
        public init(replicas: Int) { self.replicas = replicas }

        enum CodingKeys: String, CodingKey { case replicas = "Replicas" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            replicas = try container.decodeIfPresent(Int.self, forKey: .replicas) ?? 0
        }
    }

    /// Set for a replicated service; nil for the other modes (global, jobs).
    public var replicated: Replicated?

    /// Creates a mode.
    public init(replicated: Replicated? = nil) { self.replicated = replicated }

    /// A replicated service of `replicas` tasks.
    public static func replicated(_ replicas: Int) -> ServiceMode { ServiceMode(replicated: Replicated(replicas: replicas)) }

    enum CodingKeys: String, CodingKey { case replicated = "Replicated" }
}

/// What a service's tasks run, and where.
public struct TaskSpec: Codable, Sendable, Equatable {
    /// The container of each task.
    public var containerSpec: ContainerSpec
    /// CPU, memory and pids limits and reservations.
    public var resources: ServiceResources?
    /// What happens when the container exits: Berth never restarts (`none`).
    public var restartPolicy: ServiceRestartPolicy?
    /// Where tasks may run.
    public var placement: Placement?
    /// Networks the tasks join.
    public var networks: [NetworkAttachment]?
    /// The tasks' log driver.
    public var logDriver: LogDriver?

    /// Creates a task spec.
    public init(
        containerSpec: ContainerSpec, resources: ServiceResources? = nil, restartPolicy: ServiceRestartPolicy? = nil,
        placement: Placement? = nil, networks: [NetworkAttachment]? = nil, logDriver: LogDriver? = nil
    ) {
        self.containerSpec = containerSpec
        self.resources = resources
        self.restartPolicy = restartPolicy
        self.placement = placement
        self.networks = networks
        self.logDriver = logDriver
    }

    enum CodingKeys: String, CodingKey {
        case containerSpec = "ContainerSpec", resources = "Resources", restartPolicy = "RestartPolicy", placement = "Placement"
        case networks = "Networks", logDriver = "LogDriver"
    }
}

/// The container of a task (`TaskTemplate.ContainerSpec`).
public struct ContainerSpec: Codable, Sendable, Equatable {
    /// The image; Berth names it by id (`sha256:…`) so no node tries to pull it.
    public var image: String
    /// Labels on the task's container.
    public var labels: [String: String]
    /// Replaces the image's entrypoint.
    public var command: [String]?
    /// Replaces the image's command (the entrypoint's arguments).
    public var args: [String]?
    /// The container's host name.
    public var hostname: String?
    /// Environment variables as `KEY=value`.
    public var env: [String]
    /// Working directory.
    public var dir: String?
    /// `user`, `uid` or `uid:gid`.
    public var user: String?
    /// Allocate a TTY for the main process.
    public var tty: Bool?
    /// Keep stdin open.
    public var openStdin: Bool?
    /// Mount the root file system read-only.
    public var readOnly: Bool?
    /// Mounts (tmpfs for writable paths, binds).
    public var mounts: [ServiceMount]
    /// Time between SIGTERM and SIGKILL when the task stops, in nanoseconds.
    public var stopGracePeriod: Int64?
    /// Run an init process as PID 1 (JSON `Init`); nil takes the daemon's default.
    public var initProcess: Bool?
    /// Namespaced kernel parameters.
    public var sysctls: [String: String]?
    /// Capabilities added to the default set (API 1.41).
    public var capabilityAdd: [String]?
    /// Capabilities dropped from the default set (API 1.41), e.g. `["ALL"]`.
    public var capabilityDrop: [String]?
    /// Resource limits such as nofile and nproc (API 1.41).
    public var ulimits: [Ulimit]?

    /// Creates a spec running `image`.
    public init(image: String) {
        self.image = image
        self.labels = [:]
        self.env = []
        self.mounts = []
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", labels = "Labels", command = "Command", args = "Args", hostname = "Hostname", env = "Env", dir = "Dir"
        case user = "User", tty = "TTY", openStdin = "OpenStdin", readOnly = "ReadOnly", mounts = "Mounts"
        case stopGracePeriod = "StopGracePeriod", initProcess = "Init", sysctls = "Sysctls", capabilityAdd = "CapabilityAdd"
        case capabilityDrop = "CapabilityDrop", ulimits = "Ulimits"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        image = try container.decodeIfPresent(String.self, forKey: .image) ?? ""
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        command = try container.decodeIfPresent([String].self, forKey: .command)
        args = try container.decodeIfPresent([String].self, forKey: .args)
        hostname = try container.decodeIfPresent(String.self, forKey: .hostname)
        env = try container.decodeIfPresent([String].self, forKey: .env) ?? []
        dir = try container.decodeIfPresent(String.self, forKey: .dir)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        tty = try container.decodeIfPresent(Bool.self, forKey: .tty)
        openStdin = try container.decodeIfPresent(Bool.self, forKey: .openStdin)
        readOnly = try container.decodeIfPresent(Bool.self, forKey: .readOnly)
        mounts = try container.decodeIfPresent([ServiceMount].self, forKey: .mounts) ?? []
        stopGracePeriod = try container.decodeIfPresent(Int64.self, forKey: .stopGracePeriod)
        initProcess = try container.decodeIfPresent(Bool.self, forKey: .initProcess)
        sysctls = try container.decodeIfPresent([String: String].self, forKey: .sysctls)
        capabilityAdd = try container.decodeIfPresent([String].self, forKey: .capabilityAdd)
        capabilityDrop = try container.decodeIfPresent([String].self, forKey: .capabilityDrop)
        ulimits = try container.decodeIfPresent([Ulimit].self, forKey: .ulimits)
    }
}

/// A mount of a task's container.
public struct ServiceMount: Codable, Sendable, Equatable {
    /// Options of a tmpfs mount.
    public struct TmpfsOptions: Codable, Sendable, Equatable {
        /// Size cap in bytes.
        public var sizeBytes: Int64?
        /// Permission bits as an integer, e.g. `0o1777`.
        public var mode: Int?

        /// Creates options.
        public init(sizeBytes: Int64? = nil, mode: Int? = nil) {
            self.sizeBytes = sizeBytes
            self.mode = mode
        }

        enum CodingKeys: String, CodingKey { case sizeBytes = "SizeBytes", mode = "Mode" }
    }

    /// Options of a volume mount: its driver and the driver's options.
    public struct VolumeOptions: Codable, Sendable, Equatable {
        /// A volume driver and its options.
        public struct DriverConfig: Codable, Sendable, Equatable {
            /// The driver, e.g. `local`.
            public var name: String
            /// The driver's options (`local`: `type`, `device`, `o`).
            public var options: [String: String]

            /// Creates a driver configuration.
            public init(name: String, options: [String: String]) {
                self.name = name
                self.options = options
            }

            enum CodingKeys: String, CodingKey { case name = "Name", options = "Options" }
        }

        /// Labels of the volume.
        public var labels: [String: String]?
        /// The driver that creates the volume.
        public var driverConfig: DriverConfig?

        /// Creates options.
        public init(labels: [String: String]? = nil, driverConfig: DriverConfig? = nil) {
            self.labels = labels
            self.driverConfig = driverConfig
        }

        enum CodingKeys: String, CodingKey { case labels = "Labels", driverConfig = "DriverConfig" }
    }

    /// `tmpfs`, `bind` or `volume`.
    public var type: String
    /// The host path of a bind (none for tmpfs).
    public var source: String?
    /// The path in the container.
    public var target: String
    /// Mount read-only.
    public var readOnly: Bool?
    /// Bind options (propagation).
    public var bindOptions: Mount.BindOptions?
    /// tmpfs options.
    public var tmpfsOptions: TmpfsOptions?
    /// Volume options.
    public var volumeOptions: VolumeOptions?

    /// Creates a mount.
    public init(
        type: String, source: String? = nil, target: String, readOnly: Bool? = nil, bindOptions: Mount.BindOptions? = nil,
        tmpfsOptions: TmpfsOptions? = nil, volumeOptions: VolumeOptions? = nil
    ) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.bindOptions = bindOptions
        self.tmpfsOptions = tmpfsOptions
        self.volumeOptions = volumeOptions
    }

    /// A tmpfs at `target` capped at `sizeBytes`.
    public static func tmpfs(_ target: String, sizeBytes: Int64, mode: Int? = nil) -> ServiceMount {
        ServiceMount(type: "tmpfs", target: target, tmpfsOptions: TmpfsOptions(sizeBytes: sizeBytes, mode: mode))
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", bindOptions = "BindOptions"
        case tmpfsOptions = "TmpfsOptions", volumeOptions = "VolumeOptions"
    }
}

/// Limits and reservations of each task.
public struct ServiceResources: Codable, Sendable, Equatable {
    /// The most a task may use.
    public var limits: ServiceLimits?
    /// What the scheduler sets aside on a node for a task: Berth reserves its limits.
    public var reservations: ServiceReservations?

    /// Creates resources.
    public init(limits: ServiceLimits? = nil, reservations: ServiceReservations? = nil) {
        self.limits = limits
        self.reservations = reservations
    }

    enum CodingKeys: String, CodingKey { case limits = "Limits", reservations = "Reservations" }
}

/// `Resources.Limits`.
public struct ServiceLimits: Codable, Sendable, Equatable {
    /// CPU in units of 1e-9 CPUs.
    public var nanoCPUs: Int64?
    /// Memory in bytes.
    public var memoryBytes: Int64?
    /// Maximum number of processes (API 1.41).
    public var pids: Int64?

    /// Creates limits.
    public init(nanoCPUs: Int64? = nil, memoryBytes: Int64? = nil, pids: Int64? = nil) {
        self.nanoCPUs = nanoCPUs
        self.memoryBytes = memoryBytes
        self.pids = pids
    }

    enum CodingKeys: String, CodingKey { case nanoCPUs = "NanoCPUs", memoryBytes = "MemoryBytes", pids = "Pids" }
}

/// `Resources.Reservations`.
public struct ServiceReservations: Codable, Sendable, Equatable {
    /// CPU in units of 1e-9 CPUs.
    public var nanoCPUs: Int64?
    /// Memory in bytes.
    public var memoryBytes: Int64?

    /// Creates reservations.
    public init(nanoCPUs: Int64? = nil, memoryBytes: Int64? = nil) {
        self.nanoCPUs = nanoCPUs
        self.memoryBytes = memoryBytes
    }

    enum CodingKeys: String, CodingKey { case nanoCPUs = "NanoCPUs", memoryBytes = "MemoryBytes" }
}

/// `TaskTemplate.RestartPolicy`.
public struct ServiceRestartPolicy: Codable, Sendable, Equatable {
    /// `none`, `on-failure` or `any`.
    public var condition: String
    /// Restarts before giving up (0: no limit).
    public var maxAttempts: Int?

    /// Creates a policy; the default never restarts.
    public init(condition: String = "none", maxAttempts: Int? = nil) {
        self.condition = condition
        self.maxAttempts = maxAttempts
    }

    enum CodingKeys: String, CodingKey { case condition = "Condition", maxAttempts = "MaxAttempts" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        condition = try container.decodeIfPresent(String.self, forKey: .condition) ?? "any"
        maxAttempts = try container.decodeIfPresent(Int.self, forKey: .maxAttempts)
    }
}

/// `TaskTemplate.Placement`.
public struct Placement: Codable, Sendable, Equatable {
    /// Constraint expressions, all of which a node must match (`node.labels.berth.pool==ctf`).
    public var constraints: [String]?

    /// Creates a placement.
    public init(constraints: [String]? = nil) { self.constraints = constraints }

    enum CodingKeys: String, CodingKey { case constraints = "Constraints" }
}

/// A network a task joins.
public struct NetworkAttachment: Codable, Sendable, Equatable {
    /// The network's name or id.
    public var target: String
    /// Extra DNS names of the task on it.
    public var aliases: [String]?

    /// Creates an attachment.
    public init(target: String, aliases: [String]? = nil) {
        self.target = target
        self.aliases = aliases
    }

    enum CodingKeys: String, CodingKey { case target = "Target", aliases = "Aliases" }
}

/// `TaskTemplate.LogDriver`.
public struct LogDriver: Codable, Sendable, Equatable {
    /// The driver, e.g. `json-file`.
    public var name: String
    /// Its options.
    public var options: [String: String]?

    /// Creates a log driver setting.
    public init(name: String, options: [String: String]? = nil) {
        self.name = name
        self.options = options
    }

    enum CodingKeys: String, CodingKey { case name = "Name", options = "Options" }
}

/// `EndpointSpec`: the ports a service publishes.
public struct EndpointSpec: Codable, Sendable, Equatable {
    /// `vip` or `dnsrr`; nil for the engine's default.
    public var mode: String?
    /// The published ports.
    public var ports: [ServicePort]

    /// Creates an endpoint spec.
    public init(mode: String? = nil, ports: [ServicePort]) {
        self.mode = mode
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case mode = "Mode", ports = "Ports" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        ports = try container.decodeIfPresent([ServicePort].self, forKey: .ports) ?? []
    }
}

/// A published port (`EndpointPortConfig`), in a spec or a task's port status.
public struct ServicePort: Codable, Sendable, Equatable {
    /// An optional name.
    public var name: String?
    /// `tcp`, `udp` or `sctp`.
    public var `protocol`: String
    /// The port in the container.
    public var targetPort: Int
    /// The port on the node; nil in a spec lets the engine pick a free one.
    public var publishedPort: Int?
    /// `host` publishes on the node running the task; `ingress` (the routing mesh) Berth never uses.
    public var publishMode: String

    /// Creates a port, by default TCP in host mode on a port the engine picks.
    public init(name: String? = nil, targetPort: Int, publishedPort: Int? = nil, protocol: String = "tcp", publishMode: String = "host") {
        self.name = name
        self.protocol = `protocol`
        self.targetPort = targetPort
        self.publishedPort = publishedPort
        self.publishMode = publishMode
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", `protocol` = "Protocol", targetPort = "TargetPort", publishedPort = "PublishedPort", publishMode = "PublishMode"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        `protocol` = try container.decodeIfPresent(String.self, forKey: .protocol) ?? "tcp"
        targetPort = try container.decodeIfPresent(Int.self, forKey: .targetPort) ?? 0
        publishedPort = try container.decodeIfPresent(Int.self, forKey: .publishedPort)
        publishMode = try container.decodeIfPresent(String.self, forKey: .publishMode) ?? "ingress"
    }
}

/// The version of a Swarm object, which an update must quote.
public struct ObjectVersion: Codable, Sendable, Equatable {
    /// The version index.
    public var index: UInt64

    /// Creates a version.
    public init(index: UInt64) { self.index = index }

    enum CodingKeys: String, CodingKey { case index = "Index" }
}

/// `GET /services/{id}` and the items of `GET /services`.
public struct ServiceInspect: Decodable, Sendable {
    /// The service id.
    public var id: String
    /// Its version.
    public var version: ObjectVersion?
    /// When it was created.
    public var createdAt: Date?
    /// When it last changed.
    public var updatedAt: Date?
    /// Its spec.
    public var spec: ServiceSpec

    enum CodingKeys: String, CodingKey {
        case id = "ID", version = "Version", createdAt = "CreatedAt", updatedAt = "UpdatedAt", spec = "Spec"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        version = try container.decodeIfPresent(ObjectVersion.self, forKey: .version)
        createdAt = try DockerTime.decode(container, .createdAt)
        updatedAt = try DockerTime.decode(container, .updatedAt)
        spec = try container.decode(ServiceSpec.self, forKey: .spec)
    }
}

/// One task of `GET /tasks`: a service's container on a node.
public struct SwarmTask: Decodable, Sendable {
    /// The task id.
    public var id: String
    /// The service it belongs to.
    public var serviceID: String
    /// The node it was assigned to; nil while it is pending.
    public var nodeID: String?
    /// Its slot in a replicated service.
    public var slot: Int?
    /// The state the orchestrator wants (`running`, `shutdown`, …).
    public var desiredState: String
    /// The task's own labels, usually empty: Berth's labels are on the service and on
    /// `spec.containerSpec`.
    public var labels: [String: String]
    /// The spec it runs (its `containerSpec.labels` carry Berth's labels).
    public var spec: TaskSpec
    /// What it is doing now.
    public var status: TaskStatus
    /// When it was created.
    public var createdAt: Date?
    /// When it last changed.
    public var updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id = "ID", serviceID = "ServiceID", nodeID = "NodeID", slot = "Slot", desiredState = "DesiredState", labels = "Labels"
        case spec = "Spec", status = "Status", createdAt = "CreatedAt", updatedAt = "UpdatedAt"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        serviceID = try container.decodeIfPresent(String.self, forKey: .serviceID) ?? ""
        nodeID = try container.decodeIfPresent(String.self, forKey: .nodeID).flatMap { $0.isEmpty ? nil : $0 }
        slot = try container.decodeIfPresent(Int.self, forKey: .slot)
        desiredState = try container.decodeIfPresent(String.self, forKey: .desiredState) ?? ""
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        spec = try container.decode(TaskSpec.self, forKey: .spec)
        status = try container.decode(TaskStatus.self, forKey: .status)
        createdAt = try DockerTime.decode(container, .createdAt)
        updatedAt = try DockerTime.decode(container, .updatedAt)
    }
}

/// A task's `Status`.
public struct TaskStatus: Decodable, Sendable {
    /// `new`, `allocated`, `pending`, `assigned`, `accepted`, `preparing`, `ready`, `starting`,
    /// `running`, `complete`, `shutdown`, `failed`, `rejected`, `remove` or `orphaned`.
    public var state: String
    /// What the orchestrator says about it (`started`, `no suitable node (…)`).
    public var message: String?
    /// The error that ended or blocked it.
    public var err: String?
    /// When the state last changed.
    public var timestamp: Date?
    /// The container, once the node created it.
    public var containerStatus: ContainerStatus?
    /// The ports published in host mode, once the task runs.
    public var portStatus: PortStatus?

    /// States after which a task never runs again.
    public static let endStates: Set<String> = ["complete", "shutdown", "failed", "rejected", "remove", "orphaned"]

    /// True once the task's container runs.
    public var isRunning: Bool { state == "running" }
    /// True when the task has ended and will never run (again).
    public var hasEnded: Bool { Self.endStates.contains(state) }
    /// States in which the scheduler has not found a node for the task yet.
    public static let unplacedStates: Set<String> = ["new", "pending", "allocated"]
    /// True while no node has been found for the task.
    public var isUnplaced: Bool { Self.unplacedStates.contains(state) }

    enum CodingKeys: String, CodingKey {
        case state = "State", message = "Message", err = "Err", timestamp = "Timestamp", containerStatus = "ContainerStatus"
        case portStatus = "PortStatus"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? "new"
        message = try container.decodeIfPresent(String.self, forKey: .message)
        err = try container.decodeIfPresent(String.self, forKey: .err)
        timestamp = try DockerTime.decode(container, .timestamp)
        containerStatus = try container.decodeIfPresent(ContainerStatus.self, forKey: .containerStatus)
        portStatus = try container.decodeIfPresent(PortStatus.self, forKey: .portStatus)
    }
}

/// A task's container as the node reports it.
public struct ContainerStatus: Decodable, Sendable {
    /// The container id on the node.
    public var containerID: String?
    /// Its main process on the node.
    public var pid: Int?
    /// Its exit code once it ended.
    public var exitCode: Int?

    enum CodingKeys: String, CodingKey { case containerID = "ContainerID", pid = "PID", exitCode = "ExitCode" }
}

/// A task's published ports.
public struct PortStatus: Decodable, Sendable {
    /// The ports, with the `publishedPort` the node picked.
    public var ports: [ServicePort]

    enum CodingKeys: String, CodingKey { case ports = "Ports" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ports = try container.decodeIfPresent([ServicePort].self, forKey: .ports) ?? []
    }
}

/// One node of `GET /nodes`.
public struct SwarmNode: Decodable, Sendable {
    /// The node id.
    public var id: String
    /// Its version (an update must quote it).
    public var version: ObjectVersion?
    /// What the node reports about itself.
    public var description: NodeDescription
    /// What the operator set: labels, role, availability.
    public var spec: NodeSpec
    /// Whether it is reachable, and its address.
    public var status: NodeStatus
    /// Set on managers.
    public var managerStatus: ManagerStatus?

    enum CodingKeys: String, CodingKey {
        case id = "ID", version = "Version", description = "Description", spec = "Spec", status = "Status", managerStatus = "ManagerStatus"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        version = try container.decodeIfPresent(ObjectVersion.self, forKey: .version)
        description = try container.decodeIfPresent(NodeDescription.self, forKey: .description) ?? NodeDescription()
        spec = try container.decodeIfPresent(NodeSpec.self, forKey: .spec) ?? NodeSpec()
        status = try container.decodeIfPresent(NodeStatus.self, forKey: .status) ?? NodeStatus()
        managerStatus = try container.decodeIfPresent(ManagerStatus.self, forKey: .managerStatus)
    }
}

/// A node's `Description`.
public struct NodeDescription: Decodable, Sendable {
    /// Its host name.
    public var hostname: String?
    /// Its CPUs and memory.
    public var resources: ServiceReservations?
    /// Its engine's version.
    public var engineVersion: String?
    /// Its engine's labels (`dockerd --label`).
    public var engineLabels: [String: String]

    init() {
        engineLabels = [:]
    }

    enum CodingKeys: String, CodingKey { case hostname = "Hostname", resources = "Resources", engine = "Engine" }
    enum EngineKeys: String, CodingKey { case engineVersion = "EngineVersion", labels = "Labels" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hostname = try container.decodeIfPresent(String.self, forKey: .hostname)
        resources = try container.decodeIfPresent(ServiceReservations.self, forKey: .resources)
        if container.contains(.engine), try !container.decodeNil(forKey: .engine) {
            let engine = try container.nestedContainer(keyedBy: EngineKeys.self, forKey: .engine)
            engineVersion = try engine.decodeIfPresent(String.self, forKey: .engineVersion)
            engineLabels = try engine.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        } else {
            engineLabels = [:]
        }
    }
}

/// A node's `Spec`.
public struct NodeSpec: Decodable, Sendable {
    /// An optional name.
    public var name: String?
    /// Labels the operator set (`docker node update --label-add berth.pool=ctf`).
    public var labels: [String: String]
    /// `worker` or `manager`.
    public var role: String
    /// `active`, `pause` or `drain`.
    public var availability: String

    init() {
        labels = [:]
        role = ""
        availability = ""
    }

    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels", role = "Role", availability = "Availability" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        role = try container.decodeIfPresent(String.self, forKey: .role) ?? ""
        availability = try container.decodeIfPresent(String.self, forKey: .availability) ?? ""
    }
}

/// A node's `Status`.
public struct NodeStatus: Decodable, Sendable {
    /// `unknown`, `down`, `ready` or `disconnected`.
    public var state: String
    /// Why, when it is not ready.
    public var message: String?
    /// The node's address as the managers see it (an IP address).
    public var addr: String?

    init() { state = "unknown" }

    /// True when the node is up and in touch with the managers.
    public var isReady: Bool { state == "ready" }

    enum CodingKeys: String, CodingKey { case state = "State", message = "Message", addr = "Addr" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? "unknown"
        message = try container.decodeIfPresent(String.self, forKey: .message)
        addr = try container.decodeIfPresent(String.self, forKey: .addr)
    }
}

/// A manager's `ManagerStatus`.
public struct ManagerStatus: Decodable, Sendable {
    /// True for the Raft leader.
    public var leader: Bool?
    /// `unknown`, `unreachable` or `reachable`.
    public var reachability: String?
    /// The manager's address and Swarm port, e.g. `10.0.0.46:2377`.
    public var addr: String?

    enum CodingKeys: String, CodingKey { case leader = "Leader", reachability = "Reachability", addr = "Addr" }
}

/// The parts of `GET /info` Berth reads: who the engine is, its security options and its swarm.
public struct EngineInfo: Decodable, Sendable {
    /// The daemon's id.
    public var id: String
    /// Its host name.
    public var name: String
    /// Its release, e.g. `20.10.24`.
    public var serverVersion: String
    /// E.g. `name=seccomp,profile=default`, `name=apparmor`, `name=rootless`.
    public var securityOptions: [String]
    /// Its place in a swarm.
    public var swarm: SwarmInfo

    enum CodingKeys: String, CodingKey {
        case id = "ID", name = "Name", serverVersion = "ServerVersion", securityOptions = "SecurityOptions", swarm = "Swarm"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        serverVersion = try container.decodeIfPresent(String.self, forKey: .serverVersion) ?? ""
        securityOptions = try container.decodeIfPresent([String].self, forKey: .securityOptions) ?? []
        swarm = try container.decodeIfPresent(SwarmInfo.self, forKey: .swarm) ?? SwarmInfo()
    }

    /// The fields of the security option `name` (`name=seccomp,profile=default` gives
    /// `["name": "seccomp", "profile": "default"]`), or nil when the engine does not list it.
    public func securityOption(_ name: String) -> [String: String]? {
        for option in securityOptions {
            var fields: [String: String] = [:]
            for pair in option.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                fields[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
            }
            if fields["name"] == name { return fields }
        }
        return nil
    }

    /// True when the engine applies a seccomp profile by default (listed, and not `unconfined`).
    public var hasSeccompProfile: Bool {
        guard let seccomp = securityOption("seccomp") else { return false }
        return seccomp["profile"] != "unconfined"
    }
}

/// `GET /info`'s `Swarm`.
public struct SwarmInfo: Decodable, Sendable {
    /// This node's id in the swarm; empty outside one.
    public var nodeID: String
    /// This node's address in the swarm.
    public var nodeAddr: String
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    public var localNodeState: String
    /// True on a manager (which serves the Swarm API).
    public var controlAvailable: Bool
    /// Why the node is in `error`.
    public var error: String?

    init() {
        nodeID = ""
        nodeAddr = ""
        localNodeState = "inactive"
        controlAvailable = false
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "NodeID", nodeAddr = "NodeAddr", localNodeState = "LocalNodeState", controlAvailable = "ControlAvailable", error = "Error"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeID = try container.decodeIfPresent(String.self, forKey: .nodeID) ?? ""
        nodeAddr = try container.decodeIfPresent(String.self, forKey: .nodeAddr) ?? ""
        localNodeState = try container.decodeIfPresent(String.self, forKey: .localNodeState) ?? "inactive"
        controlAvailable = try container.decodeIfPresent(Bool.self, forKey: .controlAvailable) ?? false
        error = try container.decodeIfPresent(String.self, forKey: .error).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// The parts of `GET /networks/{id}` Berth reads.
public struct NetworkInspect: Decodable, Sendable {
    /// The network id.
    public var id: String
    /// Its name.
    public var name: String
    /// Its driver (`bridge`, `overlay`, …).
    public var driver: String?
    /// Driver options, e.g. `com.docker.network.bridge.enable_icc`.
    public var options: [String: String]
    /// Its labels.
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey { case id = "Id", name = "Name", driver = "Driver", options = "Options", labels = "Labels" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        driver = try container.decodeIfPresent(String.self, forKey: .driver)
        options = try container.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// The engine's timestamps: RFC 3339 with up to nine fractional digits (`2016-06-07T21:07:31.171892745Z`).
enum DockerTime {
    /// Parses a timestamp; nil when it is not RFC 3339.
    static func parse(_ text: String) -> Date? {
        var base = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix(while: \.isNumber)
            guard !digits.isEmpty else { return nil }
            fraction = Double("0." + digits) ?? 0
            base = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: base).map { $0.addingTimeInterval(fraction) }
    }

    /// Decodes the timestamp at `key`: nil when absent, an error when present but not a timestamp.
    static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> Date? {
        guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let date = parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "'\(text)' is not an RFC 3339 time")
        }
        return date
    }
}
