import BerthCore
import DockerEngine

/// Turns an instance into a Swarm service: the same hardening as one container
/// (``ContainerBlueprint``), in the terms a service spec has at API 1.41.
///
/// A service cannot say `no-new-privileges`, a seccomp profile, devices or privileged mode: the
/// first two are daemon defaults every node must have (``SwarmNodes`` checks them), and
/// environments that need the others are refused on a swarm.
public struct SwarmServiceBlueprint: Sendable {
    /// The per-container rules this translates.
    public var container: ContainerBlueprint
    /// Seconds a task gets to stop before it is killed.
    public var stopGraceSeconds: Int64 = 2

    /// Creates a blueprint from the container rules.
    public init(container: ContainerBlueprint = ContainerBlueprint()) {
        self.container = container
    }

    /// Why `environment` cannot run on a swarm, nil when it can.
    public static func unsupported(_ environment: EnvironmentSpec, mounts: [InstanceMount]) -> String? {
        let settings = environment.berth
        if settings.privileged { return "it is privileged, which a Swarm service cannot be" }
        if settings.containers { return "it runs containers inside (rootless Podman), which needs a seccomp profile and /dev/fuse that a Swarm service cannot set" }
        if !mounts.isEmpty || settings.workspace != nil { return "it keeps a persistent workspace, which lives on one host's disk" }
        return nil
    }

    /// The service of `instance`: named `berth-<id>`, one replica never restarted, the image named by
    /// id (already pinned in `environment`), reservations equal to the limits, every declared port
    /// published in host mode on a port the node picks, and `constraints` for placement.
    public func service(instance: Instance, environment: EnvironmentSpec, labels: [String: String], constraints: [String]) -> ServiceSpec {
        let request = container.request(
            instance: instance, environment: environment, hostPorts: [], publishAddress: "", networkName: nil, mounts: []
        )
        let host = request.hostConfig
        var spec = ContainerSpec(image: request.image)
        spec.labels = labels
        // A service's Command replaces the image's ENTRYPOINT; a container's Cmd, like Args, its CMD.
        spec.args = request.command
        spec.hostname = request.hostname
        spec.env = request.env
        spec.dir = request.workingDir
        spec.user = request.user
        spec.tty = request.tty
        spec.openStdin = request.openStdin
        spec.readOnly = host.readonlyRootfs
        spec.initProcess = host.initProcess
        spec.capabilityDrop = host.capDrop
        spec.capabilityAdd = host.capAdd
        spec.ulimits = host.ulimits
        spec.stopGracePeriod = stopGraceSeconds * 1_000_000_000
        spec.mounts = (host.tmpfs ?? [:]).sorted { $0.key < $1.key }.map { path, options in
            Self.tmpfsMount(path: path, options: options)
        }

        var task = TaskSpec(containerSpec: spec)
        let nanoCPUs = host.nanoCpus ?? 0
        let memory = host.memory ?? 0
        task.resources = ServiceResources(
            limits: ServiceLimits(nanoCPUs: nanoCPUs, memoryBytes: memory, pids: host.pidsLimit),
            reservations: ServiceReservations(nanoCPUs: nanoCPUs, memoryBytes: memory)
        )
        task.restartPolicy = ServiceRestartPolicy(condition: "none", maxAttempts: 0)
        task.placement = Placement(constraints: constraints)
        // Every policy gets the node's default bridge, where the daemon's `--icc=false` keeps
        // instances apart and the node firewall keeps them from the nodes: a service cannot join the
        // `none` network ("network none not found" at API 1.41).
        if let log = host.logConfig { task.logDriver = LogDriver(name: log.type, options: log.config) }

        var service = ServiceSpec(name: "berth-\(instance.id)", taskTemplate: task)
        service.labels = labels
        service.mode = .replicated(1)
        let ports = environment.berth.ports.map { ServicePort(targetPort: $0.port, publishedPort: nil, protocol: "tcp", publishMode: "host") }
        service.endpointSpec = ports.isEmpty ? nil : EndpointSpec(ports: ports)
        return service
    }

    /// A tmpfs mount from the options of a container's `Tmpfs` entry. API 1.41 sets only size and
    /// mode: a folder the container would give its user is open to all (sticky) instead.
    static func tmpfsMount(path: String, options: String) -> ServiceMount {
        var size: Int64?
        var mode: Int?
        var owned = false
        for option in options.split(separator: ",") {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "size": size = Int64(parts[1])
            case "mode": mode = Int(parts[1], radix: 8)
            case "uid": owned = parts[1] != "0"
            default: break
            }
        }
        if owned { mode = 0o1777 }
        return ServiceMount(type: "tmpfs", target: path, tmpfsOptions: ServiceMount.TmpfsOptions(sizeBytes: size, mode: mode))
    }
}
