import BerthCore
import BerthEngine
import Hummingbird
import Logging

/// What the route group's middleware knows about the request the generated handler serves: the
/// caller it admitted, where the request came from, and the facts the handler reports back to the
/// audit log. Generated handlers see only their typed input, so this travels as a task local.
public struct APIRequest: Sendable {
    /// The caller the group admitted; nil only in the public group.
    public var caller: User?
    /// The client's address (`client.ip`).
    public var clientIP: String
    /// Facts the handler reports to the audit log and the request log, and cookies it sets.
    public var facts: RequestFacts
    /// The request's logger, with `client.ip` and `user.id`.
    public var logger: Logger
    /// The Hummingbird request, for cookies and headers the contract does not type.
    public var request: Request

    /// The request being served.
    @TaskLocal public static var current: APIRequest?

    /// The request being served; outside a request (a bug) it is `internal_error`.
    static func here() throws -> APIRequest {
        guard let current else {
            throw BerthError(.internalError, "A handler ran outside a request.")
        }
        return current
    }

    /// The signed-in caller. Handlers of the signed-in and admin groups always have one: the
    /// group refused the request otherwise.
    static func caller() throws -> User {
        guard let caller = try here().caller else { throw BerthError.unauthorized() }
        return caller
    }
}
