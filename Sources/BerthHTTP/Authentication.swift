import BerthCore
import BerthEngine
import Hummingbird

/// Cookie names and the CSRF rule shared by the middleware and the session routes.
enum BrowserSession {
    /// The session cookie: HttpOnly, SameSite=Lax, a week.
    static let cookie = "berth_session"
    /// The CSRF cookie: HttpOnly, SameSite=Strict; pages read its value from `GET /api/v1/session`
    /// and send it back in the `X-CSRF-Token` header.
    static let csrfCookie = "berth_csrf"

    /// Whether the browser reached Berth over HTTPS (directly or through a proxy that says so).
    static func isSecure(_ request: Request) -> Bool {
        request.uri.scheme == .https || request.headers[.forwardedProto]?.lowercased() == "https"
    }

    /// A cookie with Berth's attributes.
    static func make(_ name: String, _ value: String, maxAge: Int?, sameSite: Cookie.SameSite, request: Request) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: isSecure(request), httpOnly: true, sameSite: sameSite)
    }

    /// Starts a session for `user` (recording where it came from) and returns its cookie.
    static func begin(for user: User, accounts: Accounts, request: Request, context: BerthRequestContext) async throws -> Cookie {
        let secret = try await accounts.startSession(for: user, clientIP: context.clientIP, userAgent: request.headers[.userAgent])
        return make(cookie, secret, maxAge: Int(Accounts.sessionLifetime), sameSite: .lax, request: request)
    }
}

/// Authenticates every route except the public ones (`/healthz`, `/readyz`, the OpenAPI
/// document, the session and sign-in routes, pages and assets) and refuses unauthenticated
/// callers with 401. A caller is either a bearer token (`Authorization: Bearer <token>`) or a
/// browser session cookie. Requests that change something with a cookie (or that sign in) must
/// also carry the CSRF token in `X-CSRF-Token`; bearer tokens are not ambient, so they need none.
public struct BearerAuthMiddleware: RouterMiddleware {
    /// The request context.
    public typealias Context = BerthRequestContext

    let accounts: Accounts
    let publicPaths: Set<String>

    /// Creates the middleware; `publicPaths` are served without a token.
    public init(accounts: Accounts, publicPaths: Set<String>) {
        self.accounts = accounts
        self.publicPaths = publicPaths
    }

    /// Pages and assets carry no data, and the terminal WebSocket is opened with a single-use
    /// ticket (browsers cannot set headers on a WebSocket).
    static func authenticatesItself(_ request: Request) -> Bool {
        let path = request.uri.path
        guard request.method == .get || request.method == .head else { return false }
        if path.hasPrefix("/assets/") || (path.hasPrefix("/instances/") && path.hasSuffix("/terminal")) { return true }
        if path == "/recordings" || path.hasPrefix("/recordings/") || path.hasPrefix("/environments/") || path.hasPrefix("/auth/") {
            return true
        }
        if PageRoutes.pages.keys.contains(path) { return true }
        if path.hasPrefix("/api/v1/instances/") && path.hasSuffix("/terminal") { return true }
        // Every other GET outside the API is a page that does not exist: the router answers it
        // with the HTML 404 page, signed in or not, rather than a JSON 401.
        return !path.hasPrefix("/api/") && !PageRoutes.guardedOutsideAPI.contains(path)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // `/metrics` checks its own token (``MetricsRoutes``), which is not a user's.
        if request.uri.path == MetricsRoutes.path { return try await next(request, context) }
        let open = publicPaths.contains(request.uri.path) || Self.authenticatesItself(request)
        var context = context
        var viaCookie = false
        if let header = request.headers[.authorization] {
            context.caller = try await bearer(header, context: context)
        } else if let secret = request.cookies[BrowserSession.cookie]?.value {
            context.caller = try await lookUp { try await accounts.sessionUser(secret: secret) }
            viaCookie = true
        }
        guard context.caller != nil || open else {
            throw BerthError.unauthorized("This route needs you to sign in, or a token: send 'Authorization: Bearer <token>'.")
        }
        let changes = ![.get, .head, .options].contains(request.method)
        if changes && request.headers[.authorization] == nil && (viaCookie || open) {
            let expected = request.cookies[BrowserSession.csrfCookie]?.value ?? ""
            guard !expected.isEmpty, request.headers[.csrfToken] == expected else {
                throw BerthError(code: "csrf_failed", message: "This form is missing its CSRF token or it is stale; reload the page and try again.", status: 403)
            }
        }
        if let user = context.caller {
            context.facts.caller = user
            context.logger[metadataKey: "user.id"] = "\(user.id)"
        }
        return try await next(request, context)
    }

    private func bearer(_ header: String, context: Context) async throws -> User {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw BerthError.unauthorized("The Authorization header must be 'Bearer <token>'.")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard let user = try await lookUp({ try await accounts.authenticate(secret: secret) }) else {
            context.logger.notice("rejected token", metadata: ["client.ip": "\(context.clientIP)"])
            throw BerthError.unauthorized("The token is not valid; ask an admin for a new one.")
        }
        return user
    }

    private func lookUp(_ body: () async throws -> User?) async throws -> User? {
        do {
            return try await body()
        } catch {
            throw BerthError.unavailable("store_unavailable", "The store cannot be reached to check who you are; try again shortly.")
        }
    }
}
