import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The session and admin operations on the wire, as the generated server answers them: explicit
/// nulls the pages read, cookie attributes, settings that tell null from absent, and the clear
/// errors for a query or an Accept header the contract refuses.
@Suite("Session and admin operations on the wire (generated server)")
struct AdminSessionContractTests {
    @Test("a visitor's session and a player without a team are explicit nulls; the CSRF cookie is HttpOnly and SameSite=Strict")
    func explicitNulls() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let response = try await client.execute(uri: "/api/v1/session", method: .get)
                #expect(response.status == .ok)
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(body["user"] is NSNull, "\(text)")
                #expect(response.headers[.cacheControl] == "no-store")
                let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("berth_csrf=") })
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "\(cookie)")
                #expect(cookie.contains("berth_csrf=\(body["csrfToken"] as? String ?? "-")"))

                let player = try await harness.player("nobody")
                let team = try await client.call(.get, "/api/v1/me/team", token: player.token)
                #expect(team.status == 200)
                #expect(team.body["team"] is NSNull, "\(team.body)")
            }
        }
    }

    @Test("settings: a field left out keeps its value, null clears it, and a bad value or unknown field is invalid_setting")
    func settingsNullAndAbsent() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let admin = APIHarness.adminToken
                let set = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"publicHost":"ctf.example.org","renewalCap":2}"#)
                #expect(set.status == 200, "\(set.body)")
                #expect(set.body["publicHost"] as? String == "ctf.example.org")
                let kept = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"ownerCap":4}"#)
                #expect(kept.body["publicHost"] as? String == "ctf.example.org")
                #expect(kept.body["renewalCap"] as? Int == 2)
                #expect(kept.body["ownerCap"] as? Int == 4)
                let cleared = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"publicHost":null}"#)
                #expect(cleared.status == 200)
                #expect(cleared.body["publicHost"] == nil)
                #expect(cleared.body["renewalCap"] as? Int == 2)
                let read = try await client.call(.get, "/api/v1/admin/settings", token: admin)
                #expect(read.body["publicHost"] == nil && read.body["ownerCap"] as? Int == 4)
                let badAssignment = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"assignment":"anarchy"}"#)
                #expect(badAssignment.status == 422 && errorCode(badAssignment.body) == "invalid_setting")
                let wrongType = try await client.call(.put, "/api/v1/admin/settings", token: admin, json: #"{"ownerCap":"four"}"#)
                #expect(wrongType.status == 400 && errorCode(wrongType.body) == "invalid_body")
            }
        }
    }

    @Test("submissions: a limit out of range or an unknown outcome is invalid_query; a bad role is invalid_role")
    func queryAndRoleErrors() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let admin = APIHarness.adminToken
                for query in ["limit=0", "limit=1001", "limit=abc", "outcome=nope"] {
                    let answer = try await client.call(.get, "/api/v1/admin/submissions?\(query)", token: admin)
                    #expect(answer.status == 400 && errorCode(answer.body) == "invalid_query", "\(query): \(answer.body)")
                }
                let exhausted = try await client.call(.get, "/api/v1/admin/submissions?outcome=attempts_exhausted", token: admin)
                #expect(exhausted.status == 200, "\(exhausted.body)")
                let player = try await harness.player("rolly")
                let badRole = try await client.call(.patch, "/api/v1/users/\(player.id)", token: admin, json: #"{"role":"root"}"#)
                #expect(badRole.status == 422 && errorCode(badRole.body) == "invalid_role", "\(badRole.body)")
                let unknown = try await client.call(.patch, "/api/v1/users/usr_nobody", token: admin, json: #"{"role":"admin"}"#)
                #expect(unknown.status == 404 && errorCode(unknown.body) == "user_not_found")
            }
        }
    }

    @Test("a build asked for with Accept: application/json only is not refused for its JSON lines; an unknown environment is 404 first")
    func buildAccept() async throws {
        try await APIHarness.with(environments: ["scored": scoredEnvironment]) { harness in
            try await harness.application.test(.router) { client in
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(APIHarness.adminToken)"
                headers[.accept] = "application/json"
                let missing = try await client.execute(uri: "/api/v1/admin/environments/nope/build", method: .post, headers: headers)
                #expect(missing.status == .notFound)
                // Accept is not checked for answers that are not JSON (downloads, the build's lines),
                // as before the contract; this harness's fake engine builds nothing, so it says so.
                let served = try await client.execute(uri: "/api/v1/admin/environments/scored/build", method: .post, headers: headers)
                let body = (try? JSONSerialization.jsonObject(with: Data(served.body.readableBytesView))) as? [String: Any] ?? [:]
                #expect(served.status.code == 422, "\(body)")
                #expect(errorCode(body) == "build_unsupported", "\(body)")
            }
        }
    }
}
