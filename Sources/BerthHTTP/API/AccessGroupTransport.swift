import BerthCore
import BerthEngine
import HTTPTypes
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime

/// Registers each generated operation in the router group of its access, so one middleware per
/// group decides who gets in: a handler cannot be reached by a caller its group does not admit.
/// A GET also answers HEAD, with the same status and headers and no body.
struct AccessGroupTransport: ServerTransport {
    let contract: APIContractIndex
    let groups: [APIAccess: RouterGroup<BerthRequestContext>]
    /// Every operation registered, for the route table and the 405 answers.
    let table: RouteTable

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        guard let operation = contract.operation(method: method.rawValue, path: path) else {
            throw BerthError(.contractInvalid, "The generated server registers \(method.rawValue) \(path), which openapi.yaml does not describe.")
        }
        // The terminal WebSocket is a plain route (TerminalRoutes): it upgrades the connection.
        guard operation.access != .ticket else { return }
        guard let group = groups[operation.access] else {
            throw BerthError(.contractInvalid, "No route group serves access '\(operation.access.rawValue)'.")
        }
        let served: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?) = {
            request, body, metadata in
            try await handler(request, try await Self.collect(body, limit: operation.maxBody ?? BerthRequestContext.maxRequestBody), metadata)
        }
        // Where the generated code writes an answer differently from the contract.
        let repaired = ContractAnswers.repairing(served, operation: operation.id)
        group.register(repaired, method: method, path: path)
        if method == .get {
            group.register({ request, body, metadata in
                let (response, _) = try await repaired(request, body, metadata)
                return (response, nil)
            }, method: .head, path: path)
        }
        table.record(method, path)
    }

    /// The request's body read whole, refused past `limit` (``BerthRequestContext/maxRequestBody``
    /// unless the operation declares `x-berth-max-body`; the generated code would read any size),
    /// and nil when empty: Hummingbird hands every request a
    /// body, and the generated code must see an empty one as none, so an optional body (a terminal
    /// ticket's) may be left out, also by a client that sends an empty chunked body.
    static func collect(_ body: HTTPBody?, limit: Int = BerthRequestContext.maxRequestBody) async throws -> HTTPBody? {
        guard let body else { return nil }
        let tooLarge = BerthError(.bodyTooLarge, "The request body is too large (at most \(limit) bytes).")
        if case .known(let length) = body.length, length > limit { throw tooLarge }
        var bytes: [UInt8] = []
        for try await chunk in body {
            guard bytes.count + chunk.count <= limit else { throw tooLarge }
            bytes += chunk
        }
        return bytes.isEmpty ? nil : HTTPBody(bytes)
    }
}

/// The middleware of one route group: admits the callers its access allows, refuses the others
/// (401 without valid credentials, 403 for a player in the admin group; a public route's state
/// change needs the page's CSRF token unless it carries a bearer token), and hands the admitted
/// caller to the generated handler as ``APIRequest/current``. Cookies the handler asked for are
/// added to its response.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext

    let access: APIAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch access {
        case .public, .ticket:
            // Signing in, registering and signing out from a page need the page's CSRF token too,
            // with or without a session cookie (``CallerIdentification`` checks those with one).
            try BrowserSession.checkCSRF(request)
        case .signedIn, .admin:
            guard let caller = context.caller else {
                throw context.credentialProblem
                    ?? BerthError(.unauthorized, "This route needs you to sign in, or a token: send 'Authorization: Bearer <token>'.")
            }
            if access == .admin && caller.role != .admin {
                throw BerthError(.forbidden, "This route is for admins only.")
            }
        }
        let scope = APIRequest(
            caller: context.caller, clientIP: context.clientIP, facts: context.facts, logger: context.logger, request: request
        )
        var response = try await APIRequest.$current.withValue(scope) {
            try await next(request, context)
        }
        // API answers describe one moment; no cache keeps them (a download may say otherwise).
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        for cookie in context.facts.cookies {
            response.headers.append(HTTPField(name: .setCookie, value: cookie.description))
        }
        return response
    }
}
