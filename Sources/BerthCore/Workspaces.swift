import Foundation

/// One owner's persistent files for one environment: a user's, or a team's in team mode. It
/// outlives instances (stop, reset, expiry, a restart of Berth) until it is deleted or retention
/// removes it.
public struct WorkspaceRecord: Codable, Sendable, Equatable {
    /// `ws_…`.
    public var id: String
    /// Whose files these are.
    public var owner: Owner
    /// The environment's slug.
    public var environment: String
    /// The quota: the usable size of its file system, in bytes.
    public var sizeBytes: Int64
    /// When it was made.
    public var createdAt: Date
    /// When an instance last mounted it or its files last changed through Berth.
    public var lastUsedAt: Date
    /// Where it stands with object storage.
    public var sync: WorkspaceSyncStatus

    /// Creates a record.
    public init(
        id: String, owner: Owner, environment: String, sizeBytes: Int64, createdAt: Date, lastUsedAt: Date,
        sync: WorkspaceSyncStatus = WorkspaceSyncStatus()
    ) {
        self.id = id
        self.owner = owner
        self.environment = environment
        self.sizeBytes = sizeBytes
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.sync = sync
    }
}

/// A workspace's state with object storage (S3), shown to admins.
public struct WorkspaceSyncStatus: Codable, Sendable, Equatable {
    /// Where the workspace's copy in object storage stands.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// No object storage is configured, or nothing was uploaded yet and nothing is due.
        case localOnly = "local_only"
        /// An upload is due (the instance stopped, the interval passed, or someone asked).
        case pending
        /// The last upload succeeded and nothing changed since that Berth knows of.
        case synced
        /// The last upload failed; the local copy is kept and the upload is retried at `nextAttemptAt`.
        case failed
    }

    /// The state.
    public var state: State
    /// When the last successful upload finished.
    public var syncedAt: Date?
    /// A number that grows with each successful upload; the local copy remembers the one it holds,
    /// so a host whose copy is older (or missing) restores from object storage.
    public var remoteVersion: Int
    /// Failed attempts since the last success.
    public var attempts: Int
    /// When the next retry is due, for `failed`.
    public var nextAttemptAt: Date?
    /// The last failure, in words an admin can act on.
    public var lastError: String?

    /// Creates a status (by default: local only, nothing uploaded).
    public init(
        state: State = .localOnly, syncedAt: Date? = nil, remoteVersion: Int = 0, attempts: Int = 0,
        nextAttemptAt: Date? = nil, lastError: String? = nil
    ) {
        self.state = state
        self.syncedAt = syncedAt
        self.remoteVersion = remoteVersion
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
    }
}

/// Why a workspace is uploaded.
public enum WorkspaceSyncReason: String, Codable, Sendable {
    /// Its instance stopped (any way: stop, expiry, disconnect, reset with a clean workspace).
    case instanceStopped = "instance_stopped"
    /// The periodic upload while its instance runs.
    case interval
    /// Someone asked (`POST …/sync`).
    case requested
    /// A retry after a failure.
    case retry
}
