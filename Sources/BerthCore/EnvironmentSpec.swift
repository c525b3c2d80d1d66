import Foundation

/// How an instance is connected to networks.
public enum NetworkPolicy: String, Codable, Sendable, CaseIterable {
    /// No network at all, only loopback.
    case none
    /// A network of its own with published ports but no route to the internet or other instances.
    case isolated
    /// A network of its own with outbound internet access.
    case internet
}

/// A service port an environment declares.
public struct PortSpec: Codable, Sendable, Equatable {
    /// The port inside the container.
    public var port: Int
    /// What it speaks; `http` ports get a URL.
    public var `protocol`: PortProtocol

    /// Creates a port declaration.
    public init(port: Int, protocol: PortProtocol) {
        self.port = port
        self.protocol = `protocol`
    }
}

/// What a terminal recording of an environment captures.
public enum RecordingPolicy: String, Codable, Sendable, CaseIterable {
    /// Nothing is recorded.
    case off
    /// Output, resizes and markers.
    case output
    /// Output, resizes, markers and the input typed or pasted (the default).
    case inputOutput = "input-output"
}

/// What Berth does when a terminal's shell exits.
public enum TerminalExitAction: String, Codable, Sendable, CaseIterable {
    /// Tell clients the shell exited and start a new one when they reconnect.
    case newShell = "new-shell"
    /// Stop the instance.
    case stop
}

/// The shell a player gets in the browser terminal.
public struct TerminalSpec: Codable, Sendable, Equatable {
    /// The command the terminal runs.
    public var command: [String]
    /// `uid[:gid]` or user name, nil for the image's user.
    public var user: String?
    /// Working directory, nil for the image's.
    public var workdir: String?
    /// What happens when the shell exits on its own: offer a new shell (default) or stop the
    /// instance (the interview "finish" pattern).
    public var onExit: TerminalExitAction = .newShell

    /// Creates a terminal declaration.
    public init(command: [String] = ["/bin/sh"], user: String? = nil, workdir: String? = nil, onExit: TerminalExitAction = .newShell) {
        self.onExit = onExit
        self.command = command
        self.user = user
        self.workdir = workdir
    }
}

/// CPU, memory and process limits for one instance.
public struct ResourceSpec: Codable, Sendable, Equatable {
    /// Memory limit in bytes; swap is set to the same value, so no swap is used.
    public var memoryBytes: Int64
    /// CPU quota in cores (0.5 is half a core).
    public var cpus: Double
    /// Maximum number of processes and threads.
    public var pids: Int

    /// Creates resource limits.
    public init(memoryBytes: Int64 = 256 << 20, cpus: Double = 1.0, pids: Int = 128) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
        self.pids = pids
    }
}

/// How long an instance lives.
public struct LifetimeSpec: Codable, Sendable, Equatable {
    /// Seconds from start (or last renewal) until expiry.
    public var ttlSeconds: Int
    /// How many renewals an owner may make.
    public var renewals: Int
    /// Hard limit in seconds after creation, whatever the renewals.
    public var maxLifetimeSeconds: Int
    /// Seconds with no terminal and no editor of its owner connected after which the instance
    /// stops (`lifetime.whenDisconnected`, formerly `idle`), nil to never stop for that.
    public var whenDisconnectedSeconds: Int?
    /// Whether `ttl` was written in the file; when not, the server's default TTL setting applies.
    public var ttlDeclared = false

    /// Creates a lifetime policy.
    public init(ttlSeconds: Int = 1800, renewals: Int = 3, maxLifetimeSeconds: Int = 7200, whenDisconnectedSeconds: Int? = nil) {
        self.ttlSeconds = ttlSeconds
        self.renewals = renewals
        self.maxLifetimeSeconds = maxLifetimeSeconds
        self.whenDisconnectedSeconds = whenDisconnectedSeconds
    }
}

/// Everything the `berth:` block of a `challenge.yml` says, with defaults filled in.
public struct BerthSettings: Codable, Sendable, Equatable {
    /// The terminal's command, user and working directory.
    public var terminal: TerminalSpec
    /// Replaces the image's command for the container's main process, nil keeps the image's.
    public var command: [String]?
    /// Declared service ports.
    public var ports: [PortSpec]
    /// Limits.
    public var resources: ResourceSpec
    /// Network policy.
    public var network: NetworkPolicy
    /// Lifetime policy.
    public var lifetime: LifetimeSpec
    /// Mount the image's root file system read-only.
    public var readOnlyRoot: Bool
    /// Paths that get a size-capped tmpfs (empty at start).
    public var writable: [String]
    /// Size of each writable tmpfs, in bytes.
    public var tmpfsBytes: Int64
    /// Capabilities added back after dropping all, from ``BerthSettings/allowedCapabilities``.
    public var capabilities: [String]
    /// Run privileged; only when asked for explicitly, and flagged in the admin view.
    public var privileged: Bool
    /// What terminal recordings capture (default: input and output).
    public var recording: RecordingPolicy = .inputOutput
    /// A flag made for each instance and written into its container at start (`berth.flag`).
    public var flag: DynamicFlagSpec?
    /// A folder whose files outlive instances, one per owner and environment (`berth.workspace`).
    public var workspace: WorkspaceSpec?
    /// The learner may build and run containers inside the instance with rootless Podman and
    /// Buildah (`berth.containers`), without `Privileged` and without `SYS_ADMIN`.
    public var containers = false

    /// Capabilities an environment may add back. Anything that reaches the host kernel or other
    /// containers (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, …) requires `privileged: true` instead.
    public static let allowedCapabilities: Set<String> = [
        "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "AUDIT_WRITE", "SETFCAP", "MKNOD",
    ]

    /// Creates settings; every argument has the documented default.
    public init(
        terminal: TerminalSpec = TerminalSpec(), command: [String]? = nil, ports: [PortSpec] = [],
        resources: ResourceSpec = ResourceSpec(), network: NetworkPolicy = .none, lifetime: LifetimeSpec = LifetimeSpec(),
        readOnlyRoot: Bool = false, writable: [String] = ["/tmp"], tmpfsBytes: Int64 = 64 << 20,
        capabilities: [String] = [], privileged: Bool = false
    ) {
        self.terminal = terminal
        self.command = command
        self.ports = ports
        self.resources = resources
        self.network = network
        self.lifetime = lifetime
        self.readOnlyRoot = readOnlyRoot
        self.writable = writable
        self.tmpfsBytes = tmpfsBytes
        self.capabilities = capabilities
        self.privileged = privileged
    }
}

/// `berth.workspace`: where an owner's persistent files are mounted in the instance, and their quota.
public struct WorkspaceSpec: Codable, Sendable, Equatable {
    /// Absolute path in the container, e.g. `/home/player/work`.
    public var path: String
    /// The most the files may hold, in bytes (the file system's usable size).
    public var sizeBytes: Int64

    /// Creates a workspace declaration.
    public init(path: String, sizeBytes: Int64 = WorkspaceSpec.defaultSizeBytes) {
        self.path = path
        self.sizeBytes = sizeBytes
    }

    /// The size when `size` is left out.
    public static let defaultSizeBytes: Int64 = 256 << 20
}

/// One problem found in an environment file, reported as `file: field: reason`.
public struct ValidationProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Whether the problem rejects the environment or is only shown.
    public enum Severity: String, Codable, Sendable {
        case error
        case warning
    }

    /// The file, relative to the environments directory where possible.
    public var file: String
    /// Dotted path of the field, e.g. `berth.resources.memory`.
    public var field: String
    /// What is wrong and what is expected.
    public var reason: String
    /// Error or warning.
    public var severity: Severity

    /// Creates a problem.
    public init(file: String, field: String, reason: String, severity: Severity = .error) {
        self.file = file
        self.field = field
        self.reason = reason
        self.severity = severity
    }

    public var description: String {
        "\(file): \(field): \(severity == .warning ? "warning: " : "")\(reason)"
    }
}

/// Where an environment's instances get their image.
public enum ImageSource: Codable, Sendable, Equatable {
    /// No instance at all: a challenge with a description, attachments, hints and flags.
    case none
    /// Build a folder of the environment: `.` is the environment's own folder, else a sub-folder.
    case build(context: String)
    /// An image already on the engine, by `name:tag` or id (built elsewhere; Berth never pulls).
    case prebuilt(reference: String)
}

/// Who sees an environment (ctfcli's `state`).
public enum Visibility: String, Codable, Sendable, CaseIterable {
    /// Listed for everyone.
    case visible
    /// Listed and playable for admins only.
    case hidden
}

/// What must be solved before an environment unlocks (ctfcli's `requirements`).
public struct RequirementsSpec: Codable, Sendable, Equatable {
    /// Environments (by slug, name or CTFd id as written) that must be solved first.
    public var prerequisites: [String]
    /// CTFd's `anonymize`: while locked, show a placeholder instead of hiding it.
    public var anonymize: Bool

    /// Creates requirements.
    public init(prerequisites: [String], anonymize: Bool = false) {
        self.prerequisites = prerequisites
        self.anonymize = anonymize
    }
}

/// An environment: a ctfcli `challenge.yml` plus its `berth:` block, loaded from a folder.
public struct EnvironmentSpec: Codable, Sendable, Equatable {
    /// The folder name; unique in a catalog.
    public var slug: String
    /// Display name.
    public var name: String
    /// ctfcli category.
    public var category: String
    /// Markdown description.
    public var description: String
    /// Points (ctfcli `value`).
    public var value: Int?
    /// ctfcli `type` (`standard`, `dynamic`, …).
    public var type: String
    /// ctfcli `author`.
    public var author: String?
    /// ctfcli `connection_info`.
    public var connectionInfo: String?
    /// ctfcli `tags`.
    public var tags: [String]
    /// Where instances get their image; ``ImageSource/none`` for a challenge without an instance.
    public var image: ImageSource
    /// The `berth:` block with defaults applied.
    public var berth: BerthSettings
    /// Unknown fields and other non-fatal findings.
    public var warnings: [ValidationProblem]
    /// Accepted answers (ctfcli `flags:`); with `berth.flag`, each instance's own flag is accepted too.
    public var flags: [FlagSpec] = []
    /// Hints and their costs (ctfcli `hints:`).
    public var hints: [HintSpec] = []
    /// Points per solve (ctfcli `value`, or `type: dynamic` with `extra: {initial, decay, minimum}`).
    public var scoring: ScoringSpec = .fixed(value: 0)
    /// Attachment paths or globs relative to the environment's folder (ctfcli `files:`).
    public var files: [String] = []
    /// ctfcli `state`: hidden environments are shown to admins only.
    public var visibility: Visibility = .visible
    /// ctfcli `requirements`, nil when nothing must be solved first.
    public var requirements: RequirementsSpec?
    /// ctfcli `attempts`: the most wrong submissions an owner may make, nil for no limit.
    public var maxAttempts: Int?
    /// The lab (`steps:` and `checks/`), nil for an environment that is not a lab.
    public var lab: LabSpec?

    /// Whether a submission can solve it: it has flags or a per-instance flag.
    public var isSolvable: Bool { !flags.isEmpty || berth.flag != nil }

    /// Creates an environment value.
    public init(
        slug: String, name: String, category: String = "", description: String = "", value: Int? = nil,
        type: String = "standard", author: String? = nil, connectionInfo: String? = nil, tags: [String] = [],
        image: ImageSource = .build(context: "."), berth: BerthSettings = BerthSettings(), warnings: [ValidationProblem] = []
    ) {
        self.slug = slug
        self.name = name
        self.category = category
        self.description = description
        self.value = value
        self.type = type
        self.author = author
        self.connectionInfo = connectionInfo
        self.tags = tags
        self.image = image
        self.berth = berth
        self.warnings = warnings
    }

    /// True when instances can be started: the environment has an image.
    public var hasInstance: Bool { image != .none }

    /// True when Berth builds the image from a folder of the environment.
    public var buildsFromFolder: Bool {
        if case .build = image { return true }
        return false
    }

    /// The image instances run: the repository `berth-env/<slug>` for built folders (each build is
    /// tagged with a hash of its context, see `ImageBuilder`), the reference for prebuilt images,
    /// nil without an instance.
    public var imageReference: String? {
        switch image {
        case .none: return nil
        case .build: return "berth-env/\(slug)"
        case .prebuilt(let reference): return reference
        }
    }
}
