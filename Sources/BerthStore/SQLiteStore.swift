import BerthCore
import BerthMetrics
import Foundation
import Logging
import SQLiteNIO

/// The embedded store: one SQLite file (`<data-dir>/berth.db`) in WAL mode.
public actor SQLiteStore: BerthStore {
    private let connection: SQLiteConnection
    private let logger: Logger
    private let metrics: BerthMetrics?

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// Pass `nil` for an in-memory database.
    /// Names of every migration this version knows, in order.
    public static var migrationNames: [String] { StoreMigrations.all.map(\.name) }

    /// With `metrics`, every statement's duration is recorded under the store method that ran it.
    public static func open(path: String?, logger: Logger = Logger(label: "berth.store"), metrics: BerthMetrics? = nil) async throws -> SQLiteStore {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: path.map { .file(path: $0) } ?? .memory, logger: logger)
        } catch {
            throw BerthError(.storeUnavailable, "cannot open the database at \(path ?? ":memory:"): \(error)")
        }
        let store = SQLiteStore(connection: connection, logger: logger, metrics: metrics)
        try await store.prepare()
        return store
    }

    private init(connection: SQLiteConnection, logger: Logger, metrics: BerthMetrics?) {
        self.connection = connection
        self.logger = logger
        self.metrics = metrics
    }

    private func prepare() async throws {
        _ = try await run("PRAGMA journal_mode = WAL")
        _ = try await run("PRAGMA busy_timeout = 5000")
        _ = try await run("PRAGMA foreign_keys = ON")
        _ = try await run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        let applied = Set(try await appliedMigrations())
        for migration in StoreMigrations.all where !applied.contains(migration.name) {
            _ = try await run("BEGIN IMMEDIATE")
            do {
                for statement in migration.sqlite { _ = try await run(statement) }
                _ = try await run("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", [.text(migration.name), .float(Date().timeIntervalSince1970)])
                _ = try await run("COMMIT")
                logger.info("applied migration", metadata: ["migration.name": "\(migration.name)"])
            } catch {
                _ = try? await run("ROLLBACK")
                throw error
            }
        }
    }

    public func ping() async throws {
        _ = try await run("SELECT 1")
    }

    public func appliedMigrations() async throws -> [String] {
        try await run("SELECT name FROM schema_migrations ORDER BY name").compactMap { $0.column("name")?.string }
    }

    // MARK: Users and tokens

    public func createUser(_ user: User) async throws {
        try await insert(
            "INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, ?)",
            [.text(user.id), .text(user.name), .text(user.role.rawValue), .float(user.createdAt.timeIntervalSince1970)],
            conflict: BerthError(.userNameTaken, "A user named '\(user.name)' already exists; choose another name.")
        )
    }

    public func user(id: String) async throws -> User? {
        try await run("SELECT * FROM users WHERE id = ?", [.text(id)]).first.flatMap(Self.user)
    }

    public func user(named name: String) async throws -> User? {
        try await run("SELECT * FROM users WHERE name = ? COLLATE NOCASE", [.text(name)]).first.flatMap(Self.user)
    }

    public func users() async throws -> [User] {
        try await run("SELECT * FROM users ORDER BY created_at, id").compactMap(Self.user)
    }

    public func createToken(_ token: APIToken) async throws {
        try await insert(
            "INSERT INTO api_tokens (id, user_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(token.id), .text(token.userID), .text(token.name), .text(token.secretHash), .float(token.createdAt.timeIntervalSince1970)],
            conflict: BerthError(.tokenExists, "That token already exists.")
        )
    }

    public func user(forTokenHash hash: String) async throws -> User? {
        try await run(
            "SELECT users.* FROM users JOIN api_tokens ON api_tokens.user_id = users.id WHERE api_tokens.secret_hash = ?", [.text(hash)]
        ).first.flatMap(Self.user)
    }

    public func tokens(userID: String) async throws -> [APIToken] {
        try await run("SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at", [.text(userID)]).compactMap { row in
            guard let id = row.column("id")?.string, let user = row.column("user_id")?.string, let name = row.column("name")?.string,
                  let hash = row.column("secret_hash")?.string, let created = row.column("created_at")?.double
            else { return nil }
            return APIToken(id: id, userID: user, name: name, secretHash: hash, createdAt: Date(timeIntervalSince1970: created))
        }
    }

    // MARK: Teams

    public func createTeam(_ team: Team) async throws {
        try await insert(
            "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)",
            [.text(team.id), .text(team.name), .float(team.createdAt.timeIntervalSince1970)],
            conflict: BerthError(.teamNameTaken, "A team named '\(team.name)' already exists; choose another name.")
        )
    }

    public func team(id: String) async throws -> Team? {
        try await run("SELECT * FROM teams WHERE id = ?", [.text(id)]).first.flatMap(Self.team)
    }

    public func teams() async throws -> [Team] {
        try await run("SELECT * FROM teams ORDER BY created_at, id").compactMap(Self.team)
    }

    public func addMember(teamID: String, userID: String) async throws {
        try await insert(
            "INSERT INTO memberships (team_id, user_id) VALUES (?, ?)", [.text(teamID), .text(userID)],
            conflict: BerthError(.alreadyMember, "That user already belongs to a team; a user can be in one team only.")
        )
    }

    public func members(teamID: String) async throws -> [User] {
        try await run(
            "SELECT users.* FROM users JOIN memberships ON memberships.user_id = users.id WHERE memberships.team_id = ? ORDER BY users.name",
            [.text(teamID)]
        ).compactMap(Self.user)
    }

    public func team(ofUser userID: String) async throws -> Team? {
        try await run(
            "SELECT teams.* FROM teams JOIN memberships ON memberships.team_id = teams.id WHERE memberships.user_id = ?", [.text(userID)]
        ).first.flatMap(Self.team)
    }

    // MARK: Instances

    public func insertInstance(_ instance: Instance) async throws {
        try await insert(
            """
            INSERT INTO instances (id, environment, owner_kind, owner_id, requested_by, state, created_at, updated_at,
                expires_at, max_expires_at, renewals_left, container_id, network_id, endpoints, reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            try Self.binds(instance),
            conflict: BerthError(.instanceExists, "Instance \(instance.id) already exists.")
        )
    }

    public func updateInstance(_ instance: Instance) async throws {
        var binds = try Self.binds(instance)
        binds.append(binds.removeFirst())
        _ = try await run(
            """
            UPDATE instances SET environment = ?, owner_kind = ?, owner_id = ?, requested_by = ?, state = ?, created_at = ?,
                updated_at = ?, expires_at = ?, max_expires_at = ?, renewals_left = ?, container_id = ?, network_id = ?,
                endpoints = ?, reason = ?
            WHERE id = ?
            """,
            binds
        )
    }

    public func instance(id: String) async throws -> Instance? {
        try await run("SELECT * FROM instances WHERE id = ?", [.text(id)]).first.flatMap(Self.instance)
    }

    public func instances(_ query: InstanceQuery) async throws -> [Instance] {
        var filter = SQLFilter()
        if query.activeOnly {
            let active = InstanceState.allCases.filter(\.isActive)
            filter.add("state IN (\(active.map { _ in "?" }.joined(separator: ", ")))", active.map { .text($0.rawValue) })
        }
        filter.owner(query.owner)
        filter.equals("environment", query.environment)
        let binds = filter.binds + [.integer(max(1, query.limit))]
        return try await run("SELECT * FROM instances \(filter.whereClause) ORDER BY created_at DESC, id LIMIT ?", binds).compactMap(Self.instance)
    }

    // MARK: Events

    @discardableResult
    public func appendEvent(_ event: EventRecord) async throws -> EventRecord {
        let rows = try await run(
            "INSERT INTO events (time, kind, instance_id, user_id, detail) VALUES (?, ?, ?, ?, ?) RETURNING sequence",
            [.float(event.time.timeIntervalSince1970), .text(event.kind), Self.optional(event.instanceID), Self.optional(event.userID), .text(event.detail)]
        )
        var stored = event
        stored.sequence = Int64(rows.first?.column("sequence")?.integer ?? 0)
        return stored
    }

    public func events(instanceID: String?, limit: Int) async throws -> [EventRecord] {
        let rows: [SQLiteRow]
        if let instanceID {
            rows = try await run("SELECT * FROM events WHERE instance_id = ? ORDER BY sequence DESC LIMIT ?", [.text(instanceID), .integer(limit)])
        } else {
            rows = try await run("SELECT * FROM events ORDER BY sequence DESC LIMIT ?", [.integer(limit)])
        }
        return rows.compactMap { row in
            guard let sequence = row.column("sequence")?.integer, let time = row.column("time")?.double, let kind = row.column("kind")?.string
            else { return nil }
            return EventRecord(
                sequence: Int64(sequence), time: Date(timeIntervalSince1970: time), kind: kind,
                instanceID: row.column("instance_id")?.string, userID: row.column("user_id")?.string,
                detail: row.column("detail")?.string ?? ""
            )
        }
    }

    // MARK: Recordings

    public func insertRecording(_ recording: RecordingRecord) async throws {
        try await insert(
            """
            INSERT INTO recordings (id, instance_id, environment, owner_kind, owner_id, terminal, path, started_at, ended_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(recording.id), .text(recording.instanceID), .text(recording.environment), .text(recording.owner.kind.rawValue),
                .text(recording.owner.id), .text(recording.terminal), .text(recording.path),
                .float(recording.startedAt.timeIntervalSince1970), recording.endedAt.map { .float($0.timeIntervalSince1970) } ?? .null,
            ],
            conflict: BerthError(.recordingExists, "Recording \(recording.id) already exists.")
        )
    }

    public func finishRecording(id: String, endedAt: Date) async throws {
        _ = try await run("UPDATE recordings SET ended_at = ? WHERE id = ?", [.float(endedAt.timeIntervalSince1970), .text(id)])
    }

    public func recording(id: String) async throws -> RecordingRecord? {
        try await run("SELECT * FROM recordings WHERE id = ?", [.text(id)]).first.flatMap(Self.recording)
    }

    public func recordings(_ query: RecordingQuery) async throws -> [RecordingRecord] {
        var filter = SQLFilter()
        filter.equals("instance_id", query.instanceID)
        filter.owner(query.owner)
        filter.equals("environment", query.environment)
        if let endedBefore = query.endedBefore { filter.add("ended_at IS NOT NULL AND ended_at < ?", [.float(endedBefore.timeIntervalSince1970)]) }
        let binds = filter.binds + [.integer(max(1, query.limit))]
        return try await run("SELECT * FROM recordings \(filter.whereClause) ORDER BY started_at DESC, id LIMIT ?", binds).compactMap(Self.recording)
    }

    public func deleteRecording(id: String) async throws -> Bool {
        try await run("DELETE FROM recordings WHERE id = ? RETURNING id", [.text(id)]).isEmpty == false
    }

    // MARK: Audit log

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await insert(
            """
            INSERT INTO audit_log (sequence, time_ms, actor_id, actor_name, actor_role, client_ip, user_agent, action, target,
                status, result, detail, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(Int(entry.sequence)), .integer(Int(entry.timeMilliseconds)), Self.optional(entry.actorID),
                Self.optional(entry.actorName), Self.optional(entry.actorRole), Self.optional(entry.clientIP),
                Self.optional(entry.userAgent), .text(entry.action), Self.optional(entry.target), .integer(entry.status),
                .text(entry.result), Self.optional(entry.detail), .text(entry.previousHash), .text(entry.hash),
            ],
            conflict: BerthError(.auditConflict, "Audit entry \(entry.sequence) already exists; another writer appended first.")
        )
    }

    public func lastAuditEntry() async throws -> AuditEntry? {
        try await run("SELECT * FROM audit_log ORDER BY sequence DESC LIMIT 1").first.flatMap(Self.auditEntry)
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        var filter = SQLFilter()
        filter.equals("actor_id", query.actorID)
        filter.equals("target", query.target)
        if let action = query.action { filter.add("instr(action, ?) > 0", [.text(action)]) }
        if let since = query.since { filter.add("time_ms >= ?", [.integer(Int(since.timeIntervalSince1970 * 1000))]) }
        if let until = query.until { filter.add("time_ms < ?", [.integer(Int(until.timeIntervalSince1970 * 1000))]) }
        if let after = query.afterSequence {
            filter.add(query.newestFirst ? "sequence < ?" : "sequence > ?", [.integer(Int(after))])
        }
        let order = query.newestFirst ? "DESC" : "ASC"
        let binds = filter.binds + [.integer(max(1, query.limit))]
        return try await run("SELECT * FROM audit_log \(filter.whereClause) ORDER BY sequence \(order) LIMIT ?", binds).compactMap(Self.auditEntry)
    }

    public func close() async throws {
        try await connection.close()
    }

    // MARK: Plumbing

    /// Runs one statement; `operation` (the calling store method's name, a bounded set) labels its duration.
    func run(_ sql: String, _ binds: [SQLiteData] = [], operation: String = #function) async throws -> [SQLiteRow] {
        let started = ContinuousClock.now
        defer { metrics?.storeCall(operation, duration: ContinuousClock.now - started) }
        do {
            return try await connection.query(sql, binds)
        } catch {
            throw BerthError(.storeUnavailable, "The database failed: \(error)")
        }
    }

    func insert(_ sql: String, _ binds: [SQLiteData], conflict: BerthError, operation: String = #function) async throws {
        let started = ContinuousClock.now
        defer { metrics?.storeCall(operation, duration: ContinuousClock.now - started) }
        do {
            _ = try await connection.query(sql, binds)
        } catch let error as SQLiteError {
            // SQLite reports either the primary or the extended result code, depending on the build.
            switch error.reason {
            case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed:
                throw conflict
            case .constraintForeignKeyFailed:
                throw BerthError(.invalidReference, "A referenced user or team does not exist.")
            case .constraint where error.message.contains("UNIQUE") || error.message.contains("PRIMARY KEY"):
                throw conflict
            case .constraint:
                throw BerthError(.invalidReference, "A referenced user or team does not exist.")
            default:
                throw BerthError(.storeUnavailable, "The database failed: \(error.message)")
            }
        } catch {
            throw BerthError(.storeUnavailable, "The database failed: \(error)")
        }
    }

    static func optional(_ text: String?) -> SQLiteData {
        text.map { .text($0) } ?? .null
    }

    private static func binds(_ instance: Instance) throws -> [SQLiteData] {
        let endpoints = String(decoding: try JSONEncoder().encode(instance.endpoints), as: UTF8.self)
        return [
            .text(instance.id), .text(instance.environment), .text(instance.owner.kind.rawValue), .text(instance.owner.id),
            .text(instance.requestedBy), .text(instance.state.rawValue), .float(instance.createdAt.timeIntervalSince1970),
            .float(instance.updatedAt.timeIntervalSince1970), .float(instance.expiresAt.timeIntervalSince1970),
            .float(instance.maxExpiresAt.timeIntervalSince1970), .integer(instance.renewalsLeft),
            optional(instance.containerID), optional(instance.networkID), .text(endpoints), optional(instance.reason),
        ]
    }

    static func user(_ row: SQLiteRow) -> User? {
        guard let id = row.column("id")?.string, let name = row.column("name")?.string,
              let role = row.column("role")?.string.flatMap(Role.init(rawValue:)), let created = row.column("created_at")?.double
        else { return nil }
        return User(id: id, name: name, role: role, createdAt: Date(timeIntervalSince1970: created))
    }

    static func team(_ row: SQLiteRow) -> Team? {
        guard let id = row.column("id")?.string, let name = row.column("name")?.string, let created = row.column("created_at")?.double
        else { return nil }
        return Team(id: id, name: name, createdAt: Date(timeIntervalSince1970: created))
    }

    private static func auditEntry(_ row: SQLiteRow) -> AuditEntry? {
        guard let sequence = row.column("sequence")?.integer, let time = row.column("time_ms")?.integer,
              let action = row.column("action")?.string, let status = row.column("status")?.integer,
              let result = row.column("result")?.string, let previous = row.column("previous_hash")?.string,
              let hash = row.column("hash")?.string
        else { return nil }
        var entry = AuditEntry(
            time: Date(), actorID: row.column("actor_id")?.string, actorName: row.column("actor_name")?.string,
            actorRole: row.column("actor_role")?.string, clientIP: row.column("client_ip")?.string,
            userAgent: row.column("user_agent")?.string, action: action, target: row.column("target")?.string, status: status,
            result: result, detail: row.column("detail")?.string, previousHash: previous, hash: hash
        )
        entry.sequence = Int64(sequence)
        entry.timeMilliseconds = Int64(time)
        return entry
    }

    private static func recording(_ row: SQLiteRow) -> RecordingRecord? {
        guard let id = row.column("id")?.string, let instanceID = row.column("instance_id")?.string,
              let environment = row.column("environment")?.string,
              let kind = row.column("owner_kind")?.string.flatMap(Owner.Kind.init(rawValue:)), let ownerID = row.column("owner_id")?.string,
              let terminal = row.column("terminal")?.string, let path = row.column("path")?.string,
              let started = row.column("started_at")?.double
        else { return nil }
        return RecordingRecord(
            id: id, instanceID: instanceID, environment: environment, owner: Owner(kind: kind, id: ownerID), terminal: terminal,
            path: path, startedAt: Date(timeIntervalSince1970: started), endedAt: row.column("ended_at")?.double.map(Date.init(timeIntervalSince1970:))
        )
    }

    private static func instance(_ row: SQLiteRow) -> Instance? {
        func date(_ column: String) -> Date? { row.column(column)?.double.map(Date.init(timeIntervalSince1970:)) }
        guard let id = row.column("id")?.string, let environment = row.column("environment")?.string,
              let kind = row.column("owner_kind")?.string.flatMap(Owner.Kind.init(rawValue:)), let ownerID = row.column("owner_id")?.string,
              let requestedBy = row.column("requested_by")?.string,
              let state = row.column("state")?.string.flatMap(InstanceState.init(rawValue:)),
              let created = date("created_at"), let updated = date("updated_at"), let expires = date("expires_at"),
              let maxExpires = date("max_expires_at"), let renewals = row.column("renewals_left")?.integer
        else { return nil }
        let endpoints = row.column("endpoints")?.string.flatMap { try? JSONDecoder().decode([Endpoint].self, from: Data($0.utf8)) } ?? []
        return Instance(
            id: id, environment: environment, owner: Owner(kind: kind, id: ownerID), requestedBy: requestedBy, state: state,
            createdAt: created, updatedAt: updated, expiresAt: expires, maxExpiresAt: maxExpires, renewalsLeft: Int(renewals),
            containerID: row.column("container_id")?.string, networkID: row.column("network_id")?.string,
            endpoints: endpoints, reason: row.column("reason")?.string
        )
    }
}

/// The WHERE clause of a listing, built from optional conditions; values are always bound.
struct SQLFilter {
    private var clauses: [String] = []
    /// The values of the `?` placeholders, in order.
    private(set) var binds: [SQLiteData] = []

    /// Adds a condition with its bound values.
    mutating func add(_ clause: String, _ values: [SQLiteData]) {
        clauses.append(clause)
        binds += values
    }

    /// Adds `column = value` when `value` is given.
    mutating func equals(_ column: String, _ value: String?) {
        if let value { add("\(column) = ?", [.text(value)]) }
    }

    /// Adds the owner columns' condition when `owner` is given.
    mutating func owner(_ owner: Owner?) {
        if let owner { add("owner_kind = ? AND owner_id = ?", [.text(owner.kind.rawValue), .text(owner.id)]) }
    }

    /// `WHERE …`, or nothing without conditions.
    var whereClause: String { clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") }
}
