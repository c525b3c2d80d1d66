import BerthCore
import Foundation
import SQLiteNIO

/// Workspaces and their sync status. A row that does not decode is a `store_row_invalid` error
/// that names it: a workspace (and the files it stands for) is never silently dropped from a list.
extension SQLiteStore {
    public func insertWorkspace(_ workspace: WorkspaceRecord) async throws {
        let sync = workspace.sync
        try await insert(
            """
            INSERT INTO workspaces (id, owner_kind, owner_id, environment, size_bytes, created_at, last_used_at, sync_state, synced_at,
                remote_version, sync_attempts, next_attempt_at, last_error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(workspace.id), .text(workspace.owner.kind.rawValue), .text(workspace.owner.id), .text(workspace.environment),
                .integer(Int(workspace.sizeBytes)), .float(workspace.createdAt.timeIntervalSince1970),
                .float(workspace.lastUsedAt.timeIntervalSince1970),
            ] + Self.syncBinds(sync),
            conflict: BerthError(
                .internalError, "Workspace \(workspace.id) already exists, or \(workspace.owner.label) already has a workspace for '\(workspace.environment)'."
            )
        )
    }

    public func workspace(id: String) async throws -> WorkspaceRecord? {
        try await run("SELECT * FROM workspaces WHERE id = ?", [.text(id)]).first.map(Self.workspace)
    }

    public func workspace(owner: Owner, environment: String) async throws -> WorkspaceRecord? {
        try await run(
            "SELECT * FROM workspaces WHERE owner_kind = ? AND owner_id = ? AND environment = ?",
            [.text(owner.kind.rawValue), .text(owner.id), .text(environment)]
        ).first.map(Self.workspace)
    }

    public func workspaces(owner: Owner?) async throws -> [WorkspaceRecord] {
        var filter = SQLFilter()
        filter.owner(owner)
        return try await run("SELECT * FROM workspaces \(filter.whereClause) ORDER BY created_at, id", filter.binds).map(Self.workspace)
    }

    @discardableResult
    public func markWorkspaceUsed(id: String, at time: Date, sizeBytes: Int64) async throws -> Bool {
        try await run(
            "UPDATE workspaces SET last_used_at = ?, size_bytes = ? WHERE id = ? RETURNING id",
            [.float(time.timeIntervalSince1970), .integer(Int(sizeBytes)), .text(id)]
        ).isEmpty == false
    }

    @discardableResult
    public func saveWorkspaceSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws -> Bool {
        try await run(
            """
            UPDATE workspaces SET sync_state = ?, synced_at = ?, remote_version = ?, sync_attempts = ?, next_attempt_at = ?, last_error = ?
            WHERE id = ? RETURNING id
            """,
            Self.syncBinds(status) + [.text(workspaceID)]
        ).isEmpty == false
    }

    @discardableResult
    public func deleteWorkspace(id: String) async throws -> Bool {
        try await run("DELETE FROM workspaces WHERE id = ? RETURNING id", [.text(id)]).isEmpty == false
    }

    private static func syncBinds(_ sync: WorkspaceSyncStatus) -> [SQLiteData] {
        [
            .text(sync.state.rawValue), sync.syncedAt.map { .float($0.timeIntervalSince1970) } ?? .null, .integer(sync.remoteVersion),
            .integer(sync.attempts), sync.nextAttemptAt.map { .float($0.timeIntervalSince1970) } ?? .null, optional(sync.lastError),
        ]
    }

    private static func workspace(_ row: SQLiteRow) throws -> WorkspaceRecord {
        let reader = RowReader(row: row, name: "workspaces(\(row.column("id")?.string ?? "?"))")
        let sync = WorkspaceSyncStatus(
            state: try reader.enumeration(WorkspaceSyncStatus.State.self, "sync_state"), syncedAt: try reader.optionalDate("synced_at"),
            remoteVersion: try reader.integer("remote_version"), attempts: try reader.integer("sync_attempts"),
            nextAttemptAt: try reader.optionalDate("next_attempt_at"), lastError: reader.optionalText("last_error")
        )
        let size = try reader.integer("size_bytes")
        guard size > 0 else { throw reader.invalid("size_bytes") }
        return WorkspaceRecord(
            id: try reader.text("id"), owner: try reader.owner(), environment: try reader.text("environment"), sizeBytes: Int64(size),
            createdAt: try reader.date("created_at"), lastUsedAt: try reader.date("last_used_at"), sync: sync
        )
    }
}
