/// An error that reaches an API caller or CLI user: a stable snake_case code, a message that says
/// what went wrong and what to do next, and the HTTP status it maps to.
public struct BerthError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Stable, machine-readable code such as `instance_not_found`.
    public var code: String
    /// Human-readable explanation; never contains secrets.
    public var message: String
    /// HTTP status the API answers with.
    public var statusCode: Int

    /// Creates an error with an explicit code, message and status.
    public init(code: String, message: String, status: Int) {
        self.code = code
        self.message = message
        self.statusCode = status
    }

    public var description: String { "\(code): \(message)" }

    /// 400: the request could not be understood.
    public static func badRequest(_ code: String = "bad_request", _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 400)
    }
    /// 401: no or invalid credentials.
    public static func unauthorized(_ message: String = "Send a valid token as 'Authorization: Bearer <token>'.", code: String = "unauthorized") -> BerthError {
        BerthError(code: code, message: message, status: 401)
    }
    /// 403: authenticated, but not allowed.
    public static func forbidden(_ message: String) -> BerthError {
        BerthError(code: "forbidden", message: message, status: 403)
    }
    /// 404: the named resource does not exist (or the caller may not see it).
    public static func notFound(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 404)
    }
    /// 409: the request conflicts with the current state.
    public static func conflict(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 409)
    }
    /// 422: well-formed but semantically invalid input.
    public static func unprocessable(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 422)
    }
    /// 429: a cap or rate limit was hit.
    public static func tooMany(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 429)
    }
    /// 503: a dependency (store or engine) is unavailable.
    public static func unavailable(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 503)
    }
    /// 500: something failed inside Berth.
    public static func `internal`(_ code: String, _ message: String) -> BerthError {
        BerthError(code: code, message: message, status: 500)
    }
}
