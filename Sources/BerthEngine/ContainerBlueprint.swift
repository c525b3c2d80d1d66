import BerthCore
import DockerEngine

/// Labels Berth puts on everything it creates, so reconciliation can find it.
public enum BerthLabel {
    /// The instance id.
    public static let instance = "berth.instance"
    /// The environment slug.
    public static let environment = "berth.environment"
    /// The owner, `user:…` or `team:…`.
    public static let owner = "berth.owner"
    /// Marks an image built by Berth from an environment folder.
    public static let builtEnvironment = "berth.environment"
    /// The deployment that owns a container or network, so Berth servers (or test runs) sharing
    /// one engine never reconcile away each other's instances.
    public static let namespace = "berth.namespace"
}

/// Turns an environment and an instance into a hardened container request: every secure default
/// of the design brief is applied here and nowhere else.
public struct ContainerBlueprint: Sendable {
    /// Open files per process (`nofile`, soft and hard).
    public var openFilesLimit: Int64 = 1024
    /// Processes per user id (`nproc`, soft and hard). The kernel counts it per uid across the whole
    /// host, not per container, so it must stay far above one instance's pids limit: otherwise a fork
    /// bomb in one instance stops every other instance running as the same uid from forking. The
    /// per-instance cap is the pids limit.
    public var userProcessLimit: Int64 = 32768
    /// Size limit of the container's JSON log, so a chatty service cannot fill the disk.
    public var logMaxSize = "1m"
    /// Size cap of a lab's script folder, `/run/berth-checks` (scripts and their result files).
    public var labScriptsTmpfsBytes: Int64 = 16 << 20

    /// Creates a blueprint with the default ulimits and log cap.
    public init() {}

    /// The container request for `instance` of `environment`, publishing each declared port on
    /// `hostPorts` (same order) at `publishAddress`, attached to `networkName` (nil for no network),
    /// with `mounts` (workspaces) bound read-write. A workspace's host mount is `nosuid,nodev`, and a
    /// bind keeps its source's flags.
    public func request(
        instance: Instance, environment: EnvironmentSpec, hostPorts: [Int], publishAddress: String, networkName: String?,
        mounts: [InstanceMount] = []
    ) -> ContainerCreateRequest {
        let settings = environment.berth
        var host = HostConfig()
        host.memory = settings.resources.memoryBytes
        host.memorySwap = settings.resources.memoryBytes
        host.nanoCpus = Int64(settings.resources.cpus * 1_000_000_000)
        host.pidsLimit = Int64(settings.resources.pids)
        host.privileged = settings.privileged
        host.capDrop = settings.privileged ? nil : ["ALL"]
        var capabilities = settings.capabilities
        if environment.lab != nil {
            // Lab scripts run as root and must read and fix the learner's files. The learner's
            // processes (non-root, no-new-privileges) never hold these capabilities.
            capabilities += LabChecks.scriptCapabilities.filter { !capabilities.contains($0) }
            if settings.containers {
                capabilities += ContainerLabProfile.labScriptCapabilities.filter { !capabilities.contains($0) }
            }
        }
        host.capAdd = settings.privileged || capabilities.isEmpty ? nil : capabilities
        host.securityOpt = settings.privileged ? nil : ["no-new-privileges:true"]
        if settings.containers && !settings.privileged {
            // Rootless Podman inside: Docker's default seccomp profile plus the namespace and mount
            // calls, and /dev/fuse. Never Privileged, never SYS_ADMIN, never the Docker socket.
            host.securityOpt?.append("seccomp=" + ContainerLabProfile.seccompJSON(capabilities: capabilities))
            host.devices = [DeviceMapping(path: ContainerLabProfile.fuseDevice)]
        }
        host.initProcess = true
        host.readonlyRootfs = settings.readOnlyRoot
        host.ulimits = [
            Ulimit(name: "nofile", soft: openFilesLimit, hard: openFilesLimit),
            Ulimit(name: "nproc", soft: userProcessLimit, hard: userProcessLimit),
        ]
        host.logConfig = LogConfig(type: "json-file", config: ["max-size": logMaxSize, "max-file": "1"])
        var tmpfs: [String: String] = [:]
        for path in settings.writable {
            var options = "rw,nosuid,nodev,size=\(settings.tmpfsBytes)"
            if let owner = Self.numericOwner(settings.terminal.user) { options += ",uid=\(owner.uid),gid=\(owner.gid),mode=0755" } else {
                options += ",mode=1777"
            }
            tmpfs[path] = options
        }
        if environment.lab != nil {
            // Lab scripts: root only, so the learner (the terminal's user) can neither list nor read
            // them; `exec`, because Docker mounts a tmpfs noexec unless told otherwise.
            tmpfs[LabChecks.scriptFolder] = "rw,exec,nosuid,nodev,size=\(labScriptsTmpfsBytes),uid=0,gid=0,mode=0700"
        }
        host.tmpfs = tmpfs
        host.networkMode = networkName ?? "none"
        var bindings: [String: [PortBinding]] = [:]
        for (declared, hostPort) in zip(settings.ports, hostPorts) {
            bindings["\(declared.port)/tcp"] = [PortBinding(hostIP: publishAddress, hostPort: String(hostPort))]
        }
        host.portBindings = bindings.isEmpty ? nil : bindings
        host.mounts = mounts.isEmpty ? nil : mounts.map {
            Mount(type: "bind", source: $0.hostPath, target: $0.containerPath, readOnly: false, bindOptions: Mount.BindOptions(propagation: "rprivate"))
        }

        var request = ContainerCreateRequest(image: environment.imageReference ?? "", hostConfig: host)
        request.command = settings.command
        request.user = settings.terminal.user
        if environment.lab != nil {
            // Docker (20.10) gives an exec its capabilities only when the container's own user is
            // root, so a lab's container runs as root for its root-run scripts to get them. The
            // terminal, flag writes and file access name the terminal's user explicitly, and a
            // non-root exec holds no capabilities.
            request.user = "0"
        }
        request.workingDir = settings.terminal.workdir
        request.openStdin = true
        request.hostname = environment.slug
        request.exposedPorts = settings.ports.map { "\($0.port)/tcp" }
        request.labels = [
            BerthLabel.instance: instance.id,
            BerthLabel.environment: environment.slug,
            BerthLabel.owner: instance.owner.label,
        ]
        return request
    }

    /// The numeric uid and gid of a `uid[:gid]` user, nil for names.
    static func numericOwner(_ user: String?) -> (uid: Int, gid: Int)? {
        guard let user else { return nil }
        let parts = user.split(separator: ":").map { Int($0) }
        guard let uid = parts.first ?? nil else { return nil }
        let gid = parts.count > 1 ? (parts[1] ?? uid) : uid
        return (uid, gid)
    }
}
