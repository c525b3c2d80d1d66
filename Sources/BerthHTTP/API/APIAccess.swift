import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import Yams

/// Who may call an operation, as its `x-berth-access` in `openapi.yaml` says. The server registers
/// each operation in the route group of its access (``AccessGroupTransport``), so the group's
/// middleware admits or refuses the caller before any handler runs.
public enum APIAccess: String, Sendable, CaseIterable {
    /// No credentials needed; credentials that are sent but invalid are ignored.
    case `public`
    /// A bearer token or a browser session.
    case signedIn = "signed-in"
    /// A signed-in admin.
    case admin
    /// Opened with a single-use ticket (the terminal WebSocket); served by a plain Hummingbird
    /// route, not by the generated server.
    case ticket
}

/// One operation of the contract: its method, path template, id and access.
public struct ContractOperation: Hashable, Sendable {
    /// Upper-case HTTP method.
    public var method: String
    /// OpenAPI path template, `/api/v1/instances/{id}`.
    public var path: String
    /// The `operationId`.
    public var id: String
    /// Who may call it.
    public var access: APIAccess
    /// The largest request body it accepts, from `x-berth-max-body` (bytes); nil for the default
    /// ``BerthRequestContext/maxRequestBody``. File uploads declare a larger one.
    public var maxBody: Int? = nil
}

/// The operations of `openapi.yaml`, read once from the contract shipped with the server.
public struct APIContractIndex: Sendable {
    /// Every operation, in document order.
    public let operations: [ContractOperation]

    /// The contract shipped with the server.
    public static let shipped: APIContractIndex = {
        guard let text = APIContract.documentText() else { return APIContractIndex(operations: []) }
        return (try? APIContractIndex(yaml: text)) ?? APIContractIndex(operations: [])
    }()

    init(operations: [ContractOperation]) {
        self.operations = operations
    }

    /// Reads the operations of a document; an operation without a valid `x-berth-access` is an error.
    public init(yaml: String) throws {
        guard let document = try Yams.load(yaml: yaml) as? [String: Any], let paths = document["paths"] as? [String: Any] else {
            throw BerthError(.contractInvalid, "openapi.yaml has no paths.")
        }
        var operations: [ContractOperation] = []
        for (path, item) in paths {
            guard let item = item as? [AnyHashable: Any] else { continue }
            for case let (method as String, value) in item where ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) {
                guard let operation = value as? [String: Any], let id = operation["operationId"] as? String else {
                    throw BerthError(.contractInvalid, "openapi.yaml: \(method.uppercased()) \(path) has no operationId.")
                }
                guard let text = operation["x-berth-access"] as? String, let access = APIAccess(rawValue: text) else {
                    throw BerthError(.contractInvalid, "openapi.yaml: \(id) has no valid x-berth-access (public, signed-in, admin or ticket).")
                }
                let maxBody = operation["x-berth-max-body"] as? Int
                operations.append(ContractOperation(method: method.uppercased(), path: path, id: id, access: access, maxBody: maxBody))
            }
        }
        self.operations = operations.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    /// The operation served at `method` and `path` (a template as the generated server registers it).
    public func operation(method: String, path: String) -> ContractOperation? {
        operations.first { $0.method == method.uppercased() && $0.path == path }
    }
}
