import BerthCore
import Foundation

/// The local copy of workspaces, as object-storage sync reads and restores it.
public protocol WorkspaceArchiving: Sendable {
    /// Writes the workspace's files as a tar (paths relative to the workspace, symlinks kept as
    /// links, never followed) to `file`.
    func writeArchive(of workspace: WorkspaceRecord, to file: URL) async throws
    /// Replaces the workspace's local files with those of the tar at `file`, creating the local copy
    /// when there is none, and marks the local copy as holding `version`.
    func restoreArchive(from file: URL, into workspace: WorkspaceRecord, version: Int) async throws
    /// The `remoteVersion` the local copy holds; nil when this host has no local copy.
    func localVersion(of workspace: WorkspaceRecord) async -> Int?
    /// Records that the local copy now equals the uploaded `version`.
    func markLocalVersion(_ version: Int, of workspace: WorkspaceRecord) async throws
}

/// Where sync reads workspaces and keeps their sync status (the store, through the workspace service).
public protocol WorkspaceSyncLedger: Sendable {
    /// The workspace, or nil when it was deleted.
    func workspace(id: String) async throws -> WorkspaceRecord?
    /// Workspaces an instance uses right now (uploaded every interval).
    func workspacesInUse() async throws -> [WorkspaceRecord]
    /// Workspaces whose state is `pending` or `failed` (retried when due).
    func workspacesAwaitingSync() async throws -> [WorkspaceRecord]
    /// Saves a workspace's sync status.
    func saveSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws
}

/// Object-storage sync as the workspace service and the API call it.
public protocol WorkspaceSyncing: Sendable {
    /// Before an instance mounts `workspace`: restores it from object storage when this host's copy
    /// is missing or older than the last upload. Throws a ``BerthError`` (`workspace_unavailable`)
    /// when it must restore and cannot; then the start fails and nothing is lost.
    func restoreIfNeeded(_ workspace: WorkspaceRecord) async throws
    /// Uploads now and returns the new status; a failure is kept (state `failed`, retried with
    /// backoff), never thrown away.
    @discardableResult
    func sync(_ workspace: WorkspaceRecord, reason: WorkspaceSyncReason) async -> WorkspaceSyncStatus
    /// Deletes the workspace's copy in object storage (when the workspace is deleted).
    func deleteRemote(_ workspace: WorkspaceRecord) async throws
}
