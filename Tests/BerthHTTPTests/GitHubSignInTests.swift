import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A local server that speaks GitHub's OAuth protocol: the code `good-code` trades for a token,
/// and the token reads the account octo-cat (id 4242).
func fakeGitHub() -> Application<RouterResponder<BasicRequestContext>> {
    let router = Router()
    router.post("/login/oauth/access_token") { request, context -> Response in
        struct Body: Decodable {
            var client_id: String
            var client_secret: String
            var code: String
            var redirect_uri: String
        }
        let body = try await request.decode(as: Body.self, context: context)
        let good = body.client_id == "Iv1.test" && body.client_secret == "test-secret" && body.code == "good-code"
            && body.redirect_uri.hasSuffix("/auth/github/callback")
        let json = good ? #"{"access_token":"gho_test","token_type":"bearer","scope":"read:user"}"# : #"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
    router.get("/user") { request, _ -> Response in
        guard request.headers[.authorization] == "Bearer gho_test" else { return Response(status: .unauthorized) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"id":4242,"login":"octo-cat","name":"Octo"}"#)))
    }
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
}

@Suite("Sign in with GitHub (live server and a local OAuth server)", .serialized, .timeLimit(.minutes(2)))
struct GitHubSignInTests {
    @Test("the authorization-code flow signs in (and links) a GitHub account; a wrong state or code lands on the login page with an error")
    func oauthFlow() async throws {
        try await fakeGitHub().test(.live) { github in
            let port = try #require(github.port)
            try await APIHarness.with(policy: {
                $0.githubClientID = "Iv1.test"
                $0.githubClientSecret = "test-secret"
                $0.githubURL = "http://127.0.0.1:\(port)"
                $0.githubAPIURL = "http://127.0.0.1:\(port)"
            }) { harness in
                // Someone already has the name, so the GitHub user becomes octo-cat-2.
                _ = try await harness.player("octo-cat")
                try await harness.application.test(.live) { client in
                    var browser = Browser(client)
                    #expect(try await browser.session()["githubLogin"] as? Bool == true)

                    func start() async throws -> (state: String, location: String) {
                        let response = try await client.execute(uri: "/auth/github", method: .get)
                        #expect(response.status == .found)
                        let location = try #require(response.headers[.location])
                        let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("berth_oauth_state=") })
                        let state = String(cookie.dropFirst("berth_oauth_state=".count).prefix { $0 != ";" })
                        return (state, location)
                    }
                    func callback(code: String, state: String, cookieState: String) async throws -> (location: String, session: String?) {
                        var headers = HTTPFields()
                        headers[.cookie] = "berth_oauth_state=\(cookieState)"
                        let response = try await client.execute(uri: "/auth/github/callback?code=\(code)&state=\(state)", method: .get, headers: headers)
                        #expect(response.status == .found)
                        let session = response.headers[values: .setCookie].first { $0.hasPrefix("berth_session=") }
                            .map { String($0.dropFirst("berth_session=".count).prefix { $0 != ";" }) }
                        return (response.headers[.location] ?? "", session)
                    }

                    let first = try await start()
                    #expect(first.location.hasPrefix("http://127.0.0.1:\(port)/login/oauth/authorize?"))
                    #expect(first.location.contains("client_id=Iv1.test"))
                    #expect(first.location.contains("state=\(first.state)"))
                    #expect(first.location.contains("%2Fauth%2Fgithub%2Fcallback") || first.location.contains("/auth/github/callback"))

                    let signedIn = try await callback(code: "good-code", state: first.state, cookieState: first.state)
                    #expect(signedIn.location == "/")
                    let session = try #require(signedIn.session)
                    browser.cookies["berth_session"] = session
                    let me = try await browser.send(.get, "/api/v1/me")
                    #expect(me.body["name"] as? String == "octo-cat-2")
                    let userID = try #require(me.body["id"] as? String)

                    // The second time, the linked account signs in as the same user.
                    let second = try await start()
                    let again = try await callback(code: "good-code", state: second.state, cookieState: second.state)
                    var other = Browser(client)
                    other.cookies["berth_session"] = try #require(again.session)
                    #expect(try await other.send(.get, "/api/v1/me").body["id"] as? String == userID)

                    let forged = try await callback(code: "good-code", state: "attacker", cookieState: second.state)
                    #expect(forged.location == "/login#error=github_state_mismatch")
                    #expect(forged.session == nil)
                    let third = try await start()
                    let badCode = try await callback(code: "stolen", state: third.state, cookieState: third.state)
                    #expect(badCode.location == "/login#error=github_code_rejected")
                }
            }
        }
    }

    @Test("without a client id and secret, /auth/github is a clear 404")
    func notConfigured() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.live) { client in
                let answer = try await client.call(.get, "/auth/github")
                #expect(answer.status == 404)
                #expect(errorCode(answer.body) == "github_not_configured")
            }
        }
    }
}
