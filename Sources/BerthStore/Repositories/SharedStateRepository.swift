import BerthCore
import Foundation
import SQLKit

/// A terminal ticket as stored: only the secret's hash is kept.
public struct TicketRecord: Sendable, Equatable {
    public var secretHash: String
    public var instanceID: String
    public var userID: String
    /// `write` or `read` (the terminal's access).
    public var access: String
    public var terminal: String
    public var countsAsPresence: Bool
    public var expiresAt: Date

    public init(secretHash: String, instanceID: String, userID: String, access: String, terminal: String, countsAsPresence: Bool, expiresAt: Date) {
        self.secretHash = secretHash
        self.instanceID = instanceID
        self.userID = userID
        self.access = access
        self.terminal = terminal
        self.countsAsPresence = countsAsPresence
        self.expiresAt = expiresAt
    }
}

/// A share link as stored: only the secret's hash is kept.
public struct ShareRecord: Sendable, Equatable {
    public var secretHash: String
    public var instanceID: String
    public var access: String
    public var createdBy: String
    public var createdAt: Date

    public init(secretHash: String, instanceID: String, access: String, createdBy: String, createdAt: Date) {
        self.secretHash = secretHash
        self.instanceID = instanceID
        self.access = access
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// What replicas share to act as one server: single-use terminal tickets, share links and the
/// events counted by rate limits. Each method is one statement, so two replicas racing for the
/// same ticket cannot both win.
public struct SharedStateRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }

    // MARK: Terminal tickets

    public func issueTicket(_ ticket: TicketRecord) async throws {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO terminal_tickets (secret_hash, instance_id, user_id, access, terminal, counts_as_presence, redeemed, expires_at)
                VALUES (\(bind: ticket.secretHash), \(bind: ticket.instanceID), \(bind: ticket.userID), \(bind: ticket.access),
                        \(bind: ticket.terminal), \(bind: ticket.countsAsPresence ? 1 : 0), 0, \(bind: ticket.expiresAt.timeIntervalSince1970))
                """).run()
        }
    }

    /// The outstanding (issued, unused, unexpired) ticket for `instanceID`, without using it up.
    public func outstandingTicket(secretHash: String, instanceID: String, now: Date) async throws -> TicketRecord? {
        try await sql.run { db in
            let rows = try await db.raw("""
                SELECT * FROM terminal_tickets WHERE secret_hash = \(bind: secretHash) AND instance_id = \(bind: instanceID)
                AND redeemed = 0 AND expires_at > \(bind: now.timeIntervalSince1970)
                """).all()
            return try rows.first.map(Self.ticket)
        }
    }

    /// Marks an outstanding ticket for `instanceID` used and answers it; nil when there is none
    /// (unknown, expired, for another instance, or used already, here or on another replica).
    public func redeemTicket(secretHash: String, instanceID: String, now: Date) async throws -> TicketRecord? {
        try await sql.run { db in
            let rows = try await db.raw("""
                UPDATE terminal_tickets SET redeemed = 1 WHERE secret_hash = \(bind: secretHash) AND instance_id = \(bind: instanceID)
                AND redeemed = 0 AND expires_at > \(bind: now.timeIntervalSince1970) RETURNING *
                """).all()
            return try rows.first.map(Self.ticket)
        }
    }

    /// Removes a redeemed, unexpired ticket and answers it (once).
    public func takeRedeemedTicket(secretHash: String, now: Date) async throws -> TicketRecord? {
        try await sql.run { db in
            let rows = try await db.raw("""
                DELETE FROM terminal_tickets WHERE secret_hash = \(bind: secretHash) AND redeemed = 1
                AND expires_at > \(bind: now.timeIntervalSince1970) RETURNING *
                """).all()
            return try rows.first.map(Self.ticket)
        }
    }

    /// Forgets expired tickets; answers how many.
    @discardableResult
    public func purgeTickets(now: Date) async throws -> Int {
        try await sql.run { db in
            try await db.raw("DELETE FROM terminal_tickets WHERE expires_at <= \(bind: now.timeIntervalSince1970) RETURNING secret_hash").all().count
        }
    }

    private struct TicketRow: Decodable {
        var secretHash: String
        var instanceId: String
        var userId: String
        var access: String
        var terminal: String
        var countsAsPresence: Int
        var expiresAt: Double
    }

    private static func ticket(_ row: any SQLRow) throws -> TicketRecord {
        let stored = try RowDecoding.model(row, as: TicketRow.self, table: "terminal_tickets", key: "instance_id")
        return TicketRecord(
            secretHash: stored.secretHash, instanceID: stored.instanceId, userID: stored.userId, access: stored.access,
            terminal: stored.terminal, countsAsPresence: stored.countsAsPresence != 0, expiresAt: Date(timeIntervalSince1970: stored.expiresAt)
        )
    }

    // MARK: Share links

    public func createShare(_ share: ShareRecord) async throws {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO share_links (secret_hash, instance_id, access, created_by, created_at)
                VALUES (\(bind: share.secretHash), \(bind: share.instanceID), \(bind: share.access), \(bind: share.createdBy),
                        \(bind: share.createdAt.timeIntervalSince1970))
                """).run()
        }
    }

    /// The share link with this secret hash, when it belongs to `instanceID`.
    public func share(secretHash: String, instanceID: String) async throws -> ShareRecord? {
        try await sql.run { db in
            let rows = try await db.raw("""
                SELECT * FROM share_links WHERE secret_hash = \(bind: secretHash) AND instance_id = \(bind: instanceID)
                """).all()
            return try rows.first.map { row in
                let stored = try RowDecoding.model(row, as: ShareRow.self, table: "share_links", key: "instance_id")
                return ShareRecord(
                    secretHash: stored.secretHash, instanceID: stored.instanceId, access: stored.access, createdBy: stored.createdBy,
                    createdAt: Date(timeIntervalSince1970: stored.createdAt)
                )
            }
        }
    }

    /// Revokes every share link of an instance (it ended); answers how many there were.
    @discardableResult
    public func revokeShares(instanceID: String) async throws -> Int {
        try await sql.run { db in
            try await db.raw("DELETE FROM share_links WHERE instance_id = \(bind: instanceID) RETURNING secret_hash").all().count
        }
    }

    private struct ShareRow: Decodable {
        var secretHash: String
        var instanceId: String
        var access: String
        var createdBy: String
        var createdAt: Double
    }

    // MARK: Throttles

    /// The times of `subject`'s events in `scope` since `since`, oldest first.
    public func throttleEvents(scope: String, subject: String, since: Date) async throws -> [Date] {
        try await sql.run { db in
            try await db.raw("""
                SELECT time FROM throttle_events WHERE scope = \(bind: scope) AND subject = \(bind: subject)
                AND time > \(bind: since.timeIntervalSince1970) ORDER BY time
                """).all().map { row in
                Date(timeIntervalSince1970: try RowDecoding.column(row, "time", as: Double.self, table: "throttle_events", key: "scope,subject"))
            }
        }
    }

    public func recordThrottleEvent(scope: String, subject: String, at time: Date) async throws {
        try await sql.run { db in
            try await db.raw("""
                INSERT INTO throttle_events (scope, subject, time) VALUES (\(bind: scope), \(bind: subject), \(bind: time.timeIntervalSince1970))
                """).run()
        }
    }

    /// Forgets `subject`'s events in `scope` (after a successful sign-in, say).
    public func resetThrottle(scope: String, subject: String) async throws {
        try await sql.run { db in
            try await db.raw("DELETE FROM throttle_events WHERE scope = \(bind: scope) AND subject = \(bind: subject)").run()
        }
    }

    /// Forgets the events of `scope` (of every scope with nil) at or before `before`; answers how many.
    @discardableResult
    public func purgeThrottleEvents(scope: String? = nil, before: Date) async throws -> Int {
        try await sql.run { db in
            if let scope {
                return try await db.raw("""
                    DELETE FROM throttle_events WHERE scope = \(bind: scope) AND time <= \(bind: before.timeIntervalSince1970) RETURNING scope
                    """).all().count
            }
            return try await db.raw("DELETE FROM throttle_events WHERE time <= \(bind: before.timeIntervalSince1970) RETURNING scope").all().count
        }
    }
}
