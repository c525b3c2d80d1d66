import BerthCore
import Foundation
import SQLKit

/// Instances and their event log.
public struct InstanceRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    // MARK: Instances

    /// Records a new instance (its intent, before the engine is called); `instance_exists` when
    /// its id is taken. Safe inside a transaction: a taken id does not abort it.
    public func insertInstance(_ instance: Instance) async throws {
        let endpoints = try JSONColumn.encode(instance.endpoints)
        let inserted = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO instances (id, environment, owner_kind, owner_id, requested_by, state, created_at, updated_at,
                    expires_at, max_expires_at, renewals_left, container_id, network_id, endpoints, reason)
                VALUES (\(bind: instance.id), \(bind: instance.environment), \(bind: instance.owner.kind.rawValue),
                    \(bind: instance.owner.id), \(bind: instance.requestedBy), \(bind: instance.state.rawValue),
                    \(bind: instance.createdAt.timeIntervalSince1970), \(bind: instance.updatedAt.timeIntervalSince1970),
                    \(bind: instance.expiresAt.timeIntervalSince1970), \(bind: instance.maxExpiresAt.timeIntervalSince1970),
                    \(bind: instance.renewalsLeft), \(bind: instance.containerID), \(bind: instance.networkID), \(bind: endpoints),
                    \(bind: instance.reason))
                ON CONFLICT DO NOTHING
                RETURNING id
                """
            ).first() != nil
        }
        if !inserted {
            throw BerthError(.instanceExists, "Instance \(instance.id) already exists.")
        }
    }

    /// Replaces an instance's stored state (every column but its id).
    public func updateInstance(_ instance: Instance) async throws {
        let endpoints = try JSONColumn.encode(instance.endpoints)
        try await sql.run { db in
            try await db.raw(
                """
                UPDATE instances SET environment = \(bind: instance.environment), owner_kind = \(bind: instance.owner.kind.rawValue),
                    owner_id = \(bind: instance.owner.id), requested_by = \(bind: instance.requestedBy),
                    state = \(bind: instance.state.rawValue), created_at = \(bind: instance.createdAt.timeIntervalSince1970),
                    updated_at = \(bind: instance.updatedAt.timeIntervalSince1970),
                    expires_at = \(bind: instance.expiresAt.timeIntervalSince1970),
                    max_expires_at = \(bind: instance.maxExpiresAt.timeIntervalSince1970),
                    renewals_left = \(bind: instance.renewalsLeft), container_id = \(bind: instance.containerID),
                    network_id = \(bind: instance.networkID), endpoints = \(bind: endpoints), reason = \(bind: instance.reason)
                WHERE id = \(bind: instance.id)
                """
            ).run()
        }
    }

    /// The instance with this id; `store_row_invalid` when its row does not decode.
    public func instance(id: String) async throws -> Instance? {
        let rows = try await sql.run { db in
            try await db.raw("SELECT * FROM instances WHERE id = \(bind: id)").all()
        }
        return try InstanceRow.instances(rows).first
    }

    /// Instances matching `query`, newest first. One row that does not decode fails the whole
    /// listing (`store_row_invalid` naming it) rather than leaving the instance out.
    public func instances(_ query: InstanceQuery) async throws -> [Instance] {
        let rows = try await sql.run { db in
            let select = db.select().column("*").from("instances")
            if query.activeOnly {
                select.where("state", .in, InstanceState.allCases.filter(\.isActive).map(\.rawValue))
            }
            if let owner = query.owner {
                select.where("owner_kind", .equal, owner.kind.rawValue).where("owner_id", .equal, owner.id)
            }
            if let environment = query.environment {
                select.where("environment", .equal, environment)
            }
            return try await select.orderBy("created_at", .descending).orderBy("id").limit(max(1, query.limit)).all()
        }
        return try InstanceRow.instances(rows)
    }

    /// What the caps of a new instance depend on, read in one statement (so inside a transaction
    /// the three figures come from one snapshot): the owner's active instances, all active
    /// instances, and the owner's newest active instance of `environment`, if any.
    public func activeCounts(owner: Owner, environment: String) async throws -> ActiveCounts {
        let active = InstanceState.allCases.filter(\.isActive).map(\.rawValue)
        let row = try await sql.run { db in
            try await db.raw(
                """
                SELECT
                    (SELECT COUNT(*) FROM instances
                        WHERE state IN (\(binds: active)) AND owner_kind = \(bind: owner.kind.rawValue) AND owner_id = \(bind: owner.id)
                    ) AS owner_active,
                    (SELECT COUNT(*) FROM instances WHERE state IN (\(binds: active))) AS global_active,
                    (SELECT id FROM instances
                        WHERE state IN (\(binds: active)) AND owner_kind = \(bind: owner.kind.rawValue) AND owner_id = \(bind: owner.id)
                            AND environment = \(bind: environment)
                        ORDER BY created_at DESC, id LIMIT 1
                    ) AS environment_instance
                """
            ).first()
        }
        guard let row else {
            throw BerthError(.storeUnavailable, "The database answered the active instance counts with no row.")
        }
        let counts = try RowDecoding.model(row, as: ActiveCountsRow.self, table: "instances", key: "environment_instance")
        return ActiveCounts(owner: counts.ownerActive, global: counts.globalActive, instanceOfEnvironment: counts.environmentInstance)
    }

    // MARK: Events

    /// Appends to the event log and returns the stored record with the sequence number the
    /// database assigned (an identity column on PostgreSQL, AUTOINCREMENT on SQLite).
    @discardableResult
    public func appendEvent(_ event: EventRecord) async throws -> EventRecord {
        let row = try await sql.run { db in
            try await db.raw(
                """
                INSERT INTO events (time, kind, instance_id, user_id, detail)
                VALUES (\(bind: event.time.timeIntervalSince1970), \(bind: event.kind), \(bind: event.instanceID),
                    \(bind: event.userID), \(bind: event.detail))
                RETURNING sequence
                """
            ).first()
        }
        guard let row else {
            throw BerthError(.storeUnavailable, "The database stored the event '\(event.kind)' but returned no sequence number.")
        }
        var stored = event
        stored.sequence = Int64(try RowDecoding.column(row, "sequence", as: Int.self, table: "events", key: "sequence"))
        return stored
    }

    /// Events, newest first (largest sequence first), optionally of one instance.
    public func events(instanceID: String?, limit: Int) async throws -> [EventRecord] {
        let rows = try await sql.run { db in
            let select = db.select().column("*").from("events")
            if let instanceID {
                select.where("instance_id", .equal, instanceID)
            }
            return try await select.orderBy("sequence", .descending).limit(max(0, limit)).all()
        }
        return try RowDecoding.models(rows, as: EventRow.self, table: "events", key: "sequence").map(\.record)
    }
}

/// The active instances a new one is counted against (``InstanceRepository/activeCounts(owner:environment:)``).
public struct ActiveCounts: Sendable, Equatable {
    /// The owner's instances in an active state.
    public var owner: Int
    /// Every instance in an active state, of any owner.
    public var global: Int
    /// The id of the owner's newest active instance of the environment asked about, if any.
    public var instanceOfEnvironment: String?

    public init(owner: Int, global: Int, instanceOfEnvironment: String?) {
        self.owner = owner
        self.global = global
        self.instanceOfEnvironment = instanceOfEnvironment
    }
}

/// The one row of ``InstanceRepository/activeCounts(owner:environment:)``.
struct ActiveCountsRow: Decodable {
    var ownerActive: Int
    var globalActive: Int
    var environmentInstance: String?
}

/// A row of `instances`.
struct InstanceRow: Decodable {
    var id: String
    var environment: String
    var ownerKind: String
    var ownerId: String
    var requestedBy: String
    var state: String
    var createdAt: Double
    var updatedAt: Double
    var expiresAt: Double
    var maxExpiresAt: Double
    var renewalsLeft: Int
    var containerId: String?
    var networkId: String?
    var endpoints: String
    var reason: String?

    static func instances(_ rows: [any SQLRow]) throws -> [Instance] {
        try RowDecoding.models(rows, as: InstanceRow.self, table: "instances", key: "id").map { try $0.toDomain() }
    }

    /// The instance; an unknown state or owner kind, or endpoints that are not Berth's JSON, is
    /// `store_row_invalid` naming the row (never an instance with no endpoints).
    func toDomain() throws -> Instance {
        guard let state = InstanceState(rawValue: state) else {
            throw RowDecoding.invalid(table: "instances", key: id, reason: "unknown state '\(state)'")
        }
        guard let kind = Owner.Kind(rawValue: ownerKind) else {
            throw RowDecoding.invalid(table: "instances", key: id, reason: "unknown owner_kind '\(ownerKind)'")
        }
        return Instance(
            id: id, environment: environment, owner: Owner(kind: kind, id: ownerId), requestedBy: requestedBy, state: state,
            createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt),
            expiresAt: Date(timeIntervalSince1970: expiresAt), maxExpiresAt: Date(timeIntervalSince1970: maxExpiresAt),
            renewalsLeft: renewalsLeft, containerID: containerId, networkID: networkId,
            endpoints: try JSONColumn.decode([Endpoint].self, from: endpoints, table: "instances", row: id, column: "endpoints"),
            reason: reason
        )
    }
}

/// A row of `events`.
struct EventRow: Decodable {
    var sequence: Int
    var time: Double
    var kind: String
    var instanceId: String?
    var userId: String?
    var detail: String

    var record: EventRecord {
        EventRecord(
            sequence: Int64(sequence), time: Date(timeIntervalSince1970: time), kind: kind, instanceID: instanceId, userID: userId,
            detail: detail
        )
    }
}
