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

/// When a replica counts as dead: its heartbeat (every second) is older than this. Its terminals
/// are then taken over by the replica a client reaches, and its claims pass to the others.
public enum ReplicaLiveness {
    /// Seconds without a heartbeat after which a replica is dead.
    public static let deadAfterSeconds: Double = 4
}
