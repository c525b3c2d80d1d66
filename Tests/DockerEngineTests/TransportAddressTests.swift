import DockerEngine
import HTTPTransport
import Testing

@Suite("TransportAddress and DOCKER_HOST")
struct TransportAddressTests {
    @Test("unix, tcp and http addresses parse", arguments: [
        ("unix:///var/run/docker.sock", TransportAddress.unix(path: "/var/run/docker.sock")),
        ("unix:///tmp/a b.sock", .unix(path: "/tmp/a b.sock")),
        ("tcp://127.0.0.1:2375", .tcp(host: "127.0.0.1", port: 2375)),
        ("tcp://docker.internal:2376/", .tcp(host: "docker.internal", port: 2376)),
        ("http://localhost:8080/v1.41", .tcp(host: "localhost", port: 8080)),
    ])
    func valid(url: String, address: TransportAddress) throws {
        #expect(try TransportAddress(url: url) == address)
    }

    @Test("anything else is rejected with the address in the message", arguments: [
        "", "/var/run/docker.sock", "unix://relative.sock", "tcp://host", "tcp://:2375", "tcp://host:0", "tcp://host:99999",
        "tcp://host:port", "ftp://host:21", "npipe:////./pipe/docker_engine",
    ])
    func invalid(url: String) {
        #expect {
            try TransportAddress(url: url)
        } throws: { error in
            "\(error)".contains("'\(url)'")
        }
    }

    @Test("descriptions read back to the same address")
    func descriptionRoundTrip() throws {
        for address in [TransportAddress.unix(path: "/run/docker.sock"), .tcp(host: "10.0.0.2", port: 2375)] {
            #expect(try TransportAddress(url: address.description) == address)
        }
    }

    @Test("DOCKER_HOST is honoured, the socket is the default, and a bad value fails clearly")
    func dockerHost() throws {
        #expect(try DockerClient.fromEnvironment([:]).transport.address == .unix(path: "/var/run/docker.sock"))
        #expect(try DockerClient.fromEnvironment(["DOCKER_HOST": ""]).transport.address == .unix(path: "/var/run/docker.sock"))
        #expect(try DockerClient.fromEnvironment(["DOCKER_HOST": "tcp://10.1.2.3:2375"]).transport.address == .tcp(host: "10.1.2.3", port: 2375))
        let error = try #require(throws: DockerError.self) {
            try DockerClient.fromEnvironment(["DOCKER_HOST": "bogus"])
        }
        #expect(error.isUnreachable)
        #expect(error.message.contains("DOCKER_HOST"))
    }

    @Test("an engine that is not there is reported as unreachable, with the address")
    func unreachable() async throws {
        let client = DockerClient(address: .unix(path: "/nonexistent/berth-\(UInt32.random(in: 0...UInt32.max)).sock"))
        let error = try await #require(throws: DockerError.self) {
            try await client.ping()
        }
        #expect(error.isUnreachable)
        #expect(error.operation == "ping")
        #expect(error.message.contains("/nonexistent/"))
    }
}
