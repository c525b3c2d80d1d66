import BerthCore
import BerthEngine
import DockerEngine
import BerthHTTP
import BerthTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// An instance with a plain shell, ten minutes to live and two renewals.
let renewableEnvironment = """
    name: Renewable
    category: test
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      lifetime: {ttl: 10m, renewals: 2, maxLifetime: 1h}
    """

/// A main process that fills its 64 MiB three seconds after the start, so the kernel kills it.
let memoryHogEnvironment = """
    name: Memory hog
    category: test
    berth:
      command: ["/bin/sh", "-c", "sleep 3; x=a; while :; do x=$x$x; done"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      resources: {memory: 64m, cpus: 0.5, pids: 32}
    """

/// What a first event's walkthrough of the web app found, as API behaviour.
@Suite("Web app: renew rule, listings, end reasons, 404 pages, team scoreboard, recording names", .serialized)
struct WebAppAPITests {
    @Test("renew is refused with renew_too_early until at most half of the TTL remains, and the instance says when it opens")
    func renewRule() async throws {
        let clock = TestClock()
        try await APIHarness.with(environments: ["renewable": renewableEnvironment], clock: clock.now) { harness in
            try await harness.application.test(.router) { client in
                let alice = try await harness.player("alice")
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"renewable"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                let expires = try #require((created.body["expiresAt"] as? String).flatMap(Self.date))
                let opens = try #require((created.body["renewableAt"] as? String).flatMap(Self.date))
                #expect(opens == expires.addingTimeInterval(-300), "half of the 10-minute TTL")

                let early = try await client.call(.post, "/api/v1/instances/\(id)/renew", token: alice.token)
                #expect(early.status == 409)
                #expect(errorCode(early.body) == "renew_too_early")
                let message = ((early.body["error"] as? [String: Any])?["message"] as? String) ?? ""
                #expect(message.contains("half"), "\(message)")
                let unchanged = try await client.call(.get, "/api/v1/instances/\(id)", token: alice.token)
                #expect(unchanged.body["renewalsLeft"] as? Int == 2, "a refused renewal costs nothing")

                clock.advance(seconds: 299)
                #expect(errorCode(try await client.call(.post, "/api/v1/instances/\(id)/renew", token: alice.token).body) == "renew_too_early")
                clock.advance(seconds: 2)
                let renewed = try await client.call(.post, "/api/v1/instances/\(id)/renew", token: alice.token)
                #expect(renewed.status == 200, "\(renewed.body)")
                #expect(renewed.body["renewalsLeft"] as? Int == 1)
                let newExpiry = try #require((renewed.body["expiresAt"] as? String).flatMap(Self.date))
                #expect(newExpiry == clock.now().addingTimeInterval(600), "the renewal added time: now + TTL")
                let reopens = try #require((renewed.body["renewableAt"] as? String).flatMap(Self.date))
                #expect(reopens == newExpiry.addingTimeInterval(-300))
                #expect(errorCode(try await client.call(.post, "/api/v1/instances/\(id)/renew", token: alice.token).body) == "renew_too_early")
            }
        }
    }

    @Test("personal pages list only the caller's instances, the admin console everyone's; an admin can start an environment, also in team mode; an admin's stop reads as an organiser's")
    func adminListingsAndStart() async throws {
        try await APIHarness.with(environments: ["renewable": renewableEnvironment]) { harness in
            try await harness.application.test(.router) { client in
                let admin = APIHarness.adminToken
                let adminID = try #require(try await client.call(.get, "/api/v1/me", token: admin).body["id"] as? String)
                let alice = try await harness.player("alice")
                let hers = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"renewable"}"#)
                let herID = try #require(hers.body["id"] as? String)

                let console = try await client.call(.get, "/api/v1/instances?active=true", token: admin)
                #expect(Self.ids(console.body).contains(herID), "the admin console lists everyone's")
                let personal = try await client.call(.get, "/api/v1/instances?active=true&mine=true", token: admin)
                #expect(personal.status == 200)
                #expect(Self.ids(personal.body).isEmpty, "an admin's personal pages show no one else's instances")
                let bad = try await client.call(.get, "/api/v1/instances?mine=perhaps", token: admin)
                #expect(bad.status == 400)
                #expect(errorCode(bad.body) == "invalid_query")

                let switched = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"assignment":"team"}"#)
                #expect(switched.body["assignment"] as? String == "team")
                let own = try await client.call(.post, "/api/v1/instances", token: admin, json: #"{"environment":"renewable"}"#)
                #expect(own.status == 201, "an admin without a team still tests environments: \(own.body)")
                let owner = own.body["owner"] as? [String: Any]
                #expect(owner?["kind"] as? String == "user")
                #expect(owner?["id"] as? String == adminID)
                let mine = try await client.call(.get, "/api/v1/instances?active=true&mine=true", token: admin)
                #expect(Self.ids(mine.body) == [try #require(own.body["id"] as? String)])
                let herList = try await client.call(.get, "/api/v1/instances?active=true&mine=true", token: alice.token)
                #expect(Self.ids(herList.body) == [herID])

                let killed = try await client.call(.delete, "/api/v1/instances/\(herID)", token: admin)
                #expect(killed.status == 200)
                let seen = try await client.call(.get, "/api/v1/instances/\(herID)", token: alice.token)
                let reason = seen.body["reason"] as? String ?? ""
                #expect(reason == EndReason.stoppedByOrganiser)
                #expect(reason.contains("stopped by an organiser"))
                #expect(!reason.contains("admin"), "no admin's name or role in a player's words: \(reason)")
                let stoppedOwn = try await client.call(.delete, "/api/v1/instances/\(try #require(own.body["id"] as? String))", token: admin)
                #expect(stoppedOwn.body["reason"] as? String == EndReason.stoppedByOwner)
            }
        }
    }

    @Test("a container the kernel kills for memory ends in plain words that name the limit, not an exit code")
    func outOfMemoryReason() async throws {
        try await APIHarness.with(environments: ["memory-hog": memoryHogEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in
                let alice = try await harness.player("alice")
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"memory-hog"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                var seen: [String: Any] = [:]
                _ = try await Self.waitFor(seconds: 60) {
                    seen = try await client.call(.get, "/api/v1/instances/\(id)", token: alice.token).body
                    return seen["state"] as? String == "failed"
                }
                #expect(seen["state"] as? String == "failed")
                let reason = seen["reason"] as? String ?? ""
                #expect(reason == "your environment ran out of memory (limit 64 MiB); press Start for a fresh one", "\(reason)")
                #expect(!reason.contains("137"))
            }
        }
    }

    @Test("unknown URLs get the HTML 404 page, signed in or not; under /api they get the JSON envelope")
    func notFoundPages() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                for token in [nil, APIHarness.adminToken] {
                    var headers = HTTPFields()
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    let page = try await client.execute(uri: "/no/such/page", method: .get, headers: headers)
                    #expect(page.status == .notFound)
                    #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
                    #expect(String(buffer: page.body).contains("Page not found"))
                }
                let api = try await client.call(.get, "/api/v1/no-such-route", token: APIHarness.adminToken)
                #expect(api.status == 404)
                #expect(errorCode(api.body) == "route_not_found")
                let signedOut = try await client.call(.get, "/api/v1/no-such-route")
                // Route groups admit callers, so an unknown route is a 404 for everyone (the
                // routes are public knowledge: GET /api/v1/openapi.json lists them).
                #expect(signedOut.status == 404)
                #expect(errorCode(signedOut.body) == "route_not_found")
                let post = try await client.call(.post, "/no/such/page", json: "{}")
                #expect(post.status == 401 || post.status == 403 || post.status == 404)
                let known = try await client.execute(uri: "/recordings", method: .get)
                #expect(known.status == .ok, "a real page is still served signed out; its script sends the visitor to sign in")
            }
        }
    }

    @Test("in team mode, points members scored as players before teams count for their team, once per environment")
    func teamScoreboardCountsMembersSolves() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment]) { harness in
            try await harness.application.test(.router) { client in
                let solver = try await harness.player("solver")
                let mate = try await harness.player("mate")
                for player in [solver, mate] {
                    let solved = try await client.call(.post, "/api/v1/environments/scored/submissions", token: player.token, json: #"{"flag":"berth{static}"}"#)
                    #expect(solved.body["outcome"] as? String == "correct", "\(solved.body)")
                }
                let switched = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"assignment":"team"}"#)
                #expect(switched.body["assignment"] as? String == "team")
                let team = try await harness.services.accounts.createTeam(name: "Blue")
                try await harness.services.accounts.addMember(teamID: team.id, userID: solver.id)
                try await harness.services.accounts.addMember(teamID: team.id, userID: mate.id)

                let board = try await client.call(.get, "/api/v1/scoreboard")
                #expect(board.body["mode"] as? String == "teams")
                let entries = board.body["entries"] as? [[String: Any]] ?? []
                #expect(entries.map { $0["name"] as? String } == ["Blue"], "\(entries)")
                #expect(entries.first?["solves"] as? Int == 1, "one environment, solved by two members, is one solve")
                #expect(entries.first?["points"] as? Int == 500)
            }
        }
    }

    @Test("recordings carry their owner's name, so the pages show names rather than ids")
    func recordingOwnerNames() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let alice = try await harness.player("alice")
                let path = "recordings/inst_named/main-rec_named.cast"
                let file = harness.directory.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":0,\"env\":{}}\n".write(to: file, atomically: true, encoding: .utf8)
                try await harness.services.store.recordings.insertRecording(RecordingRecord(
                    id: "rec_named", instanceID: "inst_named", environment: "term-shell", owner: Owner(kind: .user, id: alice.id),
                    terminal: "main", path: path, startedAt: Date().addingTimeInterval(-60), endedAt: Date()
                ))
                let list = try await client.call(.get, "/api/v1/recordings", token: APIHarness.adminToken)
                let item = (list.body["items"] as? [[String: Any]])?.first { $0["id"] as? String == "rec_named" }
                #expect(item?["ownerName"] as? String == "alice")
                let one = try await client.call(.get, "/api/v1/recordings/rec_named", token: APIHarness.adminToken)
                #expect(one.body["ownerName"] as? String == "alice")
            }
        }
    }

    @Test("in web-service the terminal's user cannot grep the flag out of the file system, and the web route still serves it")
    func webServiceFlagOnlyThroughTheWeb() async throws {
        try await APIHarness.with(engine: .docker) { harness in
            // A copy under a slug of its own, so its image tag is this test's alone.
            let slug = "web-service-\(UUID().uuidString.prefix(8).lowercased())"
            let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("examples/environments/web-service", isDirectory: true)
            let folder = URL(fileURLWithPath: harness.configuration.environmentsDirectory, isDirectory: true).appendingPathComponent(slug)
            try FileManager.default.copyItem(at: examples, to: folder)
            let scan = try await harness.services.catalog.reload()
            let environment = try #require(scan.environments.first { $0.slug == slug }, "\(scan.problems)")
            let reference = try #require(environment.imageReference)
            try await ImageBuilder(docker: harness.docker).build(environment, folder: folder) { _ in }
            do {
                try await harness.application.test(.router) { client in
                    let alice = try await harness.player("alice")
                    let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: "{\"environment\":\"\(slug)\"}")
                    #expect(created.status == 201, "\(created.body)")
                    let id = try #require(created.body["id"] as? String)
                    let user = try #require(try await harness.services.store.accounts.user(id: alice.id))
                    let containerID = try #require(try await harness.services.lifecycle.instance(id, for: user).containerID)

                    // The terminal's own way in: root becomes `player` before any shell runs.
                    let terminal = environment.berth.terminal
                    #expect(Array(terminal.command.prefix(5)) == ["su", "-s", "/bin/sh", "player", "-c"])
                    func asTerminalUser(_ script: String) async throws -> ExecResult {
                        try await harness.docker.exec(containerID, command: ["su", "-s", "/bin/sh", "player", "-c", script], user: terminal.user)
                    }
                    // /dev, /proc and /sys are left out: /dev/zero never ends, and /proc holds grep's own command line.
                    let grep = try await asTerminalUser(
                        "id -un; for d in /*; do case $d in /dev|/proc|/sys) ;; *) grep -rs flag $d ;; esac; done; grep -s flag /proc/[0-9]*/environ; exit 0")
                    #expect(grep.stdout.hasPrefix("player\n"), "\(grep.stdout.prefix(200))")
                    #expect(!grep.stdout.contains("robots_txt_is_a_map"), "grep as the terminal's user found the flag: \(grep.stdout.prefix(500))")
                    let direct = try await asTerminalUser("cat /srv/www/staff-only/index.html")
                    #expect(direct.exitCode != 0)
                    #expect(!direct.stdout.contains("robots_txt_is_a_map"))

                    var served = ""
                    _ = try await Self.waitFor(seconds: 20) {
                        served = try await asTerminalUser("wget -qO- http://127.0.0.1:8080/staff-only/").stdout
                        return served.contains("berth{robots_txt_is_a_map}")
                    }
                    #expect(served.contains("berth{robots_txt_is_a_map}"), "the web service still serves the flag: \(served)")
                    let robots = try await asTerminalUser("wget -qO- http://127.0.0.1:8080/robots.txt")
                    #expect(robots.stdout.contains("/staff-only/"))
                }
            } catch {
                try? await harness.docker.removeImage(reference, force: true)
                throw error
            }
            await harness.shutdown()
            try? await harness.docker.removeImage(reference, force: true)
        }
    }

    /// Checks `condition` every 200 ms until it holds or `seconds` pass; answers whether it held.
    static func waitFor(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    static func ids(_ body: [String: Any]) -> [String] {
        (body["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
