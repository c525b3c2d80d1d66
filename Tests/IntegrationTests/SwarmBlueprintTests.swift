import BerthCore
import BerthEngine
import DockerEngine
import Foundation
import Testing

@Suite("Swarm service blueprint (no engine)")
struct SwarmBlueprintTests {
    static func service(_ berth: String, lab: Bool = false, constraints: [String] = []) throws -> (ServiceSpec, EnvironmentSpec) {
        var spec = try ContainerLabBlueprintTests.spec(berth, lab: lab)
        spec.image = .prebuilt(reference: "sha256:" + String(repeating: "ab", count: 32))
        let now = Date()
        let instance = Instance(
            id: "inst_swarm", environment: spec.slug, owner: Owner(kind: .team, id: "team_1"), requestedBy: "usr_1",
            state: .starting, createdAt: now, updatedAt: now, expiresAt: now, maxExpiresAt: now, renewalsLeft: 0)
        let labels = [BerthLabel.instance: instance.id, BerthLabel.namespace: "ns-test"]
        return (SwarmServiceBlueprint().service(instance: instance, environment: spec, labels: labels, constraints: constraints), spec)
    }

    @Test("a service is one replica never restarted, named by the instance, its image by id, its labels on the service and its container")
    func identity() throws {
        let (service, _) = try Self.service("command: [httpd, -f]\nports: [{port: 8080, protocol: http}]", constraints: ["node.labels.berth.pool==ctf"])
        #expect(service.name == "berth-inst_swarm")
        #expect(service.mode.replicated?.replicas == 1)
        #expect(service.taskTemplate.restartPolicy?.condition == "none")
        #expect(service.taskTemplate.containerSpec.image.hasPrefix("sha256:"))
        #expect(service.labels[BerthLabel.instance] == "inst_swarm")
        #expect(service.taskTemplate.containerSpec.labels[BerthLabel.namespace] == "ns-test")
        #expect(service.taskTemplate.placement?.constraints == ["node.labels.berth.pool==ctf"])
        // The image's ENTRYPOINT stays: the command replaces CMD, as `docker run` would.
        #expect(service.taskTemplate.containerSpec.args == ["httpd", "-f"])
        #expect(service.taskTemplate.containerSpec.command == nil)
    }

    @Test("ports are published in host mode on a port the node picks, never through the ingress mesh")
    func hostModePorts() throws {
        let (service, _) = try Self.service("ports: [{port: 8080, protocol: http}, {port: 22, protocol: tcp}]")
        let ports = try #require(service.endpointSpec?.ports)
        #expect(ports.map(\.targetPort) == [8080, 22])
        #expect(ports.allSatisfy { $0.publishMode == "host" && $0.publishedPort == nil && $0.protocol == "tcp" })
        let (none, _) = try Self.service("network: none")
        #expect(none.endpointSpec == nil)
        #expect(none.taskTemplate.networks == nil)
    }

    @Test("reservations equal the limits, so the scheduler admits only what fits; pids are limited")
    func resources() throws {
        let (service, _) = try Self.service("resources: {memory: 96m, cpus: 0.5, pids: 80}")
        let resources = try #require(service.taskTemplate.resources)
        #expect(resources.limits?.memoryBytes == 96 << 20)
        #expect(resources.limits?.nanoCPUs == 500_000_000)
        #expect(resources.limits?.pids == 80)
        #expect(resources.reservations?.memoryBytes == resources.limits?.memoryBytes)
        #expect(resources.reservations?.nanoCPUs == resources.limits?.nanoCPUs)
    }

    @Test("the container's hardening carries over: no capabilities but the declared, init, read-only root, ulimits, capped tmpfs")
    func hardening() throws {
        let (service, _) = try Self.service("capabilities: [NET_BIND_SERVICE]\nreadOnlyRoot: true\nwritable: [/tmp, /home/player]\nterminal: {user: '1000'}")
        let container = service.taskTemplate.containerSpec
        #expect(container.capabilityDrop == ["ALL"])
        #expect(container.capabilityAdd == ["NET_BIND_SERVICE"])
        #expect(container.initProcess == true)
        #expect(container.readOnly == true)
        #expect(container.ulimits?.contains { $0.name == "nofile" } == true)
        #expect(container.openStdin == true)
        let tmpfs = container.mounts.filter { $0.type == "tmpfs" }
        #expect(Set(tmpfs.map(\.target)) == ["/tmp", "/home/player"])
        // API 1.41 cannot give a tmpfs to the terminal's uid: it is open to all, sticky.
        #expect(tmpfs.allSatisfy { $0.tmpfsOptions?.mode == 0o1777 && ($0.tmpfsOptions?.sizeBytes ?? 0) > 0 })
        #expect(service.taskTemplate.logDriver?.options?["max-size"] != nil)
    }

    @Test("a lab's script folder stays root's own")
    func labScripts() throws {
        let (service, _) = try Self.service("terminal: {user: '1000'}", lab: true)
        let scripts = try #require(service.taskTemplate.containerSpec.mounts.first { $0.target == LabChecks.scriptFolder })
        #expect(scripts.tmpfsOptions?.mode == 0o700)
        #expect(service.taskTemplate.containerSpec.user == "0")
    }

    @Test("what a service cannot express is refused with the reason: privileged, containers inside, a workspace")
    func unsupported() throws {
        #expect(SwarmServiceBlueprint.unsupported(try ContainerLabBlueprintTests.spec("privileged: true"), mounts: [])?.contains("privileged") == true)
        #expect(SwarmServiceBlueprint.unsupported(try ContainerLabBlueprintTests.spec("containers: true"), mounts: [])?.contains("Podman") == true)
        #expect(SwarmServiceBlueprint.unsupported(try ContainerLabBlueprintTests.spec("workspace: {path: /home/player}"), mounts: [])?.contains("workspace") == true)
        #expect(SwarmServiceBlueprint.unsupported(try ContainerLabBlueprintTests.spec("ports: [{port: 80, protocol: http}]"), mounts: []) == nil)
    }
}
