import Foundation

/// The role a user holds: players touch only their own instances, admins see and touch everything.
public enum Role: String, Codable, Sendable, CaseIterable {
    case player
    case admin
}

/// A person (or integration) known to Berth.
public struct User: Codable, Sendable, Equatable {
    /// Opaque identifier, `usr_…`.
    public var id: String
    /// Unique display name.
    public var name: String
    /// What the user may do.
    public var role: Role
    /// When the user was created.
    public var createdAt: Date

    /// Creates a user value.
    public init(id: String, name: String, role: Role, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}

/// A group of users that can own instances together in per-team assignment mode.
public struct Team: Codable, Sendable, Equatable {
    /// Opaque identifier, `team_…`.
    public var id: String
    /// Unique display name.
    public var name: String
    /// When the team was created.
    public var createdAt: Date

    /// Creates a team value.
    public init(id: String, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// A bearer token; only the SHA-256 hash of its secret is ever stored.
public struct APIToken: Codable, Sendable, Equatable {
    /// Opaque identifier, `tok_…`.
    public var id: String
    /// The user the token acts as.
    public var userID: String
    /// A label chosen by whoever created it.
    public var name: String
    /// Lowercase hex SHA-256 of the secret.
    public var secretHash: String
    /// When the token was created.
    public var createdAt: Date

    /// Creates a token record.
    public init(id: String, userID: String, name: String, secretHash: String, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.name = name
        self.secretHash = secretHash
        self.createdAt = createdAt
    }
}

/// Who owns an instance: a single user or a team.
public struct Owner: Codable, Sendable, Hashable {
    /// Whether the owner is a user or a team.
    public enum Kind: String, Codable, Sendable {
        case user
        case team
    }

    /// User or team.
    public var kind: Kind
    /// The user's or team's identifier.
    public var id: String

    /// Creates an owner reference.
    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    /// The owner as stored and labelled on containers: `user:usr_…` or `team:team_…`.
    public var label: String { "\(kind.rawValue):\(id)" }

    /// Parses a label written by ``label``.
    public init?(label: String) {
        let parts = label.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = Kind(rawValue: parts[0]) else { return nil }
        self.init(kind: kind, id: parts[1])
    }
}

/// Where an instance is in its life.
public enum InstanceState: String, Codable, Sendable, CaseIterable {
    case requested
    case starting
    case running
    case stopping
    case stopped
    case failed
    case expired

    /// True while the instance holds (or is about to hold) a container and counts against caps.
    public var isActive: Bool {
        switch self {
        case .requested, .starting, .running, .stopping: true
        case .stopped, .failed, .expired: false
        }
    }
}

/// The protocol a published service port speaks.
public enum PortProtocol: String, Codable, Sendable {
    case http
    case tcp
}

/// A published service port of a running instance.
public struct Endpoint: Codable, Sendable, Equatable {
    /// The port inside the container.
    public var port: Int
    /// What it speaks.
    public var `protocol`: PortProtocol
    /// The host name or address a player connects to.
    public var host: String
    /// The port on that host.
    public var hostPort: Int
    /// A URL to open, set for `http` ports.
    public var url: String?

    /// Creates an endpoint.
    public init(port: Int, protocol: PortProtocol, host: String, hostPort: Int, url: String?) {
        self.port = port
        self.protocol = `protocol`
        self.host = host
        self.hostPort = hostPort
        self.url = url
    }
}

/// One container created from an environment for an owner.
public struct Instance: Codable, Sendable, Equatable {
    /// Opaque identifier, `inst_…`.
    public var id: String
    /// The environment's slug.
    public var environment: String
    /// Who owns it.
    public var owner: Owner
    /// The user who asked for it.
    public var requestedBy: String
    /// Current state.
    public var state: InstanceState
    /// When it was requested.
    public var createdAt: Date
    /// When the state last changed.
    public var updatedAt: Date
    /// When the reaper removes it unless renewed.
    public var expiresAt: Date
    /// The latest `expiresAt` renewals may reach.
    public var maxExpiresAt: Date
    /// How many more renewals are allowed.
    public var renewalsLeft: Int
    /// The engine's container identifier, once created.
    public var containerID: String?
    /// The per-instance network, when the environment has one.
    public var networkID: String?
    /// Published service ports.
    public var endpoints: [Endpoint]
    /// Why the instance failed, stopped or expired, when known.
    public var reason: String?

    /// Creates an instance value.
    public init(
        id: String, environment: String, owner: Owner, requestedBy: String, state: InstanceState,
        createdAt: Date, updatedAt: Date, expiresAt: Date, maxExpiresAt: Date, renewalsLeft: Int,
        containerID: String? = nil, networkID: String? = nil, endpoints: [Endpoint] = [], reason: String? = nil
    ) {
        self.id = id
        self.environment = environment
        self.owner = owner
        self.requestedBy = requestedBy
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
        self.maxExpiresAt = maxExpiresAt
        self.renewalsLeft = renewalsLeft
        self.containerID = containerID
        self.networkID = networkID
        self.endpoints = endpoints
        self.reason = reason
    }
}

/// One line of the append-only event log: what happened, to what, and who did it.
public struct EventRecord: Codable, Sendable, Equatable {
    /// Monotonic sequence number assigned by the store (0 before it is stored).
    public var sequence: Int64
    /// When it happened.
    public var time: Date
    /// What happened, e.g. `instance.requested`.
    public var kind: String
    /// The instance concerned, if any.
    public var instanceID: String?
    /// The user who caused it, if any.
    public var userID: String?
    /// Free-form detail (never secrets).
    public var detail: String

    /// Creates an event.
    public init(sequence: Int64 = 0, time: Date, kind: String, instanceID: String? = nil, userID: String? = nil, detail: String = "") {
        self.sequence = sequence
        self.time = time
        self.kind = kind
        self.instanceID = instanceID
        self.userID = userID
        self.detail = detail
    }
}

/// A terminal recording: one asciicast file (and its hash chain) per terminal of an instance.
public struct RecordingRecord: Codable, Sendable, Equatable {
    /// Opaque identifier, `rec_…`.
    public var id: String
    /// The instance recorded.
    public var instanceID: String
    /// Its environment's slug.
    public var environment: String
    /// The instance's owner.
    public var owner: Owner
    /// The terminal (tab) name.
    public var terminal: String
    /// The `.cast` file, relative to the data directory.
    public var path: String
    /// When recording started.
    public var startedAt: Date
    /// When the terminal ended, nil while it is live.
    public var endedAt: Date?

    /// Creates a record.
    public init(
        id: String, instanceID: String, environment: String, owner: Owner, terminal: String, path: String,
        startedAt: Date, endedAt: Date? = nil
    ) {
        self.id = id
        self.instanceID = instanceID
        self.environment = environment
        self.owner = owner
        self.terminal = terminal
        self.path = path
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// Which recordings ``RecordingQuery`` selects; nil fields do not filter.
public struct RecordingQuery: Sendable {
    /// Only this instance's.
    public var instanceID: String?
    /// Only instances owned by this owner.
    public var owner: Owner?
    /// Only this environment's.
    public var environment: String?
    /// Only recordings that ended before this time (live ones never match).
    public var endedBefore: Date?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query; the default returns the newest 500.
    public init(instanceID: String? = nil, owner: Owner? = nil, environment: String? = nil, endedBefore: Date? = nil, limit: Int = 500) {
        self.instanceID = instanceID
        self.owner = owner
        self.environment = environment
        self.endedBefore = endedBefore
        self.limit = limit
    }
}
