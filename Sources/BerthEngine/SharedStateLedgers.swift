import BerthCore
import BerthStore
import BerthTerminal
import Foundation

/// Terminal tickets in the store: a ticket issued by one replica is redeemed, once, by any.
public struct StoreTicketLedger: TicketLedger {
    let state: SharedStateRepository

    public init(_ state: SharedStateRepository) {
        self.state = state
    }

    public func insert(hash: String, grant: TerminalGrant, expiresAt: Date) async throws {
        try await state.issueTicket(TicketRecord(
            secretHash: hash, instanceID: grant.instanceID, userID: grant.userID, access: grant.access.rawValue,
            terminal: grant.terminal, countsAsPresence: grant.countsAsPresence, expiresAt: expiresAt
        ))
    }

    public func outstanding(hash: String, instanceID: String, now: Date) async throws -> TerminalGrant? {
        try await state.outstandingTicket(secretHash: hash, instanceID: instanceID, now: now).map(Self.grant)
    }

    public func redeem(hash: String, instanceID: String, now: Date) async throws -> TerminalGrant? {
        try await state.redeemTicket(secretHash: hash, instanceID: instanceID, now: now).map(Self.grant)
    }

    public func take(hash: String, now: Date) async throws -> TerminalGrant? {
        try await state.takeRedeemedTicket(secretHash: hash, now: now).map(Self.grant)
    }

    public func purge(now: Date) async throws {
        try await state.purgeTickets(now: now)
    }

    static func grant(_ ticket: TicketRecord) throws -> TerminalGrant {
        TerminalGrant(
            instanceID: ticket.instanceID, userID: ticket.userID, access: try access(ticket.access, table: "terminal_tickets", row: ticket.instanceID),
            terminal: ticket.terminal, countsAsPresence: ticket.countsAsPresence
        )
    }

    static func access(_ text: String, table: String, row: String) throws -> TerminalAccess {
        guard let access = TerminalAccess(rawValue: text) else {
            throw RowDecoding.invalidColumn(table: table, row: row, column: "access")
        }
        return access
    }
}

/// Share links in the store: every replica honours them, and they end with their instance.
public struct StoreShareLedger: ShareLedger {
    let state: SharedStateRepository
    let clock: @Sendable () -> Date

    public init(_ state: SharedStateRepository, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.state = state
        self.clock = clock
    }

    public func insert(hash: String, share: Share) async throws {
        try await state.createShare(ShareRecord(
            secretHash: hash, instanceID: share.instanceID, access: share.access.rawValue, createdBy: share.createdBy, createdAt: clock()
        ))
    }

    public func share(hash: String, instanceID: String) async throws -> Share? {
        guard let stored = try await state.share(secretHash: hash, instanceID: instanceID) else { return nil }
        return Share(
            id: "", instanceID: stored.instanceID, access: try StoreTicketLedger.access(stored.access, table: "share_links", row: stored.instanceID),
            createdBy: stored.createdBy
        )
    }

    public func revokeAll(instanceID: String) async throws {
        try await state.revokeShares(instanceID: instanceID)
    }
}

/// Rate-limited events in the store: replicas count them together.
public struct StoreThrottleLedger: ThrottleLedger {
    let state: SharedStateRepository

    public init(_ state: SharedStateRepository) {
        self.state = state
    }

    public func events(scope: String, subject: String, since: Date) async throws -> [Date] {
        try await state.throttleEvents(scope: scope, subject: subject, since: since)
    }

    public func record(scope: String, subject: String, at time: Date, forgetBefore: Date) async throws {
        try await state.purgeThrottleEvents(scope: scope, before: forgetBefore)
        try await state.recordThrottleEvent(scope: scope, subject: subject, at: time)
    }

    public func reset(scope: String, subject: String) async throws {
        try await state.resetThrottle(scope: scope, subject: subject)
    }
}
