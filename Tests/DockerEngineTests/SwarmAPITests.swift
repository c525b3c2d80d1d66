import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// The Swarm models against the JSON of the Engine API 1.41 (samples from its documentation, and
/// the fields a 20.10 engine adds such as a task's `PortStatus`), the client's requests against a
/// stub, and the engine facts against the real local engine.
@Suite("Swarm API")
struct SwarmAPITests {
    /// A spec with every field Berth sets.
    static func fullSpec() -> ServiceSpec {
        var container = ContainerSpec(image: "sha256:4c0f1a")
        container.labels = ["berth.instance": "i-1", "berth.namespace": "ns"]
        container.command = ["/bin/sh"]
        container.args = ["-c", "sleep infinity"]
        container.hostname = "web"
        container.env = ["TERM=xterm-256color"]
        container.dir = "/home/player"
        container.user = "1000:1000"
        container.tty = true
        container.openStdin = true
        container.readOnly = true
        container.mounts = [
            .tmpfs("/tmp", sizeBytes: 64 << 20, mode: 0o1777),
            ServiceMount(type: "bind", source: "/srv/workspaces/w1", target: "/work", readOnly: false, bindOptions: .init(propagation: "rprivate")),
        ]
        container.stopGracePeriod = 2_000_000_000
        container.initProcess = true
        container.sysctls = ["net.ipv4.ip_unprivileged_port_start": "0"]
        container.capabilityAdd = ["CAP_NET_BIND_SERVICE"]
        container.capabilityDrop = ["ALL"]
        container.ulimits = [Ulimit(name: "nofile", soft: 1024, hard: 2048)]
        let task = TaskSpec(
            containerSpec: container,
            resources: ServiceResources(
                limits: ServiceLimits(nanoCPUs: 500_000_000, memoryBytes: 256 << 20, pids: 128),
                reservations: ServiceReservations(nanoCPUs: 500_000_000, memoryBytes: 256 << 20)
            ),
            restartPolicy: ServiceRestartPolicy(condition: "none", maxAttempts: 0),
            placement: Placement(constraints: ["node.labels.berth.pool==ctf", "node.id!=3kq9"]),
            networks: [NetworkAttachment(target: "berth-i-1")],
            logDriver: LogDriver(name: "json-file", options: ["max-size": "1m"])
        )
        return ServiceSpec(
            name: "berth-i-1", labels: ["berth.instance": "i-1", "berth.namespace": "ns"], taskTemplate: task, mode: .replicated(1),
            endpointSpec: EndpointSpec(ports: [ServicePort(targetPort: 8080)])
        )
    }

    /// The JSON Docker expects for ``fullSpec()``, written from the API reference.
    static let fullSpecJSON = """
        {
          "Name": "berth-i-1",
          "Labels": {"berth.instance": "i-1", "berth.namespace": "ns"},
          "TaskTemplate": {
            "ContainerSpec": {
              "Image": "sha256:4c0f1a",
              "Labels": {"berth.instance": "i-1", "berth.namespace": "ns"},
              "Command": ["/bin/sh"],
              "Args": ["-c", "sleep infinity"],
              "Hostname": "web",
              "Env": ["TERM=xterm-256color"],
              "Dir": "/home/player",
              "User": "1000:1000",
              "TTY": true,
              "OpenStdin": true,
              "ReadOnly": true,
              "Mounts": [
                {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}},
                {"Type": "bind", "Source": "/srv/workspaces/w1", "Target": "/work", "ReadOnly": false, "BindOptions": {"Propagation": "rprivate"}}
              ],
              "StopGracePeriod": 2000000000,
              "Init": true,
              "Sysctls": {"net.ipv4.ip_unprivileged_port_start": "0"},
              "CapabilityAdd": ["CAP_NET_BIND_SERVICE"],
              "CapabilityDrop": ["ALL"],
              "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
            },
            "Resources": {
              "Limits": {"NanoCPUs": 500000000, "MemoryBytes": 268435456, "Pids": 128},
              "Reservations": {"NanoCPUs": 500000000, "MemoryBytes": 268435456}
            },
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Placement": {"Constraints": ["node.labels.berth.pool==ctf", "node.id!=3kq9"]},
            "Networks": [{"Target": "berth-i-1"}],
            "LogDriver": {"Name": "json-file", "Options": {"max-size": "1m"}}
          },
          "Mode": {"Replicated": {"Replicas": 1}},
          "EndpointSpec": {"Ports": [{"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "host"}]}
        }
        """

    static func jsonObject(_ data: Data) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    @Test("a full ServiceSpec encodes to the JSON the Engine API expects")
    func encodeFullSpec() throws {
        let encoded = try Self.jsonObject(try JSONEncoder().encode(Self.fullSpec()))
        let expected = try Self.jsonObject(Data(Self.fullSpecJSON.utf8))
        #expect(encoded.isEqual(to: expected as? [AnyHashable: Any] ?? [:]), "\(encoded)")
        // A few keys spelled out, so a mismatch names them.
        let template = try #require(encoded["TaskTemplate"] as? NSDictionary)
        let container = try #require(template["ContainerSpec"] as? NSDictionary)
        #expect(container["Init"] as? Bool == true)
        #expect(container["TTY"] as? Bool == true && container["Tty"] == nil)
        #expect(((template["Resources"] as? NSDictionary)?["Limits"] as? NSDictionary)?["Pids"] as? Int == 128)
        let ports = try #require((encoded["EndpointSpec"] as? NSDictionary)?["Ports"] as? [NSDictionary])
        #expect(ports.first?["PublishMode"] as? String == "host")
        #expect(ports.first?["PublishedPort"] == nil, "no published port: the engine picks a free one")

        // And it decodes back to the same spec (ServiceInspect's Spec).
        #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(Self.fullSpecJSON.utf8)) == Self.fullSpec())
    }

    @Test("fields left unset are not encoded")
    func encodeMinimalSpec() throws {
        let spec = ServiceSpec(name: "berth-i-2", taskTemplate: TaskSpec(containerSpec: ContainerSpec(image: "sha256:1")))
        let encoded = try Self.jsonObject(try JSONEncoder().encode(spec))
        #expect(Set(encoded.allKeys.compactMap { $0 as? String }) == ["Name", "Labels", "TaskTemplate", "Mode"])
        let template = try #require(encoded["TaskTemplate"] as? NSDictionary)
        #expect(template.allKeys.compactMap { $0 as? String } == ["ContainerSpec"])
        let container = try #require(template["ContainerSpec"] as? NSDictionary)
        #expect(Set(container.allKeys.compactMap { $0 as? String }) == ["Image", "Labels", "Env", "Mounts"])
        #expect(((encoded["Mode"] as? NSDictionary)?["Replicated"] as? NSDictionary)?["Replicas"] as? Int == 1)
    }

    static let runningTaskJSON = """
        {
          "ID": "0kzzo1i0y4jz6027t0k7aezc7",
          "Version": {"Index": 71},
          "CreatedAt": "2016-06-07T21:07:31.171892745Z",
          "UpdatedAt": "2016-06-07T21:07:31.376370513Z",
          "Labels": {},
          "Spec": {
            "ContainerSpec": {"Image": "sha256:4c0f1a", "Labels": {"berth.instance": "i-1", "berth.namespace": "ns"}, "Init": true},
            "Resources": {"Limits": {"NanoCPUs": 500000000, "MemoryBytes": 268435456, "Pids": 128}, "Reservations": {}},
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Placement": {},
            "ForceUpdate": 0
          },
          "ServiceID": "9mnpnzenvg8p8tdbtq4wvbkcz",
          "Slot": 1,
          "NodeID": "60gvrl6tm78dmak4yl7srz94v",
          "Status": {
            "Timestamp": "2016-06-07T21:07:31.290032978Z",
            "State": "running",
            "Message": "started",
            "ContainerStatus": {"ContainerID": "e5d62702a1b48d01c3e02ca1e0212a250801fa8d67caca0b6f35919ebc12f035", "PID": 677, "ExitCode": 0},
            "PortStatus": {"Ports": [{"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 30001, "PublishMode": "host"}]}
          },
          "DesiredState": "running",
          "NetworksAttachments": [{"Network": {"ID": "4qvuz4ko70xaltuqbt8956gd1", "Spec": {"Name": "ingress"}}, "Addresses": ["10.255.0.10/16"]}]
        }
        """

    static let pendingTaskJSON = """
        {
          "ID": "7zmc9lyo0hb1f2ddwbduz4rhy",
          "Version": {"Index": 12},
          "CreatedAt": "2026-11-29T02:00:00.5Z",
          "UpdatedAt": "2026-11-29T02:00:01Z",
          "Labels": {},
          "Spec": {"ContainerSpec": {"Image": "sha256:4c0f1a"}, "Resources": {"Limits": {}, "Reservations": {}}},
          "ServiceID": "q1w2e3",
          "Slot": 1,
          "Status": {
            "Timestamp": "2026-11-29T02:00:01.000000001Z",
            "State": "pending",
            "Message": "pending task scheduling",
            "Err": "no suitable node (insufficient resources on 3 nodes)",
            "PortStatus": {}
          },
          "DesiredState": "running"
        }
        """

    @Test("tasks decode, a running one with its container and host port, a pending one without")
    func decodeTasks() throws {
        let tasks = try JSONDecoder().decode([SwarmTask].self, from: Data("[\(Self.runningTaskJSON), \(Self.pendingTaskJSON)]".utf8))
        let running = try #require(tasks.first)
        #expect(running.id == "0kzzo1i0y4jz6027t0k7aezc7")
        #expect(running.serviceID == "9mnpnzenvg8p8tdbtq4wvbkcz")
        #expect(running.nodeID == "60gvrl6tm78dmak4yl7srz94v")
        #expect(running.desiredState == "running")
        #expect(running.status.isRunning && !running.status.hasEnded)
        #expect(running.status.message == "started")
        #expect(running.status.containerStatus?.containerID == "e5d62702a1b48d01c3e02ca1e0212a250801fa8d67caca0b6f35919ebc12f035")
        #expect(running.status.containerStatus?.pid == 677)
        #expect(running.status.portStatus?.ports == [ServicePort(targetPort: 8080, publishedPort: 30001)])
        #expect(running.spec.containerSpec.labels["berth.instance"] == "i-1")
        #expect(running.spec.containerSpec.initProcess == true)
        #expect(running.spec.resources?.limits?.pids == 128)
        #expect(running.spec.restartPolicy?.condition == "none")
        let created = try #require(running.createdAt)
        #expect(abs(created.timeIntervalSince1970 - 1_465_333_651.171892745) < 0.000_01)

        let pending = tasks[1]
        #expect(pending.nodeID == nil)
        #expect(pending.status.state == "pending" && !pending.status.isRunning && !pending.status.hasEnded)
        #expect(pending.status.err == "no suitable node (insufficient resources on 3 nodes)")
        #expect(pending.status.containerStatus == nil)
        #expect(pending.status.portStatus?.ports == [])
        #expect(pending.spec.containerSpec.labels == [:])
        #expect(pending.labels == [:])

        for state in ["complete", "shutdown", "failed", "rejected", "remove", "orphaned"] {
            let json = Self.pendingTaskJSON.replacingOccurrences(of: #""State": "pending""#, with: #""State": "\#(state)""#)
            #expect(try JSONDecoder().decode(SwarmTask.self, from: Data(json.utf8)).status.hasEnded, "\(state)")
        }
    }

    @Test("a timestamp that is not RFC 3339 is an error, not a silent nil")
    func badTimestamp() {
        let json = Self.pendingTaskJSON.replacingOccurrences(of: "2026-11-29T02:00:01Z", with: "yesterday")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SwarmTask.self, from: Data(json.utf8)) }
    }

    static let managerNodeJSON = """
        {
          "ID": "24ifsmvkjbyhk",
          "Version": {"Index": 8},
          "CreatedAt": "2016-06-07T20:31:11.853781916Z",
          "UpdatedAt": "2016-06-07T20:31:11.999868824Z",
          "Spec": {"Name": "my-node", "Role": "manager", "Availability": "active", "Labels": {"berth.pool": "ctf"}},
          "Description": {
            "Hostname": "bf3067039e47",
            "Platform": {"Architecture": "x86_64", "OS": "linux"},
            "Resources": {"NanoCPUs": 4000000000, "MemoryBytes": 8272408576},
            "Engine": {"EngineVersion": "20.10.24", "Labels": {"foo": "bar"}, "Plugins": [{"Type": "Volume", "Name": "local"}]},
            "TLSInfo": {"TrustRoot": "-----BEGIN CERTIFICATE-----\\n-----END CERTIFICATE-----\\n", "CertIssuerSubject": "MBMx", "CertIssuerPublicKey": "MFkw"}
          },
          "Status": {"State": "ready", "Addr": "172.17.0.2"},
          "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "172.17.0.2:2377"}
        }
        """

    static let workerNodeJSON = """
        {
          "ID": "9q8w7e6r5t4y",
          "Version": {"Index": 31},
          "Spec": {"Role": "worker", "Availability": "drain"},
          "Description": {"Hostname": "node-2", "Engine": {"EngineVersion": "20.10.24"}},
          "Status": {"State": "down", "Message": "heartbeat failure for node in \\"unknown\\" state", "Addr": "10.99.0.3"}
        }
        """

    static var nodesJSON: String { "[\(managerNodeJSON), \(workerNodeJSON)]" }

    @Test("nodes decode: manager with labels, worker without")
    func decodeNodes() throws {
        let nodes = try JSONDecoder().decode([SwarmNode].self, from: Data(Self.nodesJSON.utf8))
        #expect(nodes.count == 2)
        let manager = nodes[0]
        #expect(manager.id == "24ifsmvkjbyhk")
        #expect(manager.version?.index == 8)
        #expect(manager.description.hostname == "bf3067039e47")
        #expect(manager.description.engineVersion == "20.10.24")
        #expect(manager.description.engineLabels == ["foo": "bar"])
        #expect(manager.description.resources?.memoryBytes == 8_272_408_576)
        #expect(manager.spec.labels["berth.pool"] == "ctf")
        #expect(manager.spec.role == "manager" && manager.spec.availability == "active")
        #expect(manager.status.isReady && manager.status.addr == "172.17.0.2")
        #expect(manager.managerStatus?.addr == "172.17.0.2:2377" && manager.managerStatus?.leader == true)
        let worker = nodes[1]
        #expect(worker.spec.labels == [:] && worker.spec.role == "worker" && worker.spec.availability == "drain")
        #expect(worker.status.state == "down" && !worker.status.isReady && worker.status.addr == "10.99.0.3")
        #expect(worker.status.message?.contains("heartbeat failure") == true)
        #expect(worker.managerStatus == nil)
        #expect(worker.description.engineLabels == [:])
    }

    static let serviceJSON = """
        {
          "ID": "9mnpnzenvg8p8tdbtq4wvbkcz",
          "Version": {"Index": 19},
          "CreatedAt": "2016-06-07T21:05:51.880065305Z",
          "UpdatedAt": "2016-06-07T21:07:29.962229872Z",
          "Spec": {
            "Name": "hopeful_cori",
            "TaskTemplate": {
              "ContainerSpec": {"Image": "redis"},
              "Resources": {"Limits": {}, "Reservations": {}},
              "RestartPolicy": {"Condition": "any", "MaxAttempts": 0},
              "Placement": {},
              "ForceUpdate": 0
            },
            "Mode": {"Replicated": {"Replicas": 1}},
            "UpdateConfig": {"Parallelism": 1, "Delay": 1000000000, "FailureAction": "pause", "Monitor": 15000000000, "MaxFailureRatio": 0.15},
            "EndpointSpec": {"Mode": "vip", "Ports": [{"Protocol": "tcp", "TargetPort": 6379, "PublishedPort": 30001}]}
          },
          "Endpoint": {
            "Spec": {"Mode": "vip", "Ports": [{"Protocol": "tcp", "TargetPort": 6379, "PublishedPort": 30001}]},
            "Ports": [{"Protocol": "tcp", "TargetPort": 6379, "PublishedPort": 30001}],
            "VirtualIPs": [{"NetworkID": "4qvuz4ko70xaltuqbt8956gd1", "Addr": "10.255.0.2/16"}]
          }
        }
        """

    @Test("a service decodes from the API reference's example")
    func decodeService() throws {
        let service = try JSONDecoder().decode(ServiceInspect.self, from: Data(Self.serviceJSON.utf8))
        #expect(service.id == "9mnpnzenvg8p8tdbtq4wvbkcz")
        #expect(service.version?.index == 19)
        #expect(service.spec.name == "hopeful_cori")
        #expect(service.spec.labels == [:])
        #expect(service.spec.mode.replicated?.replicas == 1)
        #expect(service.spec.taskTemplate.containerSpec.image == "redis")
        #expect(service.spec.taskTemplate.restartPolicy?.condition == "any")
        #expect(service.spec.endpointSpec?.ports.first?.publishMode == "ingress", "the engine's default when none is given")
        #expect(service.createdAt.map { Int($0.timeIntervalSince1970) } == 1_465_333_551)
    }

    @Test("engine info: security options and swarm membership")
    func decodeInfo() throws {
        let json = """
            {"ID": "YKUK:3J76", "Name": "node-1", "ServerVersion": "20.10.24+dfsg1",
             "SecurityOptions": ["name=apparmor", "name=seccomp,profile=default", "name=cgroupns"],
             "Swarm": {"NodeID": "24ifsmvkjbyhk", "NodeAddr": "10.99.0.2", "LocalNodeState": "active", "ControlAvailable": true,
                       "Error": "", "RemoteManagers": [{"NodeID": "24ifsmvkjbyhk", "Addr": "10.99.0.2:2377"}], "Nodes": 3, "Managers": 1}}
            """
        let info = try JSONDecoder().decode(EngineInfo.self, from: Data(json.utf8))
        #expect(info.id == "YKUK:3J76" && info.name == "node-1" && info.serverVersion == "20.10.24+dfsg1")
        #expect(info.securityOption("seccomp") == ["name": "seccomp", "profile": "default"])
        #expect(info.securityOption("apparmor") == ["name": "apparmor"])
        #expect(info.securityOption("selinux") == nil)
        #expect(info.hasSeccompProfile)
        #expect(info.swarm.nodeID == "24ifsmvkjbyhk" && info.swarm.nodeAddr == "10.99.0.2")
        #expect(info.swarm.localNodeState == "active" && info.swarm.controlAvailable && info.swarm.error == nil)

        let outside = """
            {"ID": "A", "Name": "vm", "ServerVersion": "20.10.24", "SecurityOptions": ["name=seccomp,profile=unconfined"],
             "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": null}}
            """
        let plain = try JSONDecoder().decode(EngineInfo.self, from: Data(outside.utf8))
        #expect(!plain.hasSeccompProfile, "unconfined is no profile")
        #expect(plain.swarm.localNodeState == "inactive" && !plain.swarm.controlAvailable)
        #expect(!(try JSONDecoder().decode(EngineInfo.self, from: Data(#"{"ID": "B"}"#.utf8))).hasSeccompProfile)
    }

    // MARK: - Requests, against a stub engine

    /// The `filters` query parameter of `target`, decoded.
    static func filters(of target: String) throws -> [String: [String]] {
        let components = try #require(URLComponents(string: target))
        let text = try #require(components.queryItems?.first { $0.name == "filters" }?.value)
        return try JSONDecoder().decode([String: [String]].self, from: Data(text.utf8))
    }

    @Test("each call sends the Engine API request, and errors keep the daemon's status")
    func requestsAgainstStub() async throws {
        let responder: @Sendable (StubRequest) -> StubResponse? = { request in
            let path = request.target.split(separator: "?").first.map(String.init) ?? ""
            switch (request.method, path) {
            case ("POST", "/v1.41/services/create"):
                if request.body.contains(#""Name":"berth-taken""#) {
                    return StubResponse(status: 409, body: #"{"message":"rpc error: code = AlreadyExists desc = name conflicts with an existing object"}"#)
                }
                return StubResponse(status: 201, body: #"{"ID":"ak7w3gjqoa3kuz8xcpnyy0pvl","Warnings":null}"#)
            case ("GET", "/v1.41/services/berth-i-1"): return StubResponse(status: 200, body: Self.serviceJSON)
            case ("GET", "/v1.41/services"): return StubResponse(status: 200, body: "[\(Self.serviceJSON)]")
            case ("DELETE", "/v1.41/services/berth-i-1"): return StubResponse(status: 200, body: "")
            case ("DELETE", "/v1.41/services/berth-gone"): return StubResponse(status: 404, body: #"{"message":"service berth-gone not found"}"#)
            case ("GET", "/v1.41/tasks"): return StubResponse(status: 200, body: "[\(Self.runningTaskJSON)]")
            case ("GET", "/v1.41/nodes"): return StubResponse(status: 200, body: Self.nodesJSON)
            case ("GET", "/v1.41/nodes/9q8w7e6r5t4y"): return StubResponse(status: 200, body: Self.workerNodeJSON)
            case ("GET", "/v1.41/networks/bridge"):
                return StubResponse(status: 200, body: #"{"Name":"bridge","Id":"8617","Driver":"bridge","Options":{"com.docker.network.bridge.enable_icc":"false"}}"#)
            case ("GET", "/v1.41/info"):
                return StubResponse(status: 200, body: #"{"ID":"X","Name":"n","ServerVersion":"20.10.24","SecurityOptions":["name=seccomp,profile=default"],"Swarm":{"LocalNodeState":"active","ControlAvailable":true}}"#)
            default: return nil
            }
        }
        try await EngineStub.with(context: nil, responder: responder) { stub in
            let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), timeout: .seconds(10))

            #expect(try await docker.createService(Self.fullSpec()) == "ak7w3gjqoa3kuz8xcpnyy0pvl")
            let create = try #require(stub.requests.last)
            #expect(create.method == "POST" && create.target == "/v1.41/services/create")
            #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(create.body.utf8)) == Self.fullSpec())

            var taken = Self.fullSpec()
            taken.name = "berth-taken"
            do {
                _ = try await docker.createService(taken)
                Issue.record("a name conflict was not an error")
            } catch let error as DockerError {
                #expect(error.isConflict && error.message.contains("name conflicts"), "\(error)")
            }

            let service = try await docker.inspectService("berth-i-1")
            #expect(service.id == "9mnpnzenvg8p8tdbtq4wvbkcz")
            #expect(stub.requests.last?.target == "/v1.41/services/berth-i-1?insertDefaults=false")

            #expect(try await docker.listServices(labels: ["berth.namespace=ns"]).map(\.id) == ["9mnpnzenvg8p8tdbtq4wvbkcz"])
            #expect(try Self.filters(of: stub.requests.last?.target ?? "") == ["label": ["berth.namespace=ns"]])

            try await docker.removeService("berth-i-1")
            #expect(stub.requests.last?.method == "DELETE")
            do {
                try await docker.removeService("berth-gone")
                Issue.record("removing a missing service was not an error")
            } catch let error as DockerError {
                #expect(error.isNotFound, "\(error)")
            }

            let tasks = try await docker.listTasks(filters: ["service": ["berth-i-1"], "desired-state": ["running"], "node": []])
            #expect(tasks.map(\.id) == ["0kzzo1i0y4jz6027t0k7aezc7"])
            #expect(try Self.filters(of: stub.requests.last?.target ?? "") == ["service": ["berth-i-1"], "desired-state": ["running"]])

            #expect(try await docker.listNodes().map(\.id) == ["24ifsmvkjbyhk", "9q8w7e6r5t4y"])
            #expect(try await docker.inspectNode("9q8w7e6r5t4y").status.state == "down")

            let bridge = try await docker.inspectNetwork("bridge")
            #expect(bridge.name == "bridge" && bridge.options["com.docker.network.bridge.enable_icc"] == "false")
            #expect(try await docker.info().hasSeccompProfile)
        }
    }

    @Test("a worker or an engine outside a swarm answers the Swarm API with 503: isNotSwarmManager")
    func notAManager() async throws {
        let message = #"{"message":"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."}"#
        try await EngineStub.with(context: nil, responder: { _ in StubResponse(status: 503, body: message) }) { stub in
            let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), timeout: .seconds(10))
            do {
                _ = try await docker.listNodes()
                Issue.record("no error")
            } catch let error as DockerError {
                #expect(error.isNotSwarmManager && error.status == 503, "\(error)")
            }
        }
    }

    // MARK: - The real engine

    @Test("the local engine's info, its bridge network's ICC option, and the Swarm API outside a swarm")
    func realEngine() async throws {
        try await EngineFixture.with(requireBaseImage: false) { fixture in
            let docker = fixture.docker
            let info = try await docker.info()
            #expect(!info.id.isEmpty && !info.serverVersion.isEmpty)
            #expect(info.securityOption("seccomp") != nil, "Berth's engines run with seccomp: \(info.securityOptions)")
            #expect(["inactive", "pending", "active", "error", "locked"].contains(info.swarm.localNodeState))

            let bridge = try await docker.inspectNetwork("bridge")
            #expect(bridge.name == "bridge" && bridge.driver == "bridge")
            #expect(["true", "false"].contains(bridge.options["com.docker.network.bridge.enable_icc"] ?? ""), "\(bridge.options)")

            if !info.swarm.controlAvailable {
                do {
                    _ = try await docker.listServices(labels: [fixture.runFilter])
                    Issue.record("the Swarm API answered on an engine that is no manager")
                } catch let error as DockerError {
                    #expect(error.isNotSwarmManager, "\(error)")
                }
            }
        }
    }
}
