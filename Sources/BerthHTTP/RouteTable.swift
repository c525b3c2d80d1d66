import BerthCore
import Hummingbird
import HummingbirdWebSocket

/// One route the router serves, as written in the OpenAPI document (`/api/v1/instances/{id}`).
public struct ServedRoute: Hashable, Sendable, CustomStringConvertible {
    /// Lowercase HTTP method, e.g. `post`.
    public var method: String
    /// Path in OpenAPI form.
    public var path: String

    /// Creates a route description.
    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    public var description: String { "\(method.uppercased()) \(path)" }
}

/// Registers routes on a Hummingbird router and remembers each one, so a test can prove that
/// every served route is described in the OpenAPI document.
public final class RouteTable {
    /// The router routes are added to.
    public let router: Router<BerthRequestContext>
    /// Every route added so far.
    public private(set) var served: [ServedRoute] = []

    /// Creates a table over `router`.
    public init(router: Router<BerthRequestContext>) {
        self.router = router
    }

    /// Adds a route; `path` uses Hummingbird's `:name` parameters. A GET route also answers HEAD
    /// with the same status and headers and no body (`curl -I`, link checkers, monitors).
    public func on(
        _ method: HTTPRequest.Method, _ path: String,
        use handler: @escaping @Sendable (Request, BerthRequestContext) async throws -> Response
    ) {
        router.on(RouterPath(path), method: method, use: handler)
        if method == .get {
            router.on(RouterPath(path), method: .head) { request, context in
                var response = try await handler(request, context)
                response.body = ResponseBody()
                return response
            }
        }
        record(method, path)
    }

    /// Adds a WebSocket route (a GET that upgrades). `shouldUpgrade` refuses by throwing: the
    /// client gets that error as a plain HTTP answer (status and JSON envelope) before any upgrade.
    /// A GET without the upgrade headers is refused with `426 websocket_required`.
    public func webSocket(
        _ path: String,
        shouldUpgrade: @escaping @Sendable (Request, BerthRequestContext) async throws -> Void,
        onUpgrade: @escaping WebSocketUpgradeHandler
    ) {
        router.on(RouterPath(path), method: .get) { request, context in
            guard let slot = context.webSocketUpgrade else {
                throw BerthError.webSocketRequired
            }
            try await shouldUpgrade(request, context)
            slot.accept(onUpgrade, request: request, context: context)
            return Response(status: .ok)
        }
        record(.get, path)
    }

    func record(_ method: HTTPRequest.Method, _ path: String) {
        let openAPIPath = path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
        served.append(ServedRoute(method: method.rawValue.lowercased(), path: openAPIPath))
    }
}

extension BerthError {
    /// A plain GET on a WebSocket endpoint: `426 websocket_required`.
    static var webSocketRequired: BerthError {
        BerthError(code: "websocket_required", message: "This is a WebSocket endpoint: connect with a WebSocket client.", status: 426)
    }
}
