import BerthCore
import BerthEngine
import Hummingbird
import NIOConcurrencyHelpers

/// What inner middleware and routes learn about a request for the audit log and the request log:
/// who the caller is, the error code, and the target when the route knows it better than the path.
///
/// Request contexts are values that middleware copies, so this shared box carries the facts back
/// out to ``AuditMiddleware`` and ``ErrorMiddleware``.
public final class RequestFacts: Sendable {
    struct State {
        var caller: User?
        var errorCode: String?
        var target: String?
        var detail: String?
        var cookies: [Cookie] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Creates an empty box.
    public init() {}

    /// The authenticated caller.
    public var caller: User? {
        get { state.withLockedValue { $0.caller } }
        set { state.withLockedValue { $0.caller = newValue } }
    }

    /// The stable code of the error the request ended with.
    public var errorCode: String? {
        get { state.withLockedValue { $0.errorCode } }
        set { state.withLockedValue { $0.errorCode = newValue } }
    }

    /// The object acted on, when the path does not name it (a created instance, for example).
    public var target: String? {
        get { state.withLockedValue { $0.target } }
        set { state.withLockedValue { $0.target = newValue } }
    }

    /// Cookies a generated handler sets on its response (the contract cannot type two
    /// `Set-Cookie` headers); the route group's middleware adds them.
    public var cookies: [Cookie] {
        get { state.withLockedValue { $0.cookies } }
        set { state.withLockedValue { $0.cookies = newValue } }
    }

    /// Free text for the audit entry.
    public var detail: String? {
        get { state.withLockedValue { $0.detail } }
        set { state.withLockedValue { $0.detail = newValue } }
    }
}

/// Writes an audit entry for every request to the API, reads included, except the explicit
/// opt-outs in ``notAudited``: health probes, metrics, the public contract, and static pages and
/// assets (they carry no data; what a page shows comes through audited API calls). Refused
/// requests without a caller are logged at most ``AuditLog/refusalLimit`` a minute per address
/// one by one, then counted.
///
/// The entry is stored before the response leaves, so an action the client saw succeed is in the log.
public struct AuditMiddleware: RouterMiddleware {
    /// The request context.
    public typealias Context = BerthRequestContext

    let log: AuditLog

    /// Creates the middleware over `log`.
    public init(log: AuditLog) {
        self.log = log
    }

    /// Routes never audited, with the reason.
    static let notAudited: [String: String] = [
        "/healthz": "load balancer probe, every few seconds",
        "/readyz": "load balancer probe, every few seconds",
        "/metrics": "Prometheus scrape, every few seconds",
        "/api/v1/openapi.json": "the public contract, the same for everyone",
    ]

    /// Whether a request is left out of the audit log: an opt-out route, or a page or asset
    /// outside the API.
    static func isOptedOut(path: String, route: String?) -> Bool {
        if let route, notAudited[route] != nil { return true }
        if notAudited[path] != nil { return true }
        return !path.hasPrefix("/api/")
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let route = context.endpointPath
        // A player following a live recording re-reads it every second with a Range header;
        // the first, whole read is the one logged.
        let followUp = route == "/api/v1/recordings/{id}/cast" && request.headers[.range] != nil
        guard !followUp, !Self.isOptedOut(path: request.uri.path, route: route) else { return response }
        let caller = context.facts.caller
        let status = response.status.code
        let action = "\(request.method.rawValue) \(route ?? String(request.uri.path.prefix(200)))"
        let target = context.facts.target ?? context.parameters.get("id")
        let entry = AuditEntry(
            time: .now, actorID: caller?.id, actorName: caller?.name, actorRole: caller?.role.rawValue, clientIP: context.clientIP,
            userAgent: request.headers[.userAgent], action: action, target: target, status: status,
            result: status < 400 ? "ok" : (context.facts.errorCode ?? "http_\(status)"), detail: context.facts.detail
        )
        // Anyone can be refused, so refusals are limited per address (and counted past the limit).
        if status == 401 && caller == nil {
            await log.appendRefusal(entry)
        } else {
            await log.append(entry)
        }
        return response
    }
}
