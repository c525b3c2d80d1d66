import BerthCore
import BerthHTTP
import DockerEngine
import Foundation
import HummingbirdTesting
import Testing

/// An environment with a web service on port 8080 and a shell for the player.
let webEnvironment = """
    name: HTTP test web
    category: test
    value: 100
    berth:
      command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      ports: [{port: 8080, protocol: http}]
      resources: {memory: 64m, cpus: 0.5, pids: 32}
      network: isolated
      lifetime: {ttl: 10m, renewals: 1, maxLifetime: 30m}
      readOnlyRoot: true
      writable: [/tmp]
    """

/// A ctfcli file with no berth block at all.
let plainEnvironment = """
    name: Plain ctfcli challenge
    category: misc
    value: 50
    type: standard
    flags: ["flag{plain}"]
    """

@Suite("REST API instance lifecycle (live server; real engine where a container is inspected)", .serialized)
struct InstancesAPITests {
    @Test("request, read, renew, reset and stop an instance; other players cannot see it")
    func lifecycleOverHTTP() async throws {
        try await APIHarness.with(environments: ["httptest-web": webEnvironment, "httptest-plain": plainEnvironment], engine: .docker) { harness in
            let alice = try await harness.player("alice")
            let mallory = try await harness.player("mallory")
            try await harness.application.test(.live) { client in
                let catalog = try await client.call(.get, "/api/v1/environments", token: alice.token)
                let slugs = (catalog.body["items"] as? [[String: Any]])?.compactMap { $0["slug"] as? String }
                #expect(slugs == ["httptest-plain", "httptest-web"])

                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"httptest-web"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                #expect(created.body["state"] as? String == "running")
                #expect(created.body["environment"] as? String == "httptest-web")
                #expect(created.body["renewalsLeft"] as? Int == 1)
                #expect((created.body["owner"] as? [String: Any])?["id"] as? String == alice.id)
                #expect(created.body["expiresAt"] is String)
                #expect((created.body["terminal"] as? [String: Any])?["user"] as? String == "1000:1000")
                let endpoints = try #require(created.body["endpoints"] as? [[String: Any]])
                #expect(endpoints.count == 1)
                let endpoint = try #require(endpoints.first)
                #expect(endpoint["port"] as? Int == 8080)
                #expect(endpoint["protocol"] as? String == "http")
                let hostPort = try #require(endpoint["hostPort"] as? Int)
                #expect((31000...31999).contains(hostPort))
                #expect(endpoint["url"] as? String == "http://127.0.0.1:\(hostPort)/")

                let second = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"httptest-web"}"#)
                #expect(second.status == 409)
                #expect(errorCode(second.body) == "instance_exists")

                let peek = try await client.call(.get, "/api/v1/instances/\(id)", token: mallory.token)
                #expect(peek.status == 404)
                #expect(errorCode(peek.body) == "instance_not_found")
                let kill = try await client.call(.delete, "/api/v1/instances/\(id)", token: mallory.token)
                #expect(kill.status == 404)
                let malloryList = try await client.call(.get, "/api/v1/instances", token: mallory.token)
                #expect((malloryList.body["items"] as? [Any])?.isEmpty == true)
                let adminList = try await client.call(.get, "/api/v1/instances?active=true", token: APIHarness.adminToken)
                #expect((adminList.body["items"] as? [[String: Any]])?.contains { $0["id"] as? String == id } == true)

                // With the whole TTL ahead a renewal would add nothing (WebAppAPITests covers the rule with a clock).
                let early = try await client.call(.post, "/api/v1/instances/\(id)/renew", token: alice.token)
                #expect(early.status == 409)
                #expect(errorCode(early.body) == "renew_too_early")

                let before = try await harness.services.lifecycle.instance(id, for: try #require(try await harness.services.store.accounts.user(id: alice.id)))
                let reset = try await client.call(.post, "/api/v1/instances/\(id)/reset", token: alice.token)
                #expect(reset.status == 200)
                #expect(reset.body["state"] as? String == "running")
                let after = try await harness.services.lifecycle.instance(id, for: try #require(try await harness.services.store.accounts.user(id: alice.id)))
                #expect(before.containerID != after.containerID)
                let containerID = try #require(after.containerID)
                let inspect = try await harness.docker.inspectContainer(containerID)
                #expect(inspect.state.running)
                #expect(inspect.config.labels?["berth.instance"] == id)
                #expect(inspect.config.labels?["berth.owner"] == "user:\(alice.id)")
                #expect(inspect.hostConfig.capDrop == ["ALL"])

                let events = try await client.call(.get, "/api/v1/instances/\(id)/events", token: alice.token)
                let kinds = (events.body["items"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
                #expect(kinds.contains("instance.requested"))
                #expect(kinds.contains("instance.reset"))

                let stopped = try await client.call(.delete, "/api/v1/instances/\(id)", token: alice.token)
                #expect(stopped.status == 200)
                #expect(stopped.body["state"] as? String == "stopped")
                await #expect(throws: DockerError.self) { try await harness.docker.inspectContainer(containerID) }
                let again = try await client.call(.delete, "/api/v1/instances/\(id)", token: alice.token)
                #expect(again.status == 409)
                #expect(errorCode(again.body) == "instance_not_active")
            }
        }
    }

    @Test("a ctfcli folder without a berth block runs with the defaults")
    func plainCtfcliEnvironment() async throws {
        try await APIHarness.with(environments: ["httptest-plain": plainEnvironment], engine: .docker) { harness in
            let bob = try await harness.player("bob")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: bob.token, json: #"{"environment":"httptest-plain"}"#)
                #expect(created.status == 201, "\(created.body)")
                #expect(created.body["state"] as? String == "running")
                #expect((created.body["endpoints"] as? [Any])?.isEmpty == true)
                #expect((created.body["terminal"] as? [String: Any])?["command"] as? [String] == ["/bin/sh"])
                let unknown = try await client.call(.post, "/api/v1/instances", token: bob.token, json: #"{"environment":"nope"}"#)
                #expect(unknown.status == 404)
                #expect(errorCode(unknown.body) == "environment_not_found")
                let noBody = try await client.call(.post, "/api/v1/instances", token: bob.token)
                #expect(noBody.status == 400)
                #expect(errorCode(noBody.body) == "invalid_body")
                let purge = try await client.call(.post, "/api/v1/admin/purge", token: APIHarness.adminToken)
                #expect(purge.status == 200)
                #expect(purge.body["stopped"] as? Int == 1)
            }
        }
    }

    @Test("a request body over 64 KiB is refused with 413 before it is read whole; limit and flags out of range are invalid_query")
    func oversizedBodyAndBadQueries() async throws {
        try await APIHarness.with { harness in
            let bob = try await harness.player("bob")
            try await harness.application.test(.live) { client in
                let padding = String(repeating: " ", count: BerthRequestContext.maxRequestBody)
                let huge = try await client.call(.post, "/api/v1/instances", token: bob.token, json: #"{"environment":"x"}"# + padding)
                #expect(huge.status == 413)
                #expect(errorCode(huge.body) == "body_too_large")
                for query in ["limit=0", "limit=1001", "limit=ten"] {
                    let events = try await client.call(.get, "/api/v1/admin/events?\(query)", token: APIHarness.adminToken)
                    #expect(events.status == 400, "\(query)")
                    #expect(errorCode(events.body) == "invalid_query", "\(query)")
                }
                let active = try await client.call(.get, "/api/v1/instances?active=maybe", token: bob.token)
                #expect(active.status == 400)
                #expect(errorCode(active.body) == "invalid_query")
                let events = try await client.call(.get, "/api/v1/admin/events?limit=5", token: APIHarness.adminToken)
                #expect(events.status == 200)
            }
        }
    }

    @Test("caps answer 429 with stable codes")
    func caps() async throws {
        try await APIHarness.with(environments: ["httptest-plain": plainEnvironment], policy: { $0.assignment = .unlimited; $0.ownerCap = 2; $0.globalCap = 3 }) { harness in
            let carol = try await harness.player("carol")
            let dave = try await harness.player("dave")
            try await harness.application.test(.router) { client in
                let body = #"{"environment":"httptest-plain"}"#
                #expect(try await client.call(.post, "/api/v1/instances", token: carol.token, json: body).status == 201)
                #expect(try await client.call(.post, "/api/v1/instances", token: carol.token, json: body).status == 201)
                let third = try await client.call(.post, "/api/v1/instances", token: carol.token, json: body)
                #expect(third.status == 429)
                #expect(errorCode(third.body) == "owner_cap_reached")
                #expect(try await client.call(.post, "/api/v1/instances", token: dave.token, json: body).status == 201)
                let global = try await client.call(.post, "/api/v1/instances", token: dave.token, json: body)
                #expect(global.status == 429)
                #expect(errorCode(global.body) == "global_cap_reached")
            }
        }
    }
}
