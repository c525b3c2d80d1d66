import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTransport
import Testing

/// GETs `/` from 127.0.0.1:`port` on the host, retrying briefly while the service starts.
func fetchFromHost(port: Int) async throws -> TransportResponse {
    let transport = HTTPTransport(address: .tcp(host: "127.0.0.1", port: port), connectTimeout: .seconds(2))
    var lastError: (any Error)?
    for _ in 0..<50 {
        do {
            return try await transport.execute(method: .GET, path: "/")
        } catch {
            lastError = error
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    throw FixtureError("nothing answered on 127.0.0.1:\(port): \(lastError.map { "\($0)" } ?? "")")
}

/// Sends `GET /` with busybox `nc` from inside an instance (its `wget` cannot resolve even an IP
/// address in a static build) and appends `status=<nc's exit code>`.
func httpGet(_ harness: LifecycleHarness, _ instance: Instance, host: String, port: Int) async throws -> ExecResult {
    try await harness.exec(instance, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 \(host) \(port); echo status=$?")
}

/// The instance's address and gateway on its own network.
func attachment(_ harness: LifecycleHarness, _ instance: Instance) async throws -> (ip: String, gateway: String) {
    let networks = try await harness.container(of: instance).networkSettings.networks ?? [:]
    let own = try #require(networks["berth-\(instance.id)"], "attached to \(networks.keys.sorted())")
    let ip = try #require(own.ipAddress)
    let gateway = try #require(own.gateway)
    try #require(!ip.isEmpty && !gateway.isEmpty)
    return (ip, gateway)
}

extension Integration {
    @Suite("Networking")
    struct NetworkTests {
        @Test("network: none leaves only the loopback interface")
        func noNetwork() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let interfaces = try await harness.exec(instance, "ls /sys/class/net")
                #expect(interfaces.stdout.split(separator: "\n") == ["lo"])
                let attached = try await harness.container(of: instance).networkSettings.networks ?? [:]
                #expect(Array(attached.keys) == ["none"])
            }
        }

        @Test("isolated web instances: each port answers on the host; they cannot reach each other, nor host loopback")
        func isolatedWebInstances() async throws {
            try await LifecycleHarness.with(environments: [Environments.web]) { harness in
                let alice = try await harness.lifecycle.request(environment: Environments.webSlug, by: harness.player("alice"))
                let bob = try await harness.lifecycle.request(environment: Environments.webSlug, by: harness.player("bob"))

                for instance in [alice, bob] {
                    #expect(instance.networkID != nil)
                    let endpoint = try #require(instance.endpoints.first)
                    #expect(instance.endpoints.count == 1)
                    #expect(endpoint.port == 8080)
                    #expect(endpoint.protocol == .http)
                    #expect(endpoint.host == "127.0.0.1")
                    #expect(harness.policy.portRange.contains(endpoint.hostPort))
                    #expect(endpoint.url == "http://127.0.0.1:\(endpoint.hostPort)/")
                    let response = try await fetchFromHost(port: endpoint.hostPort)
                    #expect(response.status == 200)
                    #expect(response.bodyText == "hello from berth\n")
                    let bindings = try await harness.container(of: instance).hostConfig.portBindings?["8080/tcp"]
                    #expect(bindings == [PortBinding(hostIP: "127.0.0.1", hostPort: "\(endpoint.hostPort)")])
                }
                #expect(alice.endpoints.first?.hostPort != bob.endpoints.first?.hostPort)

                let aliceNet = try await attachment(harness, alice)
                let bobNet = try await attachment(harness, bob)
                #expect(aliceNet.gateway != bobNet.gateway, "each instance has a network of its own")

                // The control: an HTTP request from inside an instance reaches its own service.
                let own = try await httpGet(harness, alice, host: "127.0.0.1", port: 8080)
                #expect(own.stdout.contains("200 OK") && own.stdout.contains("hello from berth"), "\(own.stdout) \(own.stderr)")
                #expect(own.stdout.hasSuffix("status=0\n"))

                let direct = try await httpGet(harness, alice, host: bobNet.ip, port: 8080)
                #expect(!direct.stdout.contains("hello"), "alice reached bob's container: \(direct.stdout)")
                #expect(!direct.stdout.hasSuffix("status=0\n"), "alice connected to bob's container: \(direct.stdout)")
                let reverse = try await httpGet(harness, bob, host: aliceNet.ip, port: 8080)
                #expect(!reverse.stdout.contains("hello"), "bob reached alice's container: \(reverse.stdout)")

                let bobPort = try #require(bob.endpoints.first?.hostPort)
                let viaGateway = try await httpGet(harness, alice, host: aliceNet.gateway, port: bobPort)
                #expect(!viaGateway.stdout.contains("hello"), "alice reached bob's published port through the host: \(viaGateway.stdout)")

                // A service bound to the host's loopback, like Berth's own port by default.
                try await TCPProbe.with(host: "127.0.0.1") { probe in
                    _ = try await harness.exec(alice, "nc -w 2 \(aliceNet.gateway) \(probe.port) </dev/null; nc -w 2 127.0.0.1 \(probe.port) </dev/null")
                    #expect(probe.acceptedConnections == 0, "an instance reached a service on the host's loopback")
                    // The control: the probe does count connections.
                    _ = try await fetchProbe(probe)
                    #expect(probe.acceptedConnections == 1)
                }
            }
        }

        @Test("with the host firewall, an instance cannot reach a host service on its gateway; the host still reaches its ports")
        func gatewayBoundHostService() async throws {
            let outcome = try await HostFirewall().install()
            #expect(try await HostFirewall().isInstalled(), "\(outcome)")
            #expect(try await HostFirewall().install() == .present, "installing twice adds nothing")
            try await LifecycleHarness.with(environments: [Environments.web]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.webSlug, by: harness.player("alice"))
                let network = try await attachment(harness, instance)
                let bridge = HostFirewall.bridgeName(forInstance: instance.id)
                #expect(bridge.count <= 15 && bridge.hasPrefix(HostFirewall.bridgePrefix))
                #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)"), "the instance's bridge is \(bridge)")
                try await TCPProbe.with(host: network.gateway) { probe in
                    let attempt = try await harness.exec(instance, "nc -w 2 \(network.gateway) \(probe.port) </dev/null; echo status=$?")
                    #expect(probe.acceptedConnections == 0, "the instance reached a host service on its gateway address")
                    #expect(!attempt.stdout.hasSuffix("status=0\n"), "nc connected: \(attempt.stdout)")
                    // The controls: the probe counts the host's own connection, the instance still
                    // reaches its own service, and the host still reaches the instance's published port
                    // (its replies come back through the bridge as an established connection).
                    _ = try await fetchProbe(probe)
                    #expect(probe.acceptedConnections == 1)
                }
                let own = try await httpGet(harness, instance, host: "127.0.0.1", port: 8080)
                #expect(own.stdout.contains("hello from berth"), "\(own.stdout) \(own.stderr)")
                let port = try #require(instance.endpoints.first?.hostPort)
                let fromHost = try await fetchFromHost(port: port)
                #expect(fromHost.status == 200)
            }
        }
    }
}

/// Opens one TCP connection to the probe from the host, proving it counts.
func fetchProbe(_ probe: TCPProbe) async throws -> Bool {
    let transport = HTTPTransport(address: .tcp(host: probe.host, port: probe.port), connectTimeout: .seconds(2))
    _ = try? await transport.execute(method: .GET, path: "/")
    return try await eventually(within: 2) { probe.acceptedConnections > 0 }
}
