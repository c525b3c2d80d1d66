import BerthCore
import Foundation

/// Which instances ``BerthStore/instances(_:)`` returns.
public struct InstanceQuery: Sendable {
    /// Only instances in an active state (requested, starting, running, stopping).
    public var activeOnly: Bool
    /// Only instances of this owner.
    public var owner: Owner?
    /// Only instances of this environment.
    public var environment: String?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query; the default returns the newest 500 instances.
    public init(activeOnly: Bool = false, owner: Owner? = nil, environment: String? = nil, limit: Int = 500) {
        self.activeOnly = activeOnly
        self.owner = owner
        self.environment = environment
        self.limit = limit
    }
}

/// Berth's persistent state. Callers speak in domain terms only, so SQLite (the embedded
/// default) and PostgreSQL (for replicas) can implement it without touching them.
///
/// Name clashes surface as ``BerthError`` with status 409 (`user_name_taken`, `team_name_taken`,
/// `already_member`); everything else the database reports becomes `store_unavailable`.
public protocol BerthStore: Sendable {
    /// Succeeds when the store can answer a query.
    func ping() async throws
    /// Names of the migrations applied, in order.
    func appliedMigrations() async throws -> [String]

    /// Adds a user; fails with `user_name_taken` when the name exists.
    func createUser(_ user: User) async throws
    /// The user with this id.
    func user(id: String) async throws -> User?
    /// The user with this name.
    func user(named name: String) async throws -> User?
    /// All users, oldest first.
    func users() async throws -> [User]

    /// Stores a token (only its hash).
    func createToken(_ token: APIToken) async throws
    /// The user a token hash belongs to.
    func user(forTokenHash hash: String) async throws -> User?
    /// Tokens of a user (hashes only).
    func tokens(userID: String) async throws -> [APIToken]

    /// Adds a team; fails with `team_name_taken` when the name exists.
    func createTeam(_ team: Team) async throws
    /// The team with this id.
    func team(id: String) async throws -> Team?
    /// All teams, oldest first.
    func teams() async throws -> [Team]
    /// Adds a user to a team; a user belongs to at most one team (`already_member`).
    func addMember(teamID: String, userID: String) async throws
    /// Members of a team.
    func members(teamID: String) async throws -> [User]
    /// The team a user belongs to, if any.
    func team(ofUser userID: String) async throws -> Team?

    /// Records a new instance (its intent, before the engine is called).
    func insertInstance(_ instance: Instance) async throws
    /// Replaces an instance's stored state.
    func updateInstance(_ instance: Instance) async throws
    /// The instance with this id.
    func instance(id: String) async throws -> Instance?
    /// Instances matching `query`, newest first.
    func instances(_ query: InstanceQuery) async throws -> [Instance]

    /// Appends to the event log and returns the stored record with its sequence number.
    @discardableResult
    func appendEvent(_ event: EventRecord) async throws -> EventRecord
    /// Events, newest first, optionally for one instance.
    func events(instanceID: String?, limit: Int) async throws -> [EventRecord]

    /// Records that a terminal recording started.
    func insertRecording(_ recording: RecordingRecord) async throws
    /// Records when a recording ended.
    func finishRecording(id: String, endedAt: Date) async throws
    /// The recording with this id.
    func recording(id: String) async throws -> RecordingRecord?
    /// Recordings matching `query`, newest first.
    func recordings(_ query: RecordingQuery) async throws -> [RecordingRecord]
    /// Forgets a recording (its files are the caller's to remove). False when it did not exist.
    func deleteRecording(id: String) async throws -> Bool

    /// Appends an already sealed audit entry; fails with `audit_conflict` when its sequence is taken.
    func appendAudit(_ entry: AuditEntry) async throws
    /// The entry with the largest sequence.
    func lastAuditEntry() async throws -> AuditEntry?
    /// Entries matching `query`.
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry]

    /// Revokes one of a user's tokens; false when they have no such token.
    func deleteToken(id: String, userID: String) async throws -> Bool

    /// Sets (or with nil, removes) a user's bcrypt password hash.
    func setPasswordHash(userID: String, hash: String?) async throws
    /// A user's bcrypt password hash, nil when they have no password.
    func passwordHash(userID: String) async throws -> String?
    /// Changes a user's role.
    func setRole(userID: String, role: Role) async throws
    /// The user linked to this GitHub account id.
    func user(githubID: String) async throws -> User?
    /// Links a user to a GitHub account id.
    func setGitHubID(userID: String, githubID: String) async throws

    /// Stores a new session.
    func createSession(_ session: SessionRecord) async throws
    /// The live session with this secret hash and its user (expired sessions are not returned).
    func session(secretHash: String, now: Date) async throws -> (SessionRecord, User)?
    /// Ends a session.
    func deleteSession(secretHash: String) async throws
    /// Ends every session of a user.
    func deleteSessions(userID: String) async throws

    /// Sets a team's invite code.
    func setInviteCode(teamID: String, code: String) async throws
    /// The team with this invite code.
    func team(inviteCode: String) async throws -> Team?
    /// A team's invite code.
    func inviteCode(teamID: String) async throws -> String?
    /// Removes a user from a team; false when they were not in it.
    func removeMember(teamID: String, userID: String) async throws -> Bool

    /// Every stored setting.
    func settings() async throws -> [String: String]
    /// Stores (or with nil, removes) a setting.
    func setSetting(key: String, value: String?) async throws

    /// Stores a submission.
    func insertSubmission(_ submission: SubmissionRecord) async throws
    /// Submissions matching `query`, newest first.
    func submissions(_ query: SubmissionQuery) async throws -> [SubmissionRecord]
    /// Records a solve; false when the scorer had already solved the environment.
    func insertSolve(_ solve: SolveRecord) async throws -> Bool
    /// Solves, oldest first, optionally of one environment.
    func solves(environment: String?) async throws -> [SolveRecord]
    /// Records a hint unlock; false when it was already unlocked.
    func insertHintUnlock(_ unlock: HintUnlockRecord) async throws -> Bool
    /// Hint unlocks, optionally of one scorer.
    func hintUnlocks(scorer: Owner?) async throws -> [HintUnlockRecord]

    /// An owner's progress in a lab, nil before they opened it.
    func labProgress(owner: Owner, environment: String) async throws -> LabProgressRecord?
    /// Every owner's progress, optionally in one lab, oldest start first.
    func labProgress(environment: String?) async throws -> [LabProgressRecord]
    /// Stores an owner's progress in a lab, replacing what was stored.
    func saveLabProgress(_ progress: LabProgressRecord) async throws
    /// Stores one check result.
    func insertLabCheck(_ check: LabCheckRecord) async throws
    /// Check results matching `query`, newest first.
    func labChecks(_ query: LabCheckQuery) async throws -> [LabCheckRecord]
    /// Stores one hint given.
    func insertLabHint(_ hint: LabHintRecord) async throws
    /// Hints given to an owner in a lab (every owner's with nil), oldest first.
    func labHints(owner: Owner?, environment: String?) async throws -> [LabHintRecord]

    /// Records a new workspace; fails with `internal_error` when its owner already has one for
    /// the environment or its id is taken (the workspace service creates each one once).
    func insertWorkspace(_ workspace: WorkspaceRecord) async throws
    /// The workspace with this id.
    func workspace(id: String) async throws -> WorkspaceRecord?
    /// An owner's workspace for an environment.
    func workspace(owner: Owner, environment: String) async throws -> WorkspaceRecord?
    /// Workspaces, optionally of one owner, oldest first.
    func workspaces(owner: Owner?) async throws -> [WorkspaceRecord]
    /// Records that an instance or Berth used the workspace at `time`, and its quota (a size change
    /// in the environment grows it). False when it does not exist.
    @discardableResult
    func markWorkspaceUsed(id: String, at time: Date, sizeBytes: Int64) async throws -> Bool
    /// Replaces a workspace's sync status. False when it does not exist.
    @discardableResult
    func saveWorkspaceSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws -> Bool
    /// Forgets a workspace (its files are the caller's to remove). False when it did not exist.
    @discardableResult
    func deleteWorkspace(id: String) async throws -> Bool

    /// Releases the store's connections.
    func close() async throws
}
