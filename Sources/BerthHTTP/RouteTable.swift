import BerthCore
import Hummingbird
import HummingbirdWebSocket
import NIOConcurrencyHelpers

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
    /// The methods each path template answers, for `405` and `Allow` on the others.
    public let methods = RouteMethods()

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
        methods.add(method.rawValue, template: openAPIPath)
        if method == .get { methods.add("HEAD", template: openAPIPath) }
    }
}

/// The methods every path template answers (`/api/v1/instances/{id}`: GET, HEAD, DELETE), so a
/// request with another method gets `405 method_not_allowed` and an `Allow` header, not a 404.
public final class RouteMethods: Sendable {
    private let templates = NIOLockedValueBox<[(segments: [Substring], methods: Set<String>)]>([])

    /// An empty set of routes.
    public init() {}

    func add(_ method: String, template: String) {
        let segments = template.split(separator: "/")
        templates.withLockedValue { list in
            if let index = list.firstIndex(where: { $0.segments == segments }) {
                list[index].methods.insert(method)
            } else {
                list.append((segments, [method]))
            }
        }
    }

    /// The methods some route answers at `path`, sorted; empty when no route has this path.
    public func allowed(at path: String) -> [String] {
        let parts = path.split(separator: "/")
        let found = templates.withLockedValue { list in
            list.filter { entry in
                entry.segments.count == parts.count
                    && zip(entry.segments, parts).allSatisfy { template, part in template.hasPrefix("{") || template == part }
            }.flatMap(\.methods)
        }
        return Set(found).sorted()
    }
}

extension BerthError {
    /// A plain GET on a WebSocket endpoint: `426 websocket_required`.
    static var webSocketRequired: BerthError {
        BerthError(.websocketRequired, "This is a WebSocket endpoint: connect with a WebSocket client.")
    }
}
