import BerthCore
import Foundation

/// What a redeemed ticket lets its holder do.
public struct TerminalGrant: Sendable, Equatable {
    /// The instance.
    public var instanceID: String
    /// The user who asked for the ticket.
    public var userID: String
    /// Write or read-only.
    public var access: TerminalAccess
    /// The terminal (tab) name.
    public var terminal: String
    /// Whether the connection keeps the instance attended (`lifetime.whenDisconnected`): an
    /// owner's own terminal does, a spectator's (share link, admin watching) does not.
    public var countsAsPresence: Bool

    /// Creates a grant.
    public init(instanceID: String, userID: String, access: TerminalAccess, terminal: String, countsAsPresence: Bool = false) {
        self.instanceID = instanceID
        self.userID = userID
        self.access = access
        self.terminal = terminal
        self.countsAsPresence = countsAsPresence
    }
}

/// Where tickets are kept: in this process (``MemoryTicketLedger``, one server) or in the store,
/// so a ticket issued by one replica is redeemed, once, by another. Only hashes are kept.
public protocol TicketLedger: Sendable {
    func insert(hash: String, grant: TerminalGrant, expiresAt: Date) async throws
    /// The outstanding ticket for `instanceID`, not used up.
    func outstanding(hash: String, instanceID: String, now: Date) async throws -> TerminalGrant?
    /// Marks an outstanding ticket for `instanceID` used and answers its grant (once, everywhere).
    func redeem(hash: String, instanceID: String, now: Date) async throws -> TerminalGrant?
    /// Removes a redeemed ticket and answers its grant (once).
    func take(hash: String, now: Date) async throws -> TerminalGrant?
    /// Forgets expired tickets.
    func purge(now: Date) async throws
}

/// Tickets in this process's memory.
public actor MemoryTicketLedger: TicketLedger {
    private struct Entry {
        var grant: TerminalGrant
        var expires: Date
    }

    private var issued: [String: Entry] = [:]
    private var accepted: [String: Entry] = [:]

    public init() {}

    public func insert(hash: String, grant: TerminalGrant, expiresAt: Date) {
        issued[hash] = Entry(grant: grant, expires: expiresAt)
    }

    public func outstanding(hash: String, instanceID: String, now: Date) -> TerminalGrant? {
        guard let entry = issued[hash], entry.grant.instanceID == instanceID, entry.expires > now else { return nil }
        return entry.grant
    }

    public func redeem(hash: String, instanceID: String, now: Date) -> TerminalGrant? {
        guard let entry = issued[hash], entry.grant.instanceID == instanceID, entry.expires > now else { return nil }
        issued[hash] = nil
        accepted[hash] = entry
        return entry.grant
    }

    public func take(hash: String, now: Date) -> TerminalGrant? {
        guard let entry = accepted.removeValue(forKey: hash), entry.expires > now else { return nil }
        return entry.grant
    }

    public func purge(now: Date) {
        issued = issued.filter { $0.value.expires > now }
        accepted = accepted.filter { $0.value.expires > now }
    }
}

/// Single-use, short-lived tickets that open a terminal WebSocket, bound to a user, an instance
/// and a terminal. Only hashes of tickets are kept, in a ``TicketLedger``.
public struct TicketBook: Sendable {
    private let ledger: any TicketLedger
    private let lifetime: Duration
    private let clock: @Sendable () -> Date

    /// Creates a book whose tickets live `lifetime` (capped at 60 s).
    public init(lifetime: Duration, ledger: any TicketLedger = MemoryTicketLedger(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = min(lifetime, .seconds(60))
        self.ledger = ledger
        self.clock = clock
    }

    /// Issues a ticket for `grant` and returns its secret and lifetime in seconds.
    public func issue(_ grant: TerminalGrant) async throws -> (ticket: String, expiresIn: Int) {
        let now = clock()
        try await ledger.purge(now: now)
        let secret = Self.newSecret()
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        try await ledger.insert(hash: Self.hash(secret), grant: grant, expiresAt: now.addingTimeInterval(seconds))
        return (secret, Int(lifetime.components.seconds))
    }

    /// The grant of an outstanding ticket for `instanceID`, without using it up: refusals that
    /// depend on the grant (a ticket for another terminal) are decided before ``redeem(_:instanceID:)``.
    public func peek(_ ticket: String, instanceID: String) async throws -> TerminalGrant? {
        try await ledger.outstanding(hash: Self.hash(ticket), instanceID: instanceID, now: clock())
    }

    /// Checks a ticket presented for `instanceID` and marks it used, so a second use fails. The
    /// grant is kept for ``take(_:)`` until the WebSocket upgrade completes.
    public func redeem(_ ticket: String, instanceID: String) async throws -> TerminalGrant? {
        try await ledger.redeem(hash: Self.hash(ticket), instanceID: instanceID, now: clock())
    }

    /// Takes the grant of a ticket redeemed moments ago (once).
    public func take(_ ticket: String) async throws -> TerminalGrant? {
        try await ledger.take(hash: Self.hash(ticket), now: clock())
    }

    static func newSecret() -> String {
        Secrets.randomBase64URL(byteCount: 24)
    }

    /// The hash kept for a ticket or share link secret.
    public static func hash(_ secret: String) -> String {
        Secrets.sha256Hex(secret)
    }
}

/// One share link an owner made so a teammate can watch (or co-drive) a terminal.
public struct Share: Sendable, Equatable {
    /// The link's secret (shown once to the owner; only its hash is kept).
    public var id: String
    /// The instance it opens.
    public var instanceID: String
    /// What it grants.
    public var access: TerminalAccess
    /// Who made it.
    public var createdBy: String

    public init(id: String, instanceID: String, access: TerminalAccess, createdBy: String) {
        self.id = id
        self.instanceID = instanceID
        self.access = access
        self.createdBy = createdBy
    }
}

/// Where share links are kept, by the hash of their secret: in this process
/// (``MemoryShareLedger``) or in the store, so every replica honours them.
public protocol ShareLedger: Sendable {
    func insert(hash: String, share: Share) async throws
    /// The share with this hash for `instanceID`; its `id` is not known (only the hash is kept).
    func share(hash: String, instanceID: String) async throws -> Share?
    func revokeAll(instanceID: String) async throws
}

/// Share links in this process's memory.
public actor MemoryShareLedger: ShareLedger {
    private var shares: [String: Share] = [:]

    public init() {}

    public func insert(hash: String, share: Share) {
        shares[hash] = share
    }

    public func share(hash: String, instanceID: String) -> Share? {
        guard let share = shares[hash], share.instanceID == instanceID else { return nil }
        return share
    }

    public func revokeAll(instanceID: String) {
        shares = shares.filter { $0.value.instanceID != instanceID }
    }
}

/// Share links an owner makes so a teammate can watch (or co-drive) a terminal. They end with
/// the instance.
public struct ShareBook: Sendable {
    private let ledger: any ShareLedger

    /// Creates a book over `ledger`.
    public init(ledger: any ShareLedger = MemoryShareLedger()) {
        self.ledger = ledger
    }

    /// Makes a share link for `instanceID`.
    public func create(instanceID: String, access: TerminalAccess, createdBy: String) async throws -> Share {
        let share = Share(id: "shr_" + TicketBook.newSecret(), instanceID: instanceID, access: access, createdBy: createdBy)
        try await ledger.insert(hash: TicketBook.hash(share.id), share: share)
        return share
    }

    /// The share a secret names, when it belongs to `instanceID`.
    public func share(_ secret: String, instanceID: String) async throws -> Share? {
        guard var share = try await ledger.share(hash: TicketBook.hash(secret), instanceID: instanceID) else { return nil }
        share.id = secret
        return share
    }

    /// Revokes every link of an instance that ended.
    public func revokeAll(instanceID: String) async throws {
        try await ledger.revokeAll(instanceID: instanceID)
    }
}
