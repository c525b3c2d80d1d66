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

/// Writes an audit entry for every API action: each request that changes something (any method
/// but GET and HEAD), each read of a recording's contents or of the audit log, each terminal
/// connection, and each refused token (at most ``AuditLog/refusalLimit`` a minute per address one
/// by one, then counted). Reads of lists and states are not actions and are not logged.
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

    /// GET routes that read something sensitive, as Hummingbird names matched routes.
    static let auditedReads: Set<String> = [
        "/api/v1/recordings/{id}/cast", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/instances/{id}/terminal",
        "/api/v1/environments/{slug}/files/{name}",
    ]

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let route = context.endpointPath
        let isRead = request.method == .get || request.method == .head
        let audited = !isRead || route.map(Self.auditedReads.contains) == true || response.status.code == 401
        // A player following a live recording re-reads it every second with a Range header;
        // the first, whole read is the one logged.
        let followUp = route == "/api/v1/recordings/{id}/cast" && request.headers[.range] != nil
        guard audited, !followUp, request.uri.path.hasPrefix("/api/") else { return response }
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
