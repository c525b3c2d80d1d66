import BerthCore
import Foundation
import SQLKit

/// Workspaces and their sync status. A row that does not decode is a `store_row_invalid` error
/// that names it: a workspace (and the files it stands for) is never silently dropped from a list.
///
/// Methods keep the old store's names, so the `berth_store_call_duration` series keep theirs.
public struct WorkspaceRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    /// Records a new workspace; `internal_error` when its owner already has one for the
    /// environment or its id is taken (the workspace service creates each one once).
    public func insertWorkspace(_ workspace: WorkspaceRecord) async throws {
        let sync = workspace.sync
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO workspaces (id, owner_kind, owner_id, environment, size_bytes, created_at, last_used_at, sync_state, synced_at,
                    remote_version, sync_attempts, next_attempt_at, last_error)
                VALUES (\(bind: workspace.id), \(bind: workspace.owner.kind.rawValue), \(bind: workspace.owner.id), \(bind: workspace.environment),
                    \(bind: workspace.sizeBytes), \(bind: workspace.createdAt.timeIntervalSince1970), \(bind: workspace.lastUsedAt.timeIntervalSince1970),
                    \(bind: sync.state.rawValue), \(bind: sync.syncedAt?.timeIntervalSince1970), \(bind: sync.remoteVersion), \(bind: sync.attempts),
                    \(bind: sync.nextAttemptAt?.timeIntervalSince1970), \(bind: sync.lastError))
                ON CONFLICT DO NOTHING RETURNING id
                """
            ).all()
        }
        guard !inserted.isEmpty else {
            throw BerthError(
                .internalError, "Workspace \(workspace.id) already exists, or \(workspace.owner.label) already has a workspace for '\(workspace.environment)'."
            )
        }
    }

    /// The workspace with this id.
    public func workspace(id: String) async throws -> WorkspaceRecord? {
        try await sql.run { db in
            try Self.decode(try await db.raw("SELECT * FROM workspaces WHERE id = \(bind: id)").all()).first
        }
    }

    /// An owner's workspace for an environment.
    public func workspace(owner: Owner, environment: String) async throws -> WorkspaceRecord? {
        try await sql.run { db in
            try Self.decode(
                try await db.raw("SELECT * FROM workspaces WHERE \(PlayRows.owner(owner)) AND environment = \(bind: environment)").all()
            ).first
        }
    }

    /// Workspaces, optionally of one owner, oldest first.
    public func workspaces(owner: Owner?) async throws -> [WorkspaceRecord] {
        let filter = PlayRows.whereClause(owner.map { [PlayRows.owner($0)] } ?? [])
        return try await sql.run { db in
            try Self.decode(try await db.raw("SELECT * FROM workspaces \(filter) ORDER BY created_at, id").all())
        }
    }

    /// Records that an instance or Berth used the workspace at `time`, and its quota (a size
    /// change in the environment grows it). False when it does not exist.
    @discardableResult
    public func markWorkspaceUsed(id: String, at time: Date, sizeBytes: Int64) async throws -> Bool {
        try await sql.run { db in
            try await db.raw(
                "UPDATE workspaces SET last_used_at = \(bind: time.timeIntervalSince1970), size_bytes = \(bind: sizeBytes) WHERE id = \(bind: id) RETURNING id"
            ).all().isEmpty == false
        }
    }

    /// Replaces a workspace's sync status. False when it does not exist.
    @discardableResult
    public func saveWorkspaceSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws -> Bool {
        try await sql.run { db in
            try await db.raw(
                """
                UPDATE workspaces SET sync_state = \(bind: status.state.rawValue), synced_at = \(bind: status.syncedAt?.timeIntervalSince1970),
                    remote_version = \(bind: status.remoteVersion), sync_attempts = \(bind: status.attempts),
                    next_attempt_at = \(bind: status.nextAttemptAt?.timeIntervalSince1970), last_error = \(bind: status.lastError)
                WHERE id = \(bind: workspaceID) RETURNING id
                """
            ).all().isEmpty == false
        }
    }

    /// Forgets a workspace (its files are the caller's to remove). False when it did not exist.
    @discardableResult
    public func deleteWorkspace(id: String) async throws -> Bool {
        try await sql.run { db in
            try await db.raw("DELETE FROM workspaces WHERE id = \(bind: id) RETURNING id").all().isEmpty == false
        }
    }

    private static func decode(_ rows: [any SQLRow]) throws -> [WorkspaceRecord] {
        try RowDecoding.models(rows, as: WorkspaceRow.self, table: "workspaces", key: "id").map { try $0.toDomain() }
    }
}

private struct WorkspaceRow: Decodable {
    var id: String
    var ownerKind: String
    var ownerId: String
    var environment: String
    var sizeBytes: Int64
    var createdAt: Double
    var lastUsedAt: Double
    var syncState: String
    var syncedAt: Double?
    var remoteVersion: Int
    var syncAttempts: Int
    var nextAttemptAt: Double?
    var lastError: String?

    func toDomain() throws -> WorkspaceRecord {
        let row = PlayRows.Key(table: "workspaces", row: id)
        // A quota of zero or less cannot be mounted: the row was damaged, not written by Berth.
        guard sizeBytes > 0 else { throw row.invalid("size_bytes") }
        let sync = WorkspaceSyncStatus(
            state: try row.enumeration(WorkspaceSyncStatus.State.self, syncState, column: "sync_state"),
            syncedAt: syncedAt.map(Date.init(timeIntervalSince1970:)), remoteVersion: remoteVersion, attempts: syncAttempts,
            nextAttemptAt: nextAttemptAt.map(Date.init(timeIntervalSince1970:)), lastError: lastError
        )
        return WorkspaceRecord(
            id: id, owner: try row.owner(ownerKind, ownerId), environment: environment, sizeBytes: sizeBytes,
            createdAt: Date(timeIntervalSince1970: createdAt), lastUsedAt: Date(timeIntervalSince1970: lastUsedAt), sync: sync
        )
    }
}
