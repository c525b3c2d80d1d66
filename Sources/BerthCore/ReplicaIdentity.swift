/// One Berth server process among the replicas sharing a database: its id names it as the holder
/// of instance claims and terminals, and its internal URL is where the other replicas reach it.
public struct ReplicaIdentity: Sendable, Equatable {
    /// A new id per process (`rep_…`), so a restarted server never inherits a dead one's claims.
    public let id: String
    /// The origin other replicas use for this one's internal routes (``BerthConfiguration/internalURLOrDefault``).
    public let internalURL: String

    public init(id: String = Identifier.make("rep"), internalURL: String) {
        self.id = id
        self.internalURL = internalURL
    }
}

/// How replicas tell each other they are alive.
public enum ReplicaLiveness {
    /// How often a replica writes its heartbeat.
    public static let heartbeatSeconds = 1.0
    /// A replica whose heartbeat is older than this is dead: its claims and terminals pass to others.
    public static let deadAfterSeconds = 4.0
}
