/// An error that reaches an API caller or CLI user: a stable code and a message that says what
/// went wrong and what to do next. It says nothing about HTTP: the HTTP layer maps each code to
/// its status in one table (`BerthError.Code.httpStatus` in BerthHTTP), which the compiler keeps
/// complete.
public struct BerthError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Stable, machine-readable codes; the raw value is what callers see (`instance_not_found`).
    public enum Code: String, Sendable, CaseIterable, CustomStringConvertible {
        case metricsTokenInvalid = "metrics_token_invalid"
        case notReady = "not_ready"
        case noCapacity = "no_capacity"
        case swarmUnsupported = "swarm_unsupported"
        case alreadyMember = "already_member"
        case analysisInvalid = "analysis_invalid"
        case assetMissing = "asset_missing"
        case assetNotFound = "asset_not_found"
        case attachmentNotFound = "attachment_not_found"
        case attachmentUnreadable = "attachment_unreadable"
        case attemptsExhausted = "attempts_exhausted"
        case auditConflict = "audit_conflict"
        case auditEntryInvalid = "audit_entry_invalid"
        case badRequest = "bad_request"
        case bodyTooLarge = "body_too_large"
        case buildFailed = "build_failed"
        case buildUnsupported = "build_unsupported"
        case cannotDemoteSelf = "cannot_demote_self"
        case checkInProgress = "check_in_progress"
        case contractInvalid = "contract_invalid"
        case contractUnavailable = "contract_unavailable"
        case csrfFailed = "csrf_failed"
        case dataDirUnavailable = "data_dir_unavailable"
        case engineUnavailable = "engine_unavailable"
        case environmentDisabled = "environment_disabled"
        case environmentLocked = "environment_locked"
        case environmentNotFound = "environment_not_found"
        case environmentRemoved = "environment_removed"
        case environmentsNotFound = "environments_not_found"
        case flagSecretInvalid = "flag_secret_invalid"
        case flagSecretUnavailable = "flag_secret_unavailable"
        case flagSecretUnwritable = "flag_secret_unwritable"
        case flagWriteFailed = "flag_write_failed"
        case folderNotFound = "folder_not_found"
        case forbidden = "forbidden"
        case githubCodeRejected = "github_code_rejected"
        case githubDenied = "github_denied"
        case githubLoginInvalid = "github_login_invalid"
        case githubNotConfigured = "github_not_configured"
        case githubStateMismatch = "github_state_mismatch"
        case githubUnavailable = "github_unavailable"
        case globalCapReached = "global_cap_reached"
        case hintNotFound = "hint_not_found"
        case hostFirewallUnavailable = "host_firewall_unavailable"
        case imageNotBuilt = "image_not_built"
        case imageNotFound = "image_not_found"
        case instanceBusy = "instance_busy"
        case instanceExists = "instance_exists"
        case instanceNotActive = "instance_not_active"
        case instanceNotFound = "instance_not_found"
        case instanceNotRunning = "instance_not_running"
        case instanceResetFailed = "instance_reset_failed"
        case instanceStartFailed = "instance_start_failed"
        case internalError = "internal_error"
        case invalidAccess = "invalid_access"
        case invalidBody = "invalid_body"
        case invalidConfig = "invalid_config"
        case invalidCredentials = "invalid_credentials"
        case invalidFlag = "invalid_flag"
        case invalidName = "invalid_name"
        case invalidQuery = "invalid_query"
        case invalidRange = "invalid_range"
        case invalidReference = "invalid_reference"
        case invalidRequest = "invalid_request"
        case invalidRole = "invalid_role"
        case invalidSetting = "invalid_setting"
        case invalidTerminal = "invalid_terminal"
        case invalidThreshold = "invalid_threshold"
        case maxLifetimeReached = "max_lifetime_reached"
        case methodNotAllowed = "method_not_allowed"
        case metricsDisabled = "metrics_disabled"
        case metricsNotHere = "metrics_not_here"
        case namespaceInUse = "namespace_in_use"
        case noFlag = "no_flag"
        case noInstance = "no_instance"
        case notALab = "not_a_lab"
        case notAcceptable = "not_acceptable"
        case originNotAllowed = "origin_not_allowed"
        case ownerCapReached = "owner_cap_reached"
        case portsExhausted = "ports_exhausted"
        case recordingDeleteFailed = "recording_delete_failed"
        case recordingExists = "recording_exists"
        case recordingFileMissing = "recording_file_missing"
        case recordingKeyNotFound = "recording_key_not_found"
        case recordingKeyUnavailable = "recording_key_unavailable"
        case recordingLive = "recording_live"
        case recordingNotFound = "recording_not_found"
        case registrationClosed = "registration_closed"
        case renewTooEarly = "renew_too_early"
        case renewalLimitReached = "renewal_limit_reached"
        case replicaGrantInvalid = "replica_grant_invalid"
        case routeNotFound = "route_not_found"
        case serverIdInvalid = "server_id_invalid"
        case serverIdUnavailable = "server_id_unavailable"
        case sessionExists = "session_exists"
        case storeConflict = "store_conflict"
        case storeRowInvalid = "store_row_invalid"
        case storeUnavailable = "store_unavailable"
        case submissionExists = "submission_exists"
        case teamNameTaken = "team_name_taken"
        case teamNotFound = "team_not_found"
        case teamRequired = "team_required"
        case ticketInvalid = "ticket_invalid"
        case ticketRequired = "ticket_required"
        case ticketWrongTerminal = "ticket_wrong_terminal"
        case tokenExists = "token_exists"
        case tokenNotFound = "token_not_found"
        case tooManyAttempts = "too_many_attempts"
        case tooManyHints = "too_many_hints"
        case tooManySubmissions = "too_many_submissions"
        case unauthorized = "unauthorized"
        case unsupportedMediaType = "unsupported_media_type"
        case userNameTaken = "user_name_taken"
        case userNotFound = "user_not_found"
        case weakPassword = "weak_password"
        case websocketRequired = "websocket_required"
        // The instance file API.
        case directoryNotEmpty = "directory_not_empty"
        case fileChanged = "file_changed"
        case fileNotFound = "file_not_found"
        case fileOperationFailed = "file_operation_failed"
        case filePermissionDenied = "file_permission_denied"
        case filesUnavailable = "files_unavailable"
        case fileTooLarge = "file_too_large"
        case notADirectory = "not_a_directory"
        case notAFile = "not_a_file"
        case pathNotAllowed = "path_not_allowed"
        // Workspaces and their object-storage sync.
        case workspaceFull = "workspace_full"
        case workspaceInUse = "workspace_in_use"
        case workspaceInvalidArchive = "workspace_invalid_archive"
        case workspaceNotFound = "workspace_not_found"
        case workspaceUnavailable = "workspace_unavailable"
        case objectStorageUnavailable = "object_storage_unavailable"

        /// The code as callers see it, also in logs and string interpolation.
        public var description: String { rawValue }
    }

    /// What went wrong, by kind.
    public var code: Code
    /// Human-readable explanation; never contains secrets.
    public var message: String
    /// Seconds until the caller may try again, for rate limits (HTTP answers it as `Retry-After`).
    public var retryAfterSeconds: Int?

    /// Creates an error with `code` and `message`.
    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// No or invalid credentials, with the usual advice.
    public static func unauthorized(_ message: String = "Send a valid token as 'Authorization: Bearer <token>'.") -> BerthError {
        BerthError(.unauthorized, message)
    }
}
