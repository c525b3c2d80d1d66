import BerthCore
import BerthEngine
import Foundation
import HTTPTransport
import Hummingbird
import NIOCore

/// "Sign in with GitHub": the OAuth 2 authorization-code flow against GitHub (or GitHub
/// Enterprise, or any server speaking the same protocol, at `BERTH_GITHUB_URL` and
/// `BERTH_GITHUB_API_URL`).
///
/// `GET /auth/github` sends the browser to GitHub with a random `state` kept in a short-lived
/// cookie; `GET /auth/github/callback` checks it, trades the code for a token, reads the GitHub
/// account and signs in the Berth user linked to it, creating one (when registration is open)
/// the first time. Failures land on `/login#error=<code>`.
struct GitHubSignIn {
    let services: BerthServices

    static let stateCookie = "berth_oauth_state"

    var configuration: BerthConfiguration { services.configuration }

    func register(on table: RouteTable) {
        table.on(.get, "/auth/github") { request, _ in
            guard let clientID = configuration.githubClientID, configuration.githubSignIn else {
                throw BerthError(.githubNotConfigured, "Sign-in with GitHub is not set up on this server.")
            }
            let state = Secrets.randomBase64URL(byteCount: 24)
            var query = URLComponents()
            query.queryItems = [
                URLQueryItem(name: "client_id", value: clientID), URLQueryItem(name: "redirect_uri", value: callbackURL(request)),
                URLQueryItem(name: "state", value: state), URLQueryItem(name: "scope", value: "read:user"),
                URLQueryItem(name: "allow_signup", value: "true"),
            ]
            var response = Self.redirect("\(configuration.githubURL)/login/oauth/authorize?\(query.percentEncodedQuery ?? "")")
            response.setCookie(BrowserSession.make(Self.stateCookie, state, maxAge: 600, sameSite: .lax, request: request))
            return response
        }
        table.on(.get, "/auth/github/callback") { request, context in
            do {
                let user = try await signIn(request)
                context.facts.caller = user
                var response = Self.redirect("/")
                response.setCookie(try await BrowserSession.begin(for: user, accounts: services.accounts, request: request, context: context))
                response.setCookie(BrowserSession.make(Self.stateCookie, "", maxAge: 0, sameSite: .lax, request: request))
                context.logger.info("signed in with GitHub", metadata: ["user.id": "\(user.id)", "client.ip": "\(context.clientIP)"])
                return response
            } catch let error as BerthError {
                context.facts.errorCode = error.code.rawValue
                context.logger.notice("GitHub sign-in failed", metadata: ["client.ip": "\(context.clientIP)", "error": "\(error.code): \(error.message)"])
                return Self.redirect("/login#error=\(error.code)")
            }
        }
    }

    /// Where GitHub sends the browser back to.
    func callbackURL(_ request: Request) -> String {
        if let publicURL = configuration.publicURL { return "\(publicURL)/auth/github/callback" }
        let scheme = BrowserSession.isSecure(request) ? "https" : "http"
        let host = request.head.authority ?? "\(configuration.host):\(configuration.port)"
        return "\(scheme)://\(host)/auth/github/callback"
    }

    /// Checks the callback, trades its code and returns the linked (or new) Berth user.
    func signIn(_ request: Request) async throws -> User {
        let query = request.uri.queryParameters
        if let denied = query.get("error") {
            throw BerthError(.githubDenied, "GitHub said: \(denied.prefix(100))")
        }
        guard let code = query.get("code"), let state = query.get("state"), !code.isEmpty,
              let expected = request.cookies[Self.stateCookie]?.value, !expected.isEmpty, state == expected
        else {
            throw BerthError(.githubStateMismatch, "The sign-in came back without its state; start again.")
        }
        let token = try await accessToken(code: code, redirectURI: callbackURL(request))
        let account = try await githubAccount(token: token)
        if let linked = try await services.store.accounts.user(githubID: account.id) { return linked }
        guard await services.settings.registrationOpen else {
            throw BerthError(.registrationClosed, "Registration is closed; ask the organisers for an account.")
        }
        // The user and its GitHub link in one transaction: a retry never finds a user without its link.
        let user = User(id: Identifier.make("usr"), name: try await freeName(for: account.login), role: .player, createdAt: Date())
        try await services.store.accounts.register(user, passwordHash: nil, session: nil, githubID: account.id)
        return user
    }

    /// `login`, or `login-2`, `login-3`… when a Berth user already has that name.
    func freeName(for login: String) async throws -> String {
        let base = String(login.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(56))
        guard !base.isEmpty else { throw BerthError(.githubLoginInvalid, "GitHub returned an unusable login name.") }
        if try await services.store.accounts.user(named: base) == nil { return base }
        for suffix in 2...50 where try await services.store.accounts.user(named: "\(base)-\(suffix)") == nil {
            return "\(base)-\(suffix)"
        }
        return "\(base)-\(Secrets.randomBase64URL(byteCount: 3))"
    }

    func accessToken(code: String, redirectURI: String) async throws -> String {
        struct TokenRequest: Encodable {
            var client_id: String
            var client_secret: String
            var code: String
            var redirect_uri: String
        }
        struct TokenAnswer: Decodable {
            var access_token: String?
            var error: String?
            var error_description: String?
        }
        let body = TokenRequest(
            client_id: configuration.githubClientID ?? "", client_secret: configuration.githubClientSecret ?? "", code: code,
            redirect_uri: redirectURI
        )
        let answer: TokenAnswer = try await call(
            configuration.githubURL, "POST", "/login/oauth/access_token", body: try JSONEncoder().encode(body), bearer: nil
        )
        guard let token = answer.access_token, !token.isEmpty else {
            throw BerthError(.githubCodeRejected, "GitHub refused the sign-in code: \(answer.error_description ?? answer.error ?? "no token").")
        }
        return token
    }

    /// The GitHub account id (as text) and login of a token.
    func githubAccount(token: String) async throws -> (id: String, login: String) {
        struct Account: Decodable {
            var id: Int64
            var login: String
        }
        let account: Account = try await call(configuration.githubAPIURL, "GET", "/user", body: nil, bearer: token)
        return (String(account.id), account.login)
    }

    func call<T: Decodable>(_ base: String, _ method: String, _ path: String, body: Data?, bearer: String?) async throws -> T {
        let unavailable = { (reason: String) in
            BerthError(.githubUnavailable, "GitHub could not be reached or answered oddly (\(reason)); try again.")
        }
        let transport: HTTPTransport
        do { transport = try HTTPTransport(webURL: base) } catch { throw unavailable("bad URL \(base)") }
        let prefix = base.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(3).first.map { "/\($0)" } ?? ""
        var headers = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let bearer { headers.append(("Authorization", "Bearer \(bearer)")) }
        let response: TransportResponse
        do {
            response = try await transport.execute(
                method: method == "POST" ? .POST : .GET, path: prefix + path, headers: headers, body: body.map { ByteBuffer(bytes: $0) },
                maxBodyBytes: 1 << 20
            )
        } catch {
            throw unavailable("\(error)")
        }
        guard (200..<300).contains(response.status) else { throw unavailable("HTTP \(response.status) from \(path)") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        } catch {
            throw unavailable("unreadable answer from \(path)")
        }
    }

    static func redirect(_ location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .found, headers: headers)
    }
}
