/// A named schema change. Migrations are only ever appended, never edited: a store applies
/// those whose names it has not recorded yet, in order.
public struct Migration: Sendable {
    /// Unique, stable name, e.g. `0001_initial`.
    public var name: String
    /// Statements run in one transaction.
    public var statements: [String]
}

/// The SQLite schema history.
enum SQLiteMigrations {
    static let all: [Migration] = [
        Migration(name: "0001_initial", statements: [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, created_at REAL NOT NULL)
            """,
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)
            """,
            """
            CREATE TABLE teams (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)
            """,
            """
            CREATE TABLE memberships (
                team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
                user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
                PRIMARY KEY (team_id, user_id))
            """,
            """
            CREATE TABLE instances (
                id TEXT PRIMARY KEY, environment TEXT NOT NULL, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
                requested_by TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
                expires_at REAL NOT NULL, max_expires_at REAL NOT NULL, renewals_left INTEGER NOT NULL,
                container_id TEXT, network_id TEXT, endpoints TEXT NOT NULL DEFAULT '[]', reason TEXT)
            """,
            "CREATE INDEX instances_owner ON instances(owner_kind, owner_id, state)",
            "CREATE INDEX instances_state ON instances(state)",
            """
            CREATE TABLE events (
                sequence INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, kind TEXT NOT NULL,
                instance_id TEXT, user_id TEXT, detail TEXT NOT NULL DEFAULT '')
            """,
            "CREATE INDEX events_instance ON events(instance_id, sequence)",
        ]),
        Migration(name: "0002_recordings", statements: [
            """
            CREATE TABLE recordings (
                id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, environment TEXT NOT NULL, owner_kind TEXT NOT NULL,
                owner_id TEXT NOT NULL, terminal TEXT NOT NULL, path TEXT NOT NULL UNIQUE, started_at REAL NOT NULL,
                ended_at REAL)
            """,
            "CREATE INDEX recordings_instance ON recordings(instance_id, started_at)",
            "CREATE INDEX recordings_owner ON recordings(owner_kind, owner_id, started_at)",
            "CREATE INDEX recordings_environment ON recordings(environment, started_at)",
        ]),
        Migration(name: "0003_audit", statements: [
            """
            CREATE TABLE audit_log (
                sequence INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor_id TEXT, actor_name TEXT, actor_role TEXT,
                client_ip TEXT, user_agent TEXT, action TEXT NOT NULL, target TEXT, status INTEGER NOT NULL,
                result TEXT NOT NULL, detail TEXT, previous_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX audit_actor ON audit_log(actor_id, sequence)",
            "CREATE INDEX audit_target ON audit_log(target, sequence)",
            "CREATE INDEX audit_time ON audit_log(time_ms)",
        ]),
        Migration(name: "0004_play", statements: [
            // Names differ by more than case, so nobody can pass for someone else.
            "CREATE UNIQUE INDEX users_name_nocase ON users(name COLLATE NOCASE)",
            "CREATE UNIQUE INDEX teams_name_nocase ON teams(name COLLATE NOCASE)",
            "ALTER TABLE users ADD COLUMN password_hash TEXT",
            "ALTER TABLE users ADD COLUMN github_id TEXT",
            "CREATE UNIQUE INDEX users_github ON users(github_id) WHERE github_id IS NOT NULL",
            "ALTER TABLE teams ADD COLUMN invite_code TEXT",
            "CREATE UNIQUE INDEX teams_invite ON teams(invite_code) WHERE invite_code IS NOT NULL",
            """
            CREATE TABLE sessions (
                secret_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at REAL NOT NULL, expires_at REAL NOT NULL, client_ip TEXT, user_agent TEXT)
            """,
            "CREATE INDEX sessions_user ON sessions(user_id)",
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
            """
            CREATE TABLE submissions (
                id TEXT PRIMARY KEY, time REAL NOT NULL, user_id TEXT NOT NULL, scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL,
                environment TEXT NOT NULL, submitted TEXT NOT NULL, outcome TEXT NOT NULL, shared_from_instance TEXT,
                shared_from_owner TEXT, client_ip TEXT)
            """,
            "CREATE INDEX submissions_environment ON submissions(environment, time)",
            "CREATE INDEX submissions_scorer ON submissions(scorer_kind, scorer_id, time)",
            "CREATE INDEX submissions_user ON submissions(user_id, time)",
            """
            CREATE TABLE solves (
                scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL, environment TEXT NOT NULL, user_id TEXT NOT NULL,
                time REAL NOT NULL, PRIMARY KEY (scorer_kind, scorer_id, environment))
            """,
            "CREATE INDEX solves_environment ON solves(environment, time)",
            """
            CREATE TABLE hint_unlocks (
                scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL, environment TEXT NOT NULL, hint INTEGER NOT NULL,
                user_id TEXT NOT NULL, cost INTEGER NOT NULL, time REAL NOT NULL,
                PRIMARY KEY (scorer_kind, scorer_id, environment, hint))
            """,
        ]),
        Migration(name: "0005_labs", statements: [
            // One row per owner and lab, keyed without the instance so progress outlives it. The
            // steps reached are one JSON column, so a check's advance is one atomic statement.
            """
            CREATE TABLE lab_progress (
                owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL, current_step TEXT,
                steps TEXT NOT NULL, started_at REAL NOT NULL, updated_at REAL NOT NULL, completed_at REAL,
                PRIMARY KEY (owner_kind, owner_id, environment))
            """,
            "CREATE INDEX lab_progress_environment ON lab_progress(environment)",
            """
            CREATE TABLE lab_checks (
                id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
                user_id TEXT NOT NULL, instance_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
                failures TEXT NOT NULL, metrics TEXT NOT NULL, notes TEXT NOT NULL, exit_code INTEGER,
                duration_ms INTEGER NOT NULL, operator_detail TEXT, time REAL NOT NULL)
            """,
            "CREATE INDEX lab_checks_owner ON lab_checks(owner_kind, owner_id, environment, time)",
            "CREATE INDEX lab_checks_environment ON lab_checks(environment, time)",
            """
            CREATE TABLE lab_hints (
                id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
                user_id TEXT NOT NULL, instance_id TEXT NOT NULL, step TEXT NOT NULL, source TEXT NOT NULL,
                authored_index INTEGER, time REAL NOT NULL)
            """,
            "CREATE INDEX lab_hints_owner ON lab_hints(owner_kind, owner_id, environment, time)",
        ]),
        Migration(name: "0006_workspaces", statements: [
            // One row per owner and environment: the workspace outlives instances, so it is keyed
            // without them. The sync status columns are the object-storage copy's state.
            """
            CREATE TABLE workspaces (
                id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
                size_bytes INTEGER NOT NULL, created_at REAL NOT NULL, last_used_at REAL NOT NULL,
                sync_state TEXT NOT NULL DEFAULT 'local_only', synced_at REAL, remote_version INTEGER NOT NULL DEFAULT 0,
                sync_attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL, last_error TEXT,
                UNIQUE (owner_kind, owner_id, environment))
            """,
            "CREATE INDEX workspaces_last_used ON workspaces(last_used_at)",
        ]),
    ]
}
