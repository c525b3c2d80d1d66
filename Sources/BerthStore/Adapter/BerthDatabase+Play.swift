import BerthCore
import Foundation

/// The old ``BerthStore`` methods for settings, submissions, solves, hint unlocks, labs and
/// workspaces, forwarded to ``PlayRepository``, ``LabRepository`` and ``WorkspaceRepository``
/// until the services call the repositories themselves.
extension BerthDatabase {
    // MARK: Settings, submissions, solves and hint unlocks

    public func settings() async throws -> [String: String] {
        try await play.settings()
    }

    public func setSetting(key: String, value: String?) async throws {
        try await play.setSetting(key: key, value: value)
    }

    public func insertSubmission(_ submission: SubmissionRecord) async throws {
        try await play.insertSubmission(submission)
    }

    public func submissions(_ query: SubmissionQuery) async throws -> [SubmissionRecord] {
        try await play.submissions(query)
    }

    public func insertSolve(_ solve: SolveRecord) async throws -> Bool {
        try await play.insertSolve(solve)
    }

    public func solves(environment: String?) async throws -> [SolveRecord] {
        try await play.solves(environment: environment)
    }

    public func insertHintUnlock(_ unlock: HintUnlockRecord) async throws -> Bool {
        try await play.insertHintUnlock(unlock)
    }

    public func hintUnlocks(scorer: Owner?) async throws -> [HintUnlockRecord] {
        try await play.hintUnlocks(scorer: scorer)
    }

    // MARK: Labs

    public func labProgress(owner: Owner, environment: String) async throws -> LabProgressRecord? {
        try await labs.labProgress(owner: owner, environment: environment)
    }

    public func labProgress(environment: String?) async throws -> [LabProgressRecord] {
        try await labs.labProgress(environment: environment)
    }

    public func saveLabProgress(_ progress: LabProgressRecord) async throws {
        try await labs.saveLabProgress(progress)
    }

    public func insertLabCheck(_ check: LabCheckRecord) async throws {
        try await labs.insertLabCheck(check)
    }

    public func labChecks(_ query: LabCheckQuery) async throws -> [LabCheckRecord] {
        try await labs.labChecks(query)
    }

    public func insertLabHint(_ hint: LabHintRecord) async throws {
        try await labs.insertLabHint(hint)
    }

    public func labHints(owner: Owner?, environment: String?) async throws -> [LabHintRecord] {
        try await labs.labHints(owner: owner, environment: environment)
    }

    // MARK: Workspaces

    public func insertWorkspace(_ workspace: WorkspaceRecord) async throws {
        try await workspaces.insertWorkspace(workspace)
    }

    public func workspace(id: String) async throws -> WorkspaceRecord? {
        try await workspaces.workspace(id: id)
    }

    public func workspace(owner: Owner, environment: String) async throws -> WorkspaceRecord? {
        try await workspaces.workspace(owner: owner, environment: environment)
    }

    public func workspaces(owner: Owner?) async throws -> [WorkspaceRecord] {
        try await workspaces.workspaces(owner: owner)
    }

    @discardableResult
    public func markWorkspaceUsed(id: String, at time: Date, sizeBytes: Int64) async throws -> Bool {
        try await workspaces.markWorkspaceUsed(id: id, at: time, sizeBytes: sizeBytes)
    }

    @discardableResult
    public func saveWorkspaceSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws -> Bool {
        try await workspaces.saveWorkspaceSyncStatus(status, workspaceID: workspaceID)
    }

    @discardableResult
    public func deleteWorkspace(id: String) async throws -> Bool {
        try await workspaces.deleteWorkspace(id: id)
    }
}
