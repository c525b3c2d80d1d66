import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTransport
import Testing

@Suite("Engine calls have a time limit")
struct EngineTimeoutTests {
    @Test("an engine that accepts and never answers fails the call as unreachable, with the limit in the message")
    func wedgedEngineTimesOut() async throws {
        try await EngineProxy.with(mode: .wedged) { proxy in
            let docker = DockerClient(address: .unix(path: proxy.path), timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = try await #require(throws: DockerError.self) { try await docker.ping() }
            #expect(error.isUnreachable)
            #expect(error.message.contains("did not answer within 300 ms"), "\(error)")
            #expect(error.message.contains("BERTH_ENGINE_TIMEOUT"), "\(error)")
            // A generous bound: the point is that it returns at all, not how fast.
            #expect(ContinuousClock.now - started < .seconds(20))

            let listing = try await #require(throws: DockerError.self) { try await docker.listContainers(labels: ["berth.test.none"]) }
            #expect(listing.isUnreachable && listing.operation == "list containers")
        }
    }

    @Test("a per-call limit overrides the client's: ping(timeout:) gives up sooner")
    func perCallLimit() async throws {
        try await EngineProxy.with(mode: .wedged) { proxy in
            let docker = DockerClient(address: .unix(path: proxy.path), timeout: .seconds(600))
            let error = try await #require(throws: DockerError.self) { try await docker.ping(timeout: .milliseconds(200)) }
            #expect(error.message.contains("within 200 ms"), "\(error)")
        }
    }

    @Test("through the proxy the real engine answers; cut, it is unreachable at once; restored, it answers again")
    func proxyForwardsAndCuts() async throws {
        let direct = try DockerClient.fromEnvironment()
        try await EngineFixture.requireEngine(direct)
        try await EngineProxy.with { proxy in
            let docker = DockerClient(address: .unix(path: proxy.path), timeout: .seconds(30))
            try await docker.ping()
            #expect(try await docker.version().apiVersion.isEmpty == false)
            proxy.setMode(.down)
            let error = try await #require(throws: DockerError.self) { try await docker.ping() }
            #expect(error.isUnreachable)
            proxy.setMode(.forward)
            try await docker.ping()
        }
    }

    @Test("exec output has no limit by default, and outputTimeout bounds it when given")
    func execOutputTimeout() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.runContainer("exec-timeout", command: ["sleep", "300"])
            let slow = try await fixture.docker.exec(id, command: ["sh", "-c", "sleep 1; echo done"])
            #expect(slow.exitCode == 0 && slow.stdout == "done\n")
            let error = try await #require(throws: DockerError.self) {
                try await fixture.docker.exec(id, command: ["sleep", "30"], outputTimeout: .milliseconds(300))
            }
            #expect(error.isUnreachable && error.operation == "start exec")
            #expect(error.message.contains("did not answer within 300 ms"), "\(error)")
        }
    }

    @Test("the engine's clock comes from its Date header")
    func engineTime() async throws {
        let docker = try DockerClient.fromEnvironment()
        try await EngineFixture.requireEngine(docker)
        let time = try await docker.engineTime()
        // Same machine: the engine's clock and ours agree within a generous margin.
        #expect(abs(time.timeIntervalSinceNow) < 120)
    }
}
