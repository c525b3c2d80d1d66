import BerthCore
import BerthHTTP
import BerthTestSupport
import DockerEngine
import Foundation
import HummingbirdTesting
import Testing

/// The live server with its runtime behind an ``EngineProxy``: the real engine until the test
/// wedges the proxy (accepts, never answers) or takes it down (closes every connection).
@Suite("Engine outages over the REST API (live server, real engine behind a proxy)", .serialized)
struct EngineOutageTests {
    /// The runtime's limit per engine call in these tests; the default is 30 s. Short enough that a
    /// wedged call fails quickly, long enough that `docker start` on a loaded CI machine (seen above
    /// 2 s while the rest of the suite runs in parallel) still answers once the proxy forwards again.
    static let engineTimeout: Duration = .seconds(6)

    static func withOutageHarness(_ body: @escaping @Sendable (EngineProxy, APIHarness) async throws -> Void) async throws {
        try await EngineProxy.with { proxy in
            let engine = HarnessEngine.docker(host: proxy.url, timeoutSeconds: Int(engineTimeout.components.seconds))
            try await APIHarness.with(environments: ["outage-web": webEnvironment], engine: engine) { harness in
                try await body(proxy, harness)
            }
        }
    }

    @Test("a wedged engine: /readyz and POST /instances answer 503 engine_unavailable instead of hanging")
    func wedgedEngine() async throws {
        try await Self.withOutageHarness { proxy, harness in
            let alice = try await harness.player("alice")
            try await harness.application.test(.live) { client in
                let ready = try await client.call(.get, "/readyz")
                #expect(ready.status == 200, "\(ready.body)")

                proxy.setMode(.wedged)
                let started = ContinuousClock.now
                let wedged = try await client.call(.get, "/readyz")
                let readyzTook = ContinuousClock.now - started
                #expect(wedged.status == 503)
                #expect(errorCode(wedged.body) == "engine_unavailable", "\(wedged.body)")
                let readyMessage = (wedged.body["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(readyMessage.contains("did not answer within 1.5 s"), "\(readyMessage)")
                // /readyz gives up on the engine after 1.5 s; the margin is for a loaded machine.
                #expect(readyzTook < .seconds(10), "/readyz took \(readyzTook)")

                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"outage-web"}"#)
                #expect(created.status == 503, "\(created.body)")
                #expect(errorCode(created.body) == "engine_unavailable", "\(created.body)")
                let message = (created.body["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("did not answer within 6 s"), "\(message)")

                // The request is not lost or stuck: it is recorded as failed, and no cap is held.
                let listed = try await client.call(.get, "/api/v1/instances", token: alice.token)
                let items = try #require(listed.body["items"] as? [[String: Any]])
                #expect(items.count == 1)
                #expect(items.first?["state"] as? String == "failed")
                #expect(try await harness.services.lifecycle.activeCount() == 0)

                proxy.setMode(.forward)
                let back = try await client.call(.get, "/readyz")
                #expect(back.status == 200, "\(back.body)")
                let retried = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"outage-web"}"#)
                #expect(retried.status == 201, "\(retried.body)")
            }
        }
    }

    @Test("reset while the engine is wedged or down: 503, and the instance still runs in its old container with the player's files")
    func resetDuringOutage() async throws {
        try await Self.withOutageHarness { proxy, harness in
            let alice = try await harness.player("alice")
            try await harness.application.test(.live) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"outage-web"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                let oldContainer = try #require(try await harness.services.lifecycle.activeInstance(id)?.containerID)
                let work = try await harness.docker.exec(oldContainer, command: ["/bin/sh", "-c", "echo my-work > /tmp/notes.txt"])
                #expect(work.exitCode == 0)

                for outage in [EngineProxy.Mode.wedged, .down] {
                    proxy.setMode(outage)
                    let reset = try await client.call(.post, "/api/v1/instances/\(id)/reset", token: alice.token)
                    #expect(reset.status == 503, "\(outage): \(reset.body)")
                    #expect(errorCode(reset.body) == "engine_unavailable", "\(outage): \(reset.body)")
                    let message = (reset.body["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("not reset") && message.contains("still running"), "\(message)")

                    let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: alice.token)
                    #expect(shown.body["state"] as? String == "running", "\(outage): \(shown.body)")
                    #expect(try await harness.services.lifecycle.activeInstance(id)?.containerID == oldContainer)
                    #expect(try await harness.docker.inspectContainer(oldContainer).state.running)
                    let notes = try await harness.docker.exec(oldContainer, command: ["cat", "/tmp/notes.txt"])
                    #expect(notes.stdout == "my-work\n")
                }

                // After the outage the same instance resets normally: a new container, the old one gone.
                proxy.setMode(.forward)
                let reset = try await client.call(.post, "/api/v1/instances/\(id)/reset", token: alice.token)
                #expect(reset.status == 200, "\(reset.body)")
                #expect(reset.body["state"] as? String == "running")
                let newContainer = try #require(try await harness.services.lifecycle.activeInstance(id)?.containerID)
                #expect(newContainer != oldContainer)
                await #expect(throws: DockerError.self) { try await harness.docker.inspectContainer(oldContainer) }
            }
        }
    }
}
