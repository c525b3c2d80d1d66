import BerthCore
import BerthEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A browser's cookie jar over HummingbirdTesting's client: it keeps `Set-Cookie` values and
/// sends the CSRF token the way the pages do.
struct Browser {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    var csrf: String?

    init(_ client: any TestClientProtocol) {
        self.client = client
    }

    /// `GET /api/v1/session`, keeping its CSRF cookie and token.
    mutating func session() async throws -> [String: Any] {
        let answer = try await send(.get, "/api/v1/session")
        csrf = answer.body["csrfToken"] as? String
        return answer.body
    }

    /// A request with the jar's cookies and, unless `withCSRF` is false, the CSRF header.
    mutating func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, withCSRF: Bool = true) async throws -> (status: Int, body: [String: Any]) {
        var headers = HTTPFields()
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if withCSRF, let csrf { headers[Self.csrfHeader] = csrf }
        if json != nil { headers[.contentType] = "application/json" }
        headers[.userAgent] = "play-test"
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = String(pair[0])
            if field.contains("Max-Age=0") || pair[1].isEmpty { cookies[name] = nil } else { cookies[name] = String(pair[1]) }
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
        return (Int(response.status.code), object)
    }
}

/// An environment with a static flag, a costed hint and dynamic scoring, and one with a
/// per-instance flag written into a writable home.
let scoredEnvironment = """
    name: Scored
    category: web
    description: "Find it. <b>bold</b>"
    type: dynamic
    extra: {initial: 500, decay: 2, minimum: 100}
    flags:
      - {type: static, content: "berth{Static}", data: case_insensitive}
    hints:
      - free hint
      - {content: "paid hint", cost: 50}
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
    """

let dynamicFlagEnvironment = """
    name: Own flag
    category: linux
    value: 200
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player}
      readOnlyRoot: true
      writable: [/home/player, /tmp]
      flag: {path: /home/player/flag.txt, prefix: "berth{", suffix: "}"}
    """

@Suite("Accounts, sessions and CSRF (live server)", .serialized, .timeLimit(.minutes(2)))
struct SessionAPITests {
    @Test("register, sign out, sign in with a cookie session; CSRF is required; wrong credentials and weak passwords are clear errors")
    func registerAndSignIn() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.live) { client in
                var browser = Browser(client)
                let anonymous = try await browser.session()
                #expect(anonymous["user"] is NSNull || anonymous["user"] == nil)
                #expect((anonymous["csrfToken"] as? String)?.count ?? 0 >= 20)
                #expect(anonymous["registrationOpen"] as? Bool == true)

                // Without the CSRF header, even registering is refused.
                let noCSRF = try await browser.send(.post, "/api/v1/auth/register", json: #"{"name":"carol","password":"sturdy-Lantern-42"}"#, withCSRF: false)
                #expect(noCSRF.status == 403)
                #expect(errorCode(noCSRF.body) == "csrf_failed")
                let weak = try await browser.send(.post, "/api/v1/auth/register", json: #"{"name":"carol","password":"carol12345"}"#)
                #expect(weak.status == 422)
                #expect(errorCode(weak.body) == "weak_password")
                let created = try await browser.send(.post, "/api/v1/auth/register", json: #"{"name":"carol","password":"sturdy-Lantern-42"}"#)
                #expect(created.status == 201, "\(created.body)")
                #expect(browser.cookies["berth_session"] != nil)
                let taken = try await Browser(client).sessionThen(.post, "/api/v1/auth/register", json: #"{"name":"Carol","password":"another-Long-pass"}"#)
                #expect(errorCode(taken.body) == "user_name_taken" || taken.status == 409, "\(taken.body)")

                let me = try await browser.send(.get, "/api/v1/me")
                #expect(me.body["name"] as? String == "carol")
                // Every answer, errors included, forbids sniffing; API answers are not cached.
                for uri in ["/api/v1/me", "/api/v1/nothing-here", "/login"] {
                    let raw = try await client.execute(uri: uri, method: .get)
                    #expect(raw.headers[.xContentTypeOptions] == "nosniff", "\(uri)")
                    if uri.hasPrefix("/api/") { #expect(raw.headers[.cacheControl] == "no-store", "\(uri)") }
                }
                let head = try await client.execute(uri: "/login", method: .head)
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                #expect(me.body["role"] as? String == "player")
                // A cookie without the CSRF header cannot change anything.
                let forged = try await browser.send(.post, "/api/v1/me/tokens", json: #"{"name":"x"}"#, withCSRF: false)
                #expect(forged.status == 403)
                let token = try await browser.send(.post, "/api/v1/me/tokens", json: #"{"name":"laptop"}"#)
                #expect(token.status == 201)
                let secret = try #require(token.body["token"] as? String)
                let viaToken = try await client.call(.get, "/api/v1/me", token: secret)
                #expect(viaToken.body["name"] as? String == "carol")
                let tokens = try await browser.send(.get, "/api/v1/me/tokens")
                let tokenID = try #require((tokens.body["items"] as? [[String: Any]])?.first?["id"] as? String)
                #expect((tokens.body["items"] as? [[String: Any]])?.first?["token"] == nil)
                #expect(try await browser.send(.delete, "/api/v1/me/tokens/\(tokenID)").status == 204)
                #expect(try await client.call(.get, "/api/v1/me", token: secret).status == 401)

                #expect(try await browser.send(.post, "/api/v1/auth/logout").status == 204)
                #expect(try await browser.send(.get, "/api/v1/me").status == 401)

                let wrongPassword = try await browser.send(.post, "/api/v1/auth/login", json: #"{"name":"carol","password":"not-the-password"}"#)
                let wrongName = try await browser.send(.post, "/api/v1/auth/login", json: #"{"name":"nobody","password":"not-the-password"}"#)
                #expect(wrongPassword.status == 401 && wrongName.status == 401)
                #expect(errorCode(wrongPassword.body) == "invalid_credentials")
                let (passwordError, nameError) = (wrongPassword.body["error"] as? [String: String], wrongName.body["error"] as? [String: String])
                #expect(passwordError == nameError, "no hint which part was wrong")
                let signedIn = try await browser.send(.post, "/api/v1/auth/login", json: #"{"name":"carol","password":"sturdy-Lantern-42"}"#)
                #expect(signedIn.status == 200)
                #expect(try await browser.send(.get, "/api/v1/me").body["name"] as? String == "carol")

                // Changing the password ends every other session; this browser gets a new one.
                var elsewhere = Browser(client)
                _ = try await elsewhere.session()
                #expect(try await elsewhere.send(.post, "/api/v1/auth/login", json: #"{"name":"carol","password":"sturdy-Lantern-42"}"#).status == 200)
                let changed = try await browser.send(.put, "/api/v1/me/password", json: #"{"current":"sturdy-Lantern-42","new":"Brand-new-Harbour-7"}"#)
                #expect(changed.status == 204)
                #expect(try await elsewhere.send(.get, "/api/v1/me").status == 401)
                #expect(try await browser.send(.get, "/api/v1/me").status == 200)

                // The audit log has the registration with the user as actor.
                let audit = try await client.call(.get, "/api/v1/audit?action=register", token: APIHarness.adminToken)
                #expect((audit.body["items"] as? [[String: Any]])?.first { $0["status"] as? Int == 201 }?["actorName"] as? String == "carol")
            }
        }
    }

    @Test("after five failed sign-ins a name is rate limited with 429, even with the right password")
    func signInRateLimit() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.live) { client in
                var browser = Browser(client)
                _ = try await browser.session()
                #expect(try await browser.send(.post, "/api/v1/auth/register", json: #"{"name":"dave","password":"sturdy-Lantern-42"}"#).status == 201)
                for _ in 0..<5 {
                    #expect(try await browser.send(.post, "/api/v1/auth/login", json: #"{"name":"dave","password":"guess-guess-guess"}"#).status == 401)
                }
                let limited = try await browser.send(.post, "/api/v1/auth/login", json: #"{"name":"dave","password":"sturdy-Lantern-42"}"#)
                #expect(limited.status == 429)
                #expect(errorCode(limited.body) == "too_many_attempts")
            }
        }
    }

    @Test("an admin can close registration, and players form teams with invite codes")
    func registrationAndTeams() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.live) { client in
                var alice = Browser(client)
                _ = try await alice.session()
                #expect(try await alice.send(.post, "/api/v1/auth/register", json: #"{"name":"alice","password":"sturdy-Lantern-42"}"#).status == 201)
                let team = try await alice.send(.post, "/api/v1/me/team", json: #"{"name":"Red"}"#)
                #expect(team.status == 201, "\(team.body)")
                let code = try #require(team.body["inviteCode"] as? String)

                var bob = Browser(client)
                _ = try await bob.session()
                #expect(try await bob.send(.post, "/api/v1/auth/register", json: #"{"name":"bob","password":"sturdy-Lantern-43"}"#).status == 201)
                let badCode = try await bob.send(.post, "/api/v1/me/team/join", json: #"{"inviteCode":"nope"}"#)
                #expect(badCode.status == 404)
                let joined = try await bob.send(.post, "/api/v1/me/team/join", json: "{\"inviteCode\":\"\(code)\"}")
                #expect(joined.status == 200)
                #expect((joined.body["members"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["alice", "bob"])
                #expect(try await bob.send(.post, "/api/v1/me/team", json: #"{"name":"Blue"}"#).status == 409)
                #expect(try await bob.send(.delete, "/api/v1/me/team").status == 204)
                #expect(try await bob.send(.get, "/api/v1/me/team").body["team"] is NSNull)

                let closed = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"registrationOpen":false}"#)
                #expect(closed.body["registrationOpen"] as? Bool == false)
                var eve = Browser(client)
                #expect(try await eve.session()["registrationOpen"] as? Bool == false)
                let refused = try await eve.send(.post, "/api/v1/auth/register", json: #"{"name":"eve","password":"sturdy-Lantern-44"}"#)
                #expect(refused.status == 403)
                #expect(errorCode(refused.body) == "registration_closed")
                let notAdmin = try await alice.send(.put, "/api/v1/admin/settings", json: #"{"registrationOpen":true}"#)
                #expect(notAdmin.status == 403)
            }
        }
    }
}

extension Browser {
    /// A fresh session then one request (for one-off callers).
    func sessionThen(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil) async throws -> (status: Int, body: [String: Any]) {
        var copy = self
        _ = try await copy.session()
        return try await copy.send(method, uri, json: json)
    }
}

@Suite("Flags, hints, scoring and settings (live server; real engine for flag files and images)", .serialized, .timeLimit(.minutes(3)))
struct PlayAPITests {
    @Test("static flags solve once, dynamic scoring decays for everyone, hints cost points, and the scoreboard ranks")
    func staticFlagsAndScoreboard() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment]) { harness in
            try await harness.application.test(.live) { client in
                let first = try await harness.player("first")
                let second = try await harness.player("second")
                let catalog = try await client.call(.get, "/api/v1/environments", token: first.token)
                let entry = try #require((catalog.body["items"] as? [[String: Any]])?.first)
                #expect(entry["points"] as? Int == 500)
                #expect(entry["solved"] as? Bool == false)
                let hints = try #require(entry["hints"] as? [[String: Any]])
                #expect(hints[0]["content"] as? String == "free hint")
                #expect(hints[1]["content"] is NSNull && hints[1]["cost"] as? Int == 50)

                let wrong = try await client.call(.post, "/api/v1/environments/scored/submissions", token: first.token, json: #"{"flag":"berth{nope}"}"#)
                #expect(wrong.body["correct"] as? Bool == false)
                let right = try await client.call(.post, "/api/v1/environments/scored/submissions", token: first.token, json: #"{"flag":"  BERTH{static} "}"#)
                #expect(right.body["outcome"] as? String == "correct", "\(right.body)")
                #expect(right.body["points"] as? Int == 500)
                let again = try await client.call(.post, "/api/v1/environments/scored/submissions", token: first.token, json: #"{"flag":"berth{Static}"}"#)
                #expect(again.body["outcome"] as? String == "already_solved")

                let unlocked = try await client.call(.post, "/api/v1/environments/scored/hints/1/unlock", token: second.token)
                #expect(unlocked.body["content"] as? String == "paid hint")
                #expect(try await client.call(.post, "/api/v1/environments/scored/hints/9/unlock", token: second.token).status == 404)
                let secondSolve = try await client.call(.post, "/api/v1/environments/scored/submissions", token: second.token, json: #"{"flag":"berth{static}"}"#)
                // CTFd: ceil((100 - 500) / 2^2 * 1^2 + 500) = 400, for every solver.
                #expect(secondSolve.body["points"] as? Int == 400)

                let board = try await client.call(.get, "/api/v1/scoreboard")
                #expect(board.body["mode"] as? String == "users")
                let entries = try #require(board.body["entries"] as? [[String: Any]])
                #expect(entries.map { $0["name"] as? String } == ["first", "second"])
                #expect(entries.map { $0["points"] as? Int } == [400, 350])
                #expect(entries.map { $0["rank"] as? Int } == [1, 2])
                let after = try await client.call(.get, "/api/v1/environments/scored", token: first.token)
                #expect(after.body["solved"] as? Bool == true)
                #expect(after.body["solves"] as? Int == 2)

                // Every submission is stored; admins read them.
                let submissions = try await client.call(.get, "/api/v1/admin/submissions?environment=scored", token: APIHarness.adminToken)
                #expect((submissions.body["items"] as? [Any])?.count == 4)
                #expect(try await client.call(.get, "/api/v1/admin/submissions", token: first.token).status == 403)

                // Rate limit: ten a minute per user and environment (three so far); the eleventh is refused but stored.
                for _ in 0..<7 {
                    _ = try await client.call(.post, "/api/v1/environments/scored/submissions", token: first.token, json: #"{"flag":"x"}"#)
                }
                let limited = try await client.call(.post, "/api/v1/environments/scored/submissions", token: first.token, json: #"{"flag":"x"}"#)
                #expect(limited.status == 429)
                #expect(errorCode(limited.body) == "too_many_submissions")
                let stored = try await client.call(.get, "/api/v1/admin/submissions?outcome=rate_limited", token: APIHarness.adminToken)
                #expect((stored.body["items"] as? [Any])?.count == 1)
                let empty = try await client.call(.post, "/api/v1/environments/scored/submissions", token: second.token, json: #"{"flag":"   "}"#)
                #expect(empty.status == 422)
            }
        }
    }

    @Test("a per-instance flag is written into the container (not into its environment), solves for its owner, and is flagged as shared for anyone else")
    func dynamicFlags() async throws {
        try await APIHarness.with(environments: ["own-flag": dynamicFlagEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in
                let owner = try await harness.player("owner")
                let copier = try await harness.player("copier")
                let created = try await client.call(.post, "/api/v1/instances", token: owner.token, json: #"{"environment":"own-flag"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                let instance = try #require(try await harness.services.lifecycle.activeInstance(id))
                let container = try #require(instance.containerID)
                let read = try await harness.docker.exec(container, command: ["cat", "/home/player/flag.txt"], user: "1000:1000")
                let flag = read.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(flag.hasPrefix("berth{") && flag.count == 39, "\(read)")
                let inspect = try await harness.docker.inspectContainer(container)
                #expect(!(inspect.config.env ?? []).joined().contains(flag), "the flag must not be in the environment")

                let copied = try await client.call(.post, "/api/v1/environments/own-flag/submissions", token: copier.token, json: "{\"flag\":\"\(flag)\"}")
                #expect(copied.body["correct"] as? Bool == false)
                let own = try await client.call(.post, "/api/v1/environments/own-flag/submissions", token: owner.token, json: "{\"flag\":\"\(flag)\"}")
                #expect(own.body["outcome"] as? String == "correct", "\(own.body)")
                let shared = try await client.call(.get, "/api/v1/admin/submissions?outcome=shared", token: APIHarness.adminToken)
                let suspect = try #require((shared.body["items"] as? [[String: Any]])?.first)
                #expect(suspect["userName"] as? String == "copier")
                #expect(suspect["sharedFromInstance"] as? String == id)
                #expect((suspect["sharedFromOwner"] as? [String: Any])?["id"] as? String == owner.id)
            }
        }
    }

    @Test("settings change caps, TTL and renewals without a restart; a switched-off environment cannot be started by players")
    func settingsAndSwitches() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in
                let player = try await harness.player("pat")
                let updated = try await client.call(
                    .put, "/api/v1/admin/settings", token: APIHarness.adminToken,
                    json: #"{"defaultTTL":"5m","renewalCap":1,"publicHost":"ctf.example.org","ownerCap":2}"#
                )
                #expect(updated.status == 200, "\(updated.body)")
                #expect(updated.body["defaultTTL"] as? String == "5m")
                let bad = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"assignment":"anarchy"}"#)
                #expect(bad.status == 422)
                #expect(errorCode(bad.body) == "invalid_setting")
                let unknown = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"colour":"red"}"#)
                #expect(unknown.status == 422)

                let created = try await client.call(.post, "/api/v1/instances", token: player.token, json: #"{"environment":"scored"}"#)
                #expect(created.status == 201, "\(created.body)")
                #expect(created.body["renewalsLeft"] as? Int == 1)
                let formatter = ISO8601DateFormatter()
                let createdAt = try #require((created.body["createdAt"] as? String).flatMap(formatter.date(from:)))
                let expiresAt = try #require((created.body["expiresAt"] as? String).flatMap(formatter.date(from:)))
                #expect(abs(expiresAt.timeIntervalSince(createdAt) - 300) < 2)
                let id = try #require(created.body["id"] as? String)
                #expect(try await client.call(.delete, "/api/v1/instances/\(id)", token: player.token).status == 200)

                let off = try await client.call(.post, "/api/v1/admin/environments/scored/disable", token: APIHarness.adminToken)
                #expect(off.body["enabled"] as? Bool == false)
                let hidden = try await client.call(.get, "/api/v1/environments", token: player.token)
                #expect((hidden.body["items"] as? [Any])?.isEmpty == true)
                let refused = try await client.call(.post, "/api/v1/instances", token: player.token, json: #"{"environment":"scored"}"#)
                #expect(refused.status == 403)
                #expect(errorCode(refused.body) == "environment_disabled")
                let list = try await client.call(.get, "/api/v1/admin/environments", token: APIHarness.adminToken)
                let item = try #require((list.body["items"] as? [[String: Any]])?.first)
                #expect(item["imageBuilt"] as? Bool == true)
                #expect(item["enabled"] as? Bool == false)
                #expect(try await client.call(.post, "/api/v1/admin/environments/scored/enable", token: APIHarness.adminToken).body["enabled"] as? Bool == true)

                let promoted = try await client.call(.patch, "/api/v1/users/\(player.id)", token: APIHarness.adminToken, json: #"{"role":"admin"}"#)
                #expect(promoted.body["role"] as? String == "admin")

                // An admin resets a forgotten password; weak ones are refused there too.
                let weak = try await client.call(.put, "/api/v1/users/\(player.id)/password", token: APIHarness.adminToken, json: #"{"password":"short"}"#)
                #expect(weak.status == 422)
                let reset = try await client.call(.put, "/api/v1/users/\(player.id)/password", token: APIHarness.adminToken, json: #"{"password":"Reset-by-the-admin-1"}"#)
                #expect(reset.status == 204)
                #expect(try await harness.services.accounts.checkPassword(name: "pat", password: "Reset-by-the-admin-1")?.id == player.id)
                let byPlayer = try await client.call(.put, "/api/v1/users/\(player.id)/password", token: try await harness.player("other").token, json: #"{"password":"Reset-by-the-admin-2"}"#)
                #expect(byPlayer.status == 403)
            }
        }
    }

    @Test("in team mode a solve counts for the whole team, the scoreboard lists teams, and a player without a team must join one")
    func teamScoring() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment]) { harness in
            try await harness.application.test(.live) { client in
                let switched = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"assignment":"team"}"#)
                #expect(switched.body["assignment"] as? String == "team")
                let solver = try await harness.player("solver")
                let mate = try await harness.player("mate")
                let loner = try await harness.player("loner")
                let team = try await harness.services.accounts.createTeam(name: "Blue")
                try await harness.services.accounts.addMember(teamID: team.id, userID: solver.id)
                try await harness.services.accounts.addMember(teamID: team.id, userID: mate.id)

                let alone = try await client.call(.post, "/api/v1/environments/scored/submissions", token: loner.token, json: #"{"flag":"berth{static}"}"#)
                #expect(alone.status == 409)
                #expect(errorCode(alone.body) == "team_required")
                let solved = try await client.call(.post, "/api/v1/environments/scored/submissions", token: solver.token, json: #"{"flag":"berth{static}"}"#)
                #expect(solved.body["outcome"] as? String == "correct")
                let mateView = try await client.call(.get, "/api/v1/environments/scored", token: mate.token)
                #expect(mateView.body["solved"] as? Bool == true)
                let again = try await client.call(.post, "/api/v1/environments/scored/submissions", token: mate.token, json: #"{"flag":"berth{static}"}"#)
                #expect(again.body["outcome"] as? String == "already_solved")
                let board = try await client.call(.get, "/api/v1/scoreboard")
                #expect(board.body["mode"] as? String == "teams")
                let entries = board.body["entries"] as? [[String: Any]] ?? []
                #expect(entries.map { $0["name"] as? String } == ["Blue"])
                #expect(entries.first?["points"] as? Int == 500)
            }
        }
    }

    @Test("an admin builds an image with progress streamed as JSON lines")
    func buildStreamsProgress() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment], engine: .docker) { harness in
            try await harness.application.test(.live) { client in
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(APIHarness.adminToken)"
                let response = try await client.execute(uri: "/api/v1/admin/environments/scored/build", method: .post, headers: headers)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                let lines = String(decoding: response.body.readableBytesView, as: UTF8.self).split(separator: "\n")
                let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(objects.count == lines.count)
                #expect(objects.contains { $0["progress"] != nil })
                #expect(objects.last?["done"] as? Bool == true, "\(objects.last ?? [:])")
            }
        }
    }
}
