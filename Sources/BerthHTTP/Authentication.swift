import BerthCore
import BerthEngine
import Hummingbird

/// Authenticates `Authorization: Bearer <token>` on every route except the public ones
/// (`/healthz`, `/readyz`, `/api/v1/openapi.json`), and refuses unauthenticated callers with 401.
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
        guard request.method == .get else { return false }
        if path.hasPrefix("/assets/") || (path.hasPrefix("/instances/") && path.hasSuffix("/terminal")) { return true }
        if path == "/recordings" || path.hasPrefix("/recordings/") { return true }
        return path.hasPrefix("/api/v1/instances/") && path.hasSuffix("/terminal")
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if publicPaths.contains(request.uri.path) || Self.authenticatesItself(request) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw BerthError.unauthorized("This route needs a token: send 'Authorization: Bearer <token>'.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw BerthError.unauthorized("The Authorization header must be 'Bearer <token>'.")
        }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        let user: User?
        do {
            user = try await accounts.authenticate(secret: secret)
        } catch {
            throw BerthError.unavailable("store_unavailable", "The store cannot be reached to check your token; try again shortly.")
        }
        guard let user else {
            context.logger.notice("rejected token", metadata: ["client.ip": "\(context.clientIP)"])
            throw BerthError.unauthorized("The token is not valid; ask an admin for a new one.")
        }
        var context = context
        context.caller = user
        context.facts.caller = user
        context.logger[metadataKey: "user.id"] = "\(user.id)"
        return try await next(request, context)
    }
}
