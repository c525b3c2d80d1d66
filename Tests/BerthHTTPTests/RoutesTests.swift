import BerthCore
import BerthAPI
import BerthEngine
import BerthHTTP
import Foundation
import HummingbirdTesting
import Testing

@Suite("REST API routes (SQLite + fake engine, in-process)")
struct RoutesTests {
    @Test("every operation of openapi.yaml is served, every API route served is in it, and each has an access level")
    func contractCoversEveryRoute() async throws {
        try await APIHarness.with { harness in
            let contract = APIContractIndex.shipped
            #expect(contract.operations.count >= 60)
            let documented = Set(contract.operations.map { ServedRoute(method: $0.method.lowercased(), path: $0.path) })
            let served = Set(try buildRouter(harness.services).served)
            // Pages, assets and sign-in redirects are plain routes outside the contract.
            let servedAPI = served.filter { $0.path.hasPrefix("/api/") || ["/healthz", "/readyz"].contains($0.path) }
            #expect(servedAPI.subtracting(documented).isEmpty, "served but not in openapi.yaml: \(servedAPI.subtracting(documented))")
            #expect(documented.subtracting(servedAPI).isEmpty, "in openapi.yaml but not served: \(documented.subtracting(servedAPI))")
            try await harness.application.test(.router) { client in
                let answer = try await client.call(.get, "/api/v1/openapi.json")
                #expect(answer.status == 200)
                #expect(answer.body["openapi"] as? String == "3.1.0")
                let paths = try #require(answer.body["paths"] as? [String: Any])
                #expect(paths.count == Set(contract.operations.map(\.path)).count)
            }
        }
    }

    @Test("a method a path does not answer is 405 with Allow; bad credentials on a public route are ignored")
    func methodNotAllowedAndPublicRoutes() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let health = try await client.execute(uri: "/healthz", method: .delete)
                #expect(health.status == .methodNotAllowed)
                #expect(health.headers[.allow] == "GET, HEAD")
                let instances = try await client.execute(uri: "/api/v1/instances", method: .put)
                #expect(instances.status == .methodNotAllowed)
                #expect(instances.headers[.allow] == "GET, HEAD, POST")
                let one = try await client.call(.patch, "/api/v1/instances/inst_x", token: APIHarness.adminToken)
                #expect(one.status == 405)
                #expect(errorCode(one.body) == "method_not_allowed")
                let nowhere = try await client.call(.get, "/api/v1/nowhere", token: APIHarness.adminToken)
                #expect(nowhere.status == 404)

                // A stale token sent to a public route does not turn it into a 401.
                let publicWithBadToken = try await client.call(.get, "/healthz", token: "not-a-token")
                #expect(publicWithBadToken.status == 200)
                let scoreboard = try await client.call(.get, "/api/v1/scoreboard", token: "not-a-token")
                #expect(scoreboard.status == 200)
                let guarded = try await client.call(.get, "/api/v1/me", token: "not-a-token")
                #expect(guarded.status == 401)
                #expect((guarded.body["error"] as? [String: Any])?["message"] as? String == "The token is not valid; ask an admin for a new one.")
            }
        }
    }

    @Test("every error code has its HTTP status in the one table, and the envelope carries the code's text")
    func errorStatusTable() throws {
        for code in BerthError.Code.allCases {
            #expect((400..<600).contains(code.httpStatus), "\(code.rawValue) → \(code.httpStatus)")
        }
        #expect(BerthError.Code.instanceNotFound.httpStatus == 404)
        #expect(BerthError.Code.instanceExists.httpStatus == 409)
        #expect(BerthError.Code.ownerCapReached.httpStatus == 429)
        #expect(BerthError.Code.engineUnavailable.httpStatus == 503)
        #expect(BerthError.Code.csrfFailed.httpStatus == 403)
        #expect(BerthError.Code.unauthorized.httpStatus == 401)
        #expect(BerthError.Code.environmentRemoved.httpStatus == 409)
        #expect(BerthError.Code.invalidRequest.httpStatus == 400)
        #expect(BerthError.Code.methodNotAllowed.httpStatus == 405)
        let envelope = try JSONEncoder().encode(ErrorEnvelope(BerthError(.ticketInvalid, "m")))
        let decoded = try #require(try JSONSerialization.jsonObject(with: envelope) as? [String: [String: String]])
        #expect(decoded == ["error": ["code": "ticket_invalid", "message": "m"]])
        #expect("\(BerthError.Code.ticketInvalid)" == "ticket_invalid")
    }

    @Test("a broken challenge folder is left out after a reload and listed with its problems for admins")
    func brokenEnvironmentProblems() async throws {
        try await APIHarness.with { harness in
            let folder = URL(fileURLWithPath: harness.configuration.environmentsDirectory).appendingPathComponent("template", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try "name: Template\nvalue: {{easy}}\n".write(to: folder.appendingPathComponent("challenge.yml"), atomically: true, encoding: .utf8)
            try await harness.application.test(.router) { client in
                let reload = try await client.call(.post, "/api/v1/admin/environments/reload", token: APIHarness.adminToken)
                #expect(reload.status == 200)
                let list = try await client.call(.get, "/api/v1/admin/environments", token: APIHarness.adminToken)
                #expect((list.body["items"] as? [Any])?.isEmpty == true)
                let problems = try #require(list.body["problems"] as? [[String: Any]])
                #expect(problems.count == 1)
                #expect(problems.first?["file"] as? String == "template/challenge.yml")
                #expect(problems.first?["field"] as? String == "value")
                #expect(problems.first?["severity"] as? String == "error")
                #expect((problems.first?["reason"] as? String)?.contains("{{easy}}") == true)
            }
        }
    }

    @Test("health is public; readiness checks the store and the engine")
    func healthAndReadiness() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                #expect(try await client.call(.get, "/healthz").status == 200)
                let ready = try await client.call(.get, "/readyz")
                #expect(ready.status == 200)
                #expect(ready.body["engine"] as? String == "ok")
                #expect(ready.body["store"] as? String == "ok")
            }
        }
    }

    @Test("authentication: missing, malformed and unknown tokens get 401; players get 403 on admin routes")
    func authentication() async throws {
        try await APIHarness.with { harness in
            let player = try await harness.player("alice")
            try await harness.application.test(.router) { client in
                let missing = try await client.call(.get, "/api/v1/instances")
                #expect(missing.status == 401)
                #expect(errorCode(missing.body) == "unauthorized")
                let unknown = try await client.call(.get, "/api/v1/instances", token: "berth_not-a-real-token")
                #expect(unknown.status == 401)
                #expect(errorCode(unknown.body) == "unauthorized")
                let me = try await client.call(.get, "/api/v1/me", token: player.token)
                #expect(me.status == 200)
                #expect(me.body["id"] as? String == player.id)
                #expect(me.body["role"] as? String == "player")
                for (method, path) in [("POST", "/api/v1/admin/purge"), ("GET", "/api/v1/users"), ("POST", "/api/v1/teams"), ("GET", "/api/v1/admin/events")] {
                    let answer = try await client.call(method == "POST" ? .post : .get, path, token: player.token, json: method == "POST" ? #"{"name":"x"}"# : nil)
                    #expect(answer.status == 403, "\(method) \(path)")
                    #expect(errorCode(answer.body) == "forbidden")
                }
                let noRoute = try await client.call(.get, "/api/v1/nothing-here", token: player.token)
                #expect(noRoute.status == 404)
                #expect(errorCode(noRoute.body) == "route_not_found")
            }
        }
    }

    @Test("admin creates users, tokens and teams; bad input gets stable error codes")
    func accounts() async throws {
        try await APIHarness.with { harness in
            let admin = APIHarness.adminToken
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/users", token: admin, json: #"{"name":"bob"}"#)
                #expect(created.status == 201)
                let userID = try #require(created.body["id"] as? String)
                #expect(created.body["name"] as? String == "bob")
                let duplicate = try await client.call(.post, "/api/v1/users", token: admin, json: #"{"name":"bob"}"#)
                #expect(duplicate.status == 409)
                #expect(errorCode(duplicate.body) == "user_name_taken")
                let badName = try await client.call(.post, "/api/v1/users", token: admin, json: #"{"name":"<script>"}"#)
                #expect(badName.status == 422)
                #expect(errorCode(badName.body) == "invalid_name")
                let missingField = try await client.call(.post, "/api/v1/users", token: admin, json: #"{"nom":"x"}"#)
                #expect(missingField.status == 400)
                #expect(errorCode(missingField.body) == "invalid_body")
                let notJSON = try await client.call(.post, "/api/v1/users", token: admin, json: "name=bob")
                #expect(notJSON.status == 400)
                #expect(errorCode(notJSON.body) == "invalid_body")
                let badRole = try await client.call(.post, "/api/v1/users", token: admin, json: #"{"name":"carol","role":"root"}"#)
                #expect(badRole.status == 422)
                #expect(errorCode(badRole.body) == "invalid_role")

                let token = try await client.call(.post, "/api/v1/users/\(userID)/tokens", token: admin, json: #"{"name":"laptop"}"#)
                #expect(token.status == 201)
                let secret = try #require(token.body["token"] as? String)
                #expect(secret.hasPrefix("berth_"))
                let stored = try await harness.services.store.accounts.tokens(userID: userID)
                #expect(stored.count == 1)
                #expect(stored.first?.secretHash != secret)
                #expect(stored.first?.secretHash == Accounts.hash(secret))
                let me = try await client.call(.get, "/api/v1/me", token: secret)
                #expect(me.body["name"] as? String == "bob")
                let noUser = try await client.call(.post, "/api/v1/users/usr_missing/tokens", token: admin, json: #"{"name":"x"}"#)
                #expect(noUser.status == 404)
                #expect(errorCode(noUser.body) == "user_not_found")

                let team = try await client.call(.post, "/api/v1/teams", token: admin, json: #"{"name":"red"}"#)
                #expect(team.status == 201)
                let teamID = try #require(team.body["id"] as? String)
                let joined = try await client.call(.post, "/api/v1/teams/\(teamID)/members", token: admin, json: "{\"userId\":\"\(userID)\"}")
                #expect(joined.status == 201)
                #expect(joined.body["members"] as? [String] == [userID])
                let again = try await client.call(.post, "/api/v1/teams/\(teamID)/members", token: admin, json: "{\"userId\":\"\(userID)\"}")
                #expect(again.status == 409)
                #expect(errorCode(again.body) == "already_member")
                let ghostTeam = try await client.call(.post, "/api/v1/teams/team_missing/members", token: admin, json: "{\"userId\":\"\(userID)\"}")
                #expect(ghostTeam.status == 404)
                #expect(errorCode(ghostTeam.body) == "team_not_found")
            }
        }
    }
}
