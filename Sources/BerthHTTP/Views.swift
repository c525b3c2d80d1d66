import BerthCore
import Foundation

/// An instance as the API shows it.
public struct InstanceView: Codable, Sendable, Equatable {
    /// Who owns an instance.
    public struct OwnerView: Codable, Sendable, Equatable {
        /// `user` or `team`.
        public var kind: String
        /// The user's or team's id.
        public var id: String
    }

    /// What the instance's terminal runs.
    public struct TerminalView: Codable, Sendable, Equatable {
        /// Command and arguments.
        public var command: [String]
        /// `uid[:gid]` or user name, nil for the image's.
        public var user: String?
        /// Working directory, nil for the image's.
        public var workdir: String?
    }

    public var id: String
    public var environment: String
    public var owner: OwnerView
    public var requestedBy: String
    public var state: String
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date
    public var maxExpiresAt: Date
    public var renewalsLeft: Int
    public var endpoints: [Endpoint]
    public var terminal: TerminalView?
    public var reason: String?
    /// The environment's `connection_info` with `{{host}}`, `{{port}}` and `{{url}}` taken from
    /// the first endpoint, while the instance is active and has one.
    public var connectionInfo: String?
    /// When Renew opens (less than half of the TTL left); nil when it cannot be renewed.
    public var renewableAt: Date?

    /// The view of `instance`, with the terminal of `environment` when it is still in the catalog.
    public init(_ instance: Instance, environment: EnvironmentSpec?) {
        id = instance.id
        self.environment = instance.environment
        owner = OwnerView(kind: instance.owner.kind.rawValue, id: instance.owner.id)
        requestedBy = instance.requestedBy
        state = instance.state.rawValue
        createdAt = instance.createdAt
        updatedAt = instance.updatedAt
        expiresAt = instance.expiresAt
        maxExpiresAt = instance.maxExpiresAt
        renewalsLeft = instance.renewalsLeft
        endpoints = instance.state.isActive ? instance.endpoints : []
        terminal = environment.map { TerminalView(command: $0.berth.terminal.command, user: $0.berth.terminal.user, workdir: $0.berth.terminal.workdir) }
        reason = instance.reason
        if let template = environment?.connectionInfo, let first = endpoints.first {
            connectionInfo = ConnectionInfo.fill(template, with: first)
        }
    }
}

/// Fills ctfcli's `connection_info` placeholders from an instance's endpoint.
public enum ConnectionInfo {
    /// `template` with `{{host}}`, `{{port}}` and `{{url}}` (spaces inside the braces allowed)
    /// replaced by the endpoint's host, published port and URL (`host:port` without one).
    /// The result is text: pages render it without HTML.
    public static func fill(_ template: String, with endpoint: Endpoint) -> String {
        let values = [
            "host": endpoint.host, "port": String(endpoint.hostPort), "url": endpoint.url ?? "\(endpoint.host):\(endpoint.hostPort)",
        ]
        var result = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let key = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
            result += values[key] ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}

/// A user as the API shows it.
public struct UserView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: String
    public var createdAt: Date

    /// The view of `user`.
    public init(_ user: User) {
        id = user.id
        name = user.name
        role = user.role.rawValue
        createdAt = user.createdAt
    }
}

/// A freshly issued token; its secret is shown only here, once.
public struct IssuedTokenView: Codable, Sendable, Equatable {
    public var id: String
    public var userId: String
    public var name: String
    public var token: String
    public var createdAt: Date
}

/// A list answer: `{"items":[...]}` so the envelope can grow (paging) without breaking callers.
public struct ListView<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]

    /// Wraps `items`.
    public init(_ items: [Item]) {
        self.items = items
    }
}
