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

    /// Refuses a request that changes something without the CSRF token of its browser (sent in
    /// `X-CSRF-Token`, matching the CSRF cookie). Requests with a bearer token need none.
    static func checkCSRF(_ request: Request) throws {
        let changes = ![.get, .head, .options].contains(request.method)
        guard changes, request.headers[.authorization] == nil else { return }
        let expected = request.cookies[csrfCookie]?.value ?? ""
        guard !expected.isEmpty, request.headers[.csrfToken] == expected else {
            throw BerthError(.csrfFailed, "This form is missing its CSRF token or it is stale; reload the page and try again.")
        }
    }

    /// Starts a session for `user` (recording where it came from) and returns its cookie.
    static func begin(for user: User, accounts: Accounts, request: Request, context: BerthRequestContext) async throws -> Cookie {
        try await begin(for: user, accounts: accounts, request: request, clientIP: context.clientIP)
    }

    /// Starts a session for `user` signing in from `clientIP` and returns its cookie.
    static func begin(for user: User, accounts: Accounts, request: Request, clientIP: String) async throws -> Cookie {
        let secret = try await accounts.startSession(for: user, clientIP: clientIP, userAgent: request.headers[.userAgent])
        return make(cookie, secret, maxAge: Int(Accounts.sessionLifetime), sameSite: .lax, request: request)
    }
}

/// Finds out who is asking, for every request: a bearer token (`Authorization: Bearer <token>`)
/// or a browser session cookie. It admits and refuses no one: the route group of each API
/// operation does (``AccessMiddleware``), so a public route ignores credentials it does not need,
/// and the others answer with ``BerthRequestContext/credentialProblem``.
///
/// It also guards every state change made with a session cookie, whatever the route: such a
/// request must carry the CSRF token in `X-CSRF-Token`. Bearer tokens are not ambient, so they
/// need none.
public struct CallerIdentification: RouterMiddleware {
    /// The request context.
    public typealias Context = BerthRequestContext

    let accounts: Accounts

    /// Creates the middleware over `accounts`.
    public init(accounts: Accounts) {
        self.accounts = accounts
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            do {
                context.caller = try await bearer(header, context: context)
            } catch let error as BerthError where error.code == .unauthorized {
                context.credentialProblem = error
            }
        } else if let secret = request.cookies[BrowserSession.cookie]?.value {
            context.caller = try await lookUp { try await accounts.sessionUser(secret: secret) }
            try BrowserSession.checkCSRF(request)
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
            throw BerthError(.unauthorized, "The Authorization header must be 'Bearer <token>'.")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard let user = try await lookUp({ try await accounts.authenticate(secret: secret) }) else {
            context.logger.notice("rejected token", metadata: ["client.ip": "\(context.clientIP)"])
            throw BerthError(.unauthorized, "The token is not valid; ask an admin for a new one.")
        }
        return user
    }

    private func lookUp(_ body: () async throws -> User?) async throws -> User? {
        do {
            return try await body()
        } catch {
            throw BerthError(.storeUnavailable, "The store cannot be reached to check who you are; try again shortly.")
        }
    }
}
