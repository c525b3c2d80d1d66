import BerthCore
import Hummingbird

/// Sets the request's client address from `X-Forwarded-For` when the peer is a trusted proxy, so
/// logs, the audit log and address-keyed limits see players, not the proxy. Runs first.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext

    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trusted.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientIP = trusted.clientAddress(peer: context.clientIP, forwardedFor: request.headers[values: .forwardedFor])
        return try await next(request, context)
    }
}
