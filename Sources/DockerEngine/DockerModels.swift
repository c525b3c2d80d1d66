import Foundation

/// The body of `POST /containers/create`: the container's config plus its host config.
public struct ContainerCreateRequest: Encodable, Sendable {
    /// Image reference.
    public var image: String
    /// Replaces the image's CMD, nil keeps it.
    public var command: [String]?
    /// `uid[:gid]` or name, nil for the image's.
    public var user: String?
    /// Working directory, nil for the image's.
    public var workingDir: String?
    /// Environment variables as `KEY=value`.
    public var env: [String] = []
    /// Labels set on the container.
    public var labels: [String: String] = [:]
    /// Keep stdin open so an image whose command is a shell stays up, as with `docker run -di`.
    public var openStdin: Bool = false
    /// Allocate a TTY for the main process.
    public var tty: Bool = false
    /// Container ports to expose, e.g. `8080/tcp`.
    public var exposedPorts: [String] = []
    /// Container host name.
    public var hostname: String?
    /// Resource, security and network settings.
    public var hostConfig: HostConfig

    /// Creates a request for `image` with `hostConfig`.
    public init(image: String, hostConfig: HostConfig) {
        self.image = image
        self.hostConfig = hostConfig
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", command = "Cmd", user = "User", workingDir = "WorkingDir", env = "Env", labels = "Labels"
        case openStdin = "OpenStdin", tty = "Tty", exposedPorts = "ExposedPorts", hostname = "Hostname", hostConfig = "HostConfig"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encodeIfPresent(command, forKey: .command)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(workingDir, forKey: .workingDir)
        try container.encode(env, forKey: .env)
        try container.encode(labels, forKey: .labels)
        try container.encode(openStdin, forKey: .openStdin)
        try container.encode(tty, forKey: .tty)
        try container.encode(Dictionary(uniqueKeysWithValues: exposedPorts.map { ($0, EmptyObject()) }), forKey: .exposedPorts)
        try container.encodeIfPresent(hostname, forKey: .hostname)
        try container.encode(hostConfig, forKey: .hostConfig)
    }
}

struct EmptyObject: Codable, Sendable {}

/// Docker's `HostConfig`: limits, security options, mounts and networking of a container.
public struct HostConfig: Codable, Sendable, Equatable {
    /// Memory limit in bytes.
    public var memory: Int64?
    /// Memory plus swap in bytes; equal to `memory` means no swap.
    public var memorySwap: Int64?
    /// CPU quota in units of 1e-9 CPUs.
    public var nanoCpus: Int64?
    /// Maximum number of processes.
    public var pidsLimit: Int64?
    /// Capabilities to drop.
    public var capDrop: [String]?
    /// Capabilities to add.
    public var capAdd: [String]?
    /// Security options such as `no-new-privileges:true`.
    public var securityOpt: [String]?
    /// Mount the root file system read-only.
    public var readonlyRootfs: Bool?
    /// tmpfs mounts: path to mount options.
    public var tmpfs: [String: String]?
    /// `none`, `bridge` or a network name.
    public var networkMode: String?
    /// Published ports: `8080/tcp` to host bindings.
    public var portBindings: [String: [PortBinding]]?
    /// Run an init process as PID 1.
    public var initProcess: Bool?
    /// Privileged mode.
    public var privileged: Bool?
    /// Resource limits such as nofile and nproc.
    public var ulimits: [Ulimit]?
    /// Logging driver and options.
    public var logConfig: LogConfig?
    /// Host devices made available in the container (`/dev/fuse` for container labs).
    public var devices: [DeviceMapping]?
    /// Bind mounts (workspaces).
    public var mounts: [Mount]?

    /// Creates an empty host config.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case memory = "Memory", memorySwap = "MemorySwap", nanoCpus = "NanoCpus", pidsLimit = "PidsLimit"
        case capDrop = "CapDrop", capAdd = "CapAdd", securityOpt = "SecurityOpt", readonlyRootfs = "ReadonlyRootfs"
        case tmpfs = "Tmpfs", networkMode = "NetworkMode", portBindings = "PortBindings", initProcess = "Init"
        case privileged = "Privileged", ulimits = "Ulimits", logConfig = "LogConfig"
        case devices = "Devices", mounts = "Mounts"
    }
}

/// A host device exposed in a container, with its device-cgroup permissions.
public struct DeviceMapping: Codable, Sendable, Equatable {
    /// The device on the host.
    public var pathOnHost: String
    /// Where it appears in the container.
    public var pathInContainer: String
    /// Device-cgroup permissions: `r`, `w` and `m` (mknod).
    public var cgroupPermissions: String

    /// Creates a mapping of `path` to the same path in the container.
    public init(path: String, cgroupPermissions: String = "rw") {
        self.pathOnHost = path
        self.pathInContainer = path
        self.cgroupPermissions = cgroupPermissions
    }

    enum CodingKeys: String, CodingKey {
        case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
    }
}

/// One entry of `HostConfig.Mounts`.
public struct Mount: Codable, Sendable, Equatable {
    /// Bind options.
    public struct BindOptions: Codable, Sendable, Equatable {
        /// Mount propagation, e.g. `rprivate`.
        public var propagation: String?

        /// Creates options.
        public init(propagation: String?) {
            self.propagation = propagation
        }

        enum CodingKeys: String, CodingKey {
            case propagation = "Propagation"
        }
    }

    /// `bind`, `volume` or `tmpfs`.
    public var type: String
    /// The host path of a bind.
    public var source: String
    /// The path in the container.
    public var target: String
    /// Read-only.
    public var readOnly: Bool
    /// Bind options.
    public var bindOptions: BindOptions?

    /// Creates a mount.
    public init(type: String, source: String, target: String, readOnly: Bool, bindOptions: BindOptions? = nil) {
        self.type = type
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.bindOptions = bindOptions
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", bindOptions = "BindOptions"
    }
}

/// One host binding of a published port.
public struct PortBinding: Codable, Sendable, Equatable {
    /// Host address to bind.
    public var hostIP: String
    /// Host port as text.
    public var hostPort: String

    /// Creates a binding.
    public init(hostIP: String, hostPort: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
    }

    enum CodingKeys: String, CodingKey {
        case hostIP = "HostIp", hostPort = "HostPort"
    }
}

/// A ulimit with soft and hard values.
public struct Ulimit: Codable, Sendable, Equatable {
    /// Name, e.g. `nofile`.
    public var name: String
    /// Soft limit.
    public var soft: Int64
    /// Hard limit.
    public var hard: Int64

    /// Creates a ulimit.
    public init(name: String, soft: Int64, hard: Int64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", soft = "Soft", hard = "Hard"
    }
}

/// Logging driver settings.
public struct LogConfig: Codable, Sendable, Equatable {
    /// Driver name, e.g. `json-file`.
    public var type: String
    /// Driver options.
    public var config: [String: String]

    /// Creates a logging config.
    public init(type: String, config: [String: String]) {
        self.type = type
        self.config = config
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", config = "Config"
    }
}

/// The parts of `GET /containers/{id}/json` Berth reads.
public struct ContainerInspect: Decodable, Sendable {
    /// Full container id.
    public var id: String
    /// Name with its leading slash.
    public var name: String
    /// Run state.
    public var state: State
    /// The container's config.
    public var config: Config
    /// The host config as the engine stored it.
    public var hostConfig: HostConfig
    /// Network attachments and published ports.
    public var networkSettings: NetworkSettings
    /// The id of the image it runs (`sha256:…`), whatever its tag points at now.
    public var imageID: String

    /// Run state of a container.
    public struct State: Decodable, Sendable {
        /// `created`, `running`, `exited`, …
        public var status: String
        /// True while running.
        public var running: Bool
        /// Exit code of the main process.
        public var exitCode: Int
        /// True when the kernel killed it for memory.
        public var oomKilled: Bool

        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", exitCode = "ExitCode", oomKilled = "OOMKilled"
        }
    }

    /// The container's config.
    public struct Config: Decodable, Sendable {
        /// Image reference it was created from.
        public var image: String
        /// User the main process runs as.
        public var user: String?
        /// Labels.
        public var labels: [String: String]?
        /// Environment variables, `NAME=value`.
        public var env: [String]?

        enum CodingKeys: String, CodingKey {
            case image = "Image", user = "User", labels = "Labels", env = "Env"
        }
    }

    /// Networks and ports.
    public struct NetworkSettings: Decodable, Sendable {
        /// Published ports: `8080/tcp` to host bindings.
        public var ports: [String: [PortBinding]?]?
        /// Attachments by network name.
        public var networks: [String: Attachment]?

        /// One network attachment.
        public struct Attachment: Decodable, Sendable {
            /// The network's id.
            public var networkID: String?
            /// The container's address on it.
            public var ipAddress: String?
            /// The gateway (the host side of the bridge).
            public var gateway: String?

            enum CodingKeys: String, CodingKey {
                case networkID = "NetworkID", ipAddress = "IPAddress", gateway = "Gateway"
            }
        }

        enum CodingKeys: String, CodingKey {
            case ports = "Ports", networks = "Networks"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", state = "State", config = "Config", hostConfig = "HostConfig", networkSettings = "NetworkSettings"
        case imageID = "Image"
    }
}

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable {
    /// Full container id.
    public var id: String
    /// Names with leading slashes.
    public var names: [String]
    /// Image reference.
    public var image: String
    /// `created`, `running`, `exited`, …
    public var state: String
    /// Labels.
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", state = "State", labels = "Labels"
    }
}

/// The parts of `GET /images/{name}/json` Berth reads.
public struct ImageInspect: Decodable, Sendable {
    /// Image id (`sha256:…`).
    public var id: String
    /// Tags.
    public var repoTags: [String]?
    /// Creation time as RFC 3339 text.
    public var created: String?
    /// Size in bytes.
    public var size: Int64?
    /// The image's config (labels).
    public var config: Config?

    /// The image's config.
    public struct Config: Decodable, Sendable {
        /// Labels.
        public var labels: [String: String]?
        /// Default user.
        public var user: String?

        enum CodingKeys: String, CodingKey {
            case labels = "Labels", user = "User"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags", created = "Created", size = "Size", config = "Config"
    }
}

/// One entry of `GET /images/json`.
public struct ImageSummary: Decodable, Sendable {
    /// Image id.
    public var id: String
    /// Tags.
    public var repoTags: [String]?
    /// Labels.
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", repoTags = "RepoTags", labels = "Labels"
    }
}

/// The body of `POST /networks/create`.
public struct NetworkCreateRequest: Encodable, Sendable {
    /// Network name.
    public var name: String
    /// Driver, `bridge` by default.
    public var driver: String = "bridge"
    /// No route outside the network at all (no published ports either).
    public var isInternal: Bool = false
    /// Driver options, e.g. `com.docker.network.bridge.enable_ip_masquerade`.
    public var options: [String: String] = [:]
    /// Labels.
    public var labels: [String: String] = [:]

    /// Creates a request for a network called `name`.
    public init(name: String) {
        self.name = name
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", isInternal = "Internal", options = "Options", labels = "Labels"
    }
}

/// The parts of a network Berth reads.
public struct NetworkSummary: Decodable, Sendable {
    /// Network id.
    public var id: String
    /// Network name.
    public var name: String
    /// Labels.
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", labels = "Labels"
    }
}

/// One event from `GET /events`.
public struct DockerEvent: Decodable, Sendable {
    /// `container`, `network`, `image`, …
    public var type: String
    /// `create`, `start`, `die`, `destroy`, …
    public var action: String
    /// The object concerned.
    public var actor: Actor
    /// Unix time in nanoseconds.
    public var timeNano: Int64?

    /// The object an event concerns.
    public struct Actor: Decodable, Sendable {
        /// Its id.
        public var id: String
        /// Its attributes (labels, name, exit code, …).
        public var attributes: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id = "ID", attributes = "Attributes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", timeNano
    }
}

/// One line of progress from an image build.
public struct BuildProgress: Decodable, Sendable {
    /// Output of a build step.
    public var stream: String?
    /// A status message (pulls, exports).
    public var status: String?
    /// Set when the build failed.
    public var error: String?
    /// Set at the end with the image id.
    public var aux: Aux?

    /// The auxiliary payload carrying the built image id.
    public struct Aux: Decodable, Sendable {
        /// The image id.
        public var id: String?

        enum CodingKeys: String, CodingKey {
            case id = "ID"
        }
    }
}

/// What a non-interactive exec produced.
public struct ExecResult: Sendable {
    /// Exit code of the command.
    public var exitCode: Int
    /// Everything it wrote to stdout.
    public var stdout: String
    /// Everything it wrote to stderr.
    public var stderr: String
}

/// The engine's version information.
public struct EngineVersion: Decodable, Sendable {
    /// Engine release, e.g. `26.1.5`.
    public var version: String
    /// Highest API version it speaks.
    public var apiVersion: String
    /// Lowest API version it accepts.
    public var minAPIVersion: String?

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion"
    }
}
