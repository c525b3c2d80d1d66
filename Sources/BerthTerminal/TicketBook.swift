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

/// Single-use, short-lived tickets that open a terminal WebSocket, bound to a user, an instance
/// and a terminal. Only hashes of tickets are held.
public actor TicketBook {
    private struct Entry {
        var grant: TerminalGrant
        var expires: ContinuousClock.Instant
    }

    private var issued: [String: Entry] = [:]
    private var accepted: [String: Entry] = [:]
    private let lifetime: Duration

    /// Creates a book whose tickets live `lifetime` (capped at 60 s).
    public init(lifetime: Duration) {
        self.lifetime = min(lifetime, .seconds(60))
    }

    /// Issues a ticket for `grant` and returns its secret and lifetime in seconds.
    public func issue(_ grant: TerminalGrant) -> (ticket: String, expiresIn: Int) {
        purgeExpired()
        let secret = Self.newSecret()
        issued[Self.hash(secret)] = Entry(grant: grant, expires: .now + lifetime)
        return (secret, Int(lifetime.components.seconds))
    }

    /// The grant of an outstanding ticket for `instanceID`, without using it up: refusals that
    /// depend on the grant (a ticket for another terminal) are decided before ``redeem(_:instanceID:)``.
    public func peek(_ ticket: String, instanceID: String) -> TerminalGrant? {
        purgeExpired()
        guard let entry = issued[Self.hash(ticket)], entry.grant.instanceID == instanceID else { return nil }
        return entry.grant
    }

    /// Checks a ticket presented for `instanceID` and marks it used, so a second use fails. The
    /// grant is kept for ``take(_:)`` until the WebSocket upgrade completes.
    public func redeem(_ ticket: String, instanceID: String) -> TerminalGrant? {
        purgeExpired()
        let key = Self.hash(ticket)
        guard let entry = issued.removeValue(forKey: key), entry.grant.instanceID == instanceID else { return nil }
        accepted[key] = entry
        return entry.grant
    }

    /// Takes the grant of a ticket redeemed moments ago (once).
    public func take(_ ticket: String) -> TerminalGrant? {
        accepted.removeValue(forKey: Self.hash(ticket))?.grant
    }

    /// Tickets issued and not yet used or expired.
    public var outstanding: Int { issued.count }

    private func purgeExpired() {
        let now = ContinuousClock.now
        issued = issued.filter { $0.value.expires > now }
        accepted = accepted.filter { $0.value.expires > now }
    }

    static func newSecret() -> String {
        Secrets.randomBase64URL(byteCount: 24)
    }

    static func hash(_ secret: String) -> String {
        Secrets.sha256Hex(secret)
    }
}

/// Share links an owner makes so a teammate can watch (or co-drive) a terminal. They end with
/// the instance, and live in memory: a restart of Berth revokes them.
public actor ShareBook {
    /// One share link.
    public struct Share: Sendable, Equatable {
        /// The link's secret (shown once to the owner).
        public var id: String
        /// The instance it opens.
        public var instanceID: String
        /// What it grants.
        public var access: TerminalAccess
        /// Who made it.
        public var createdBy: String
    }

    private var shares: [String: Share] = [:]

    /// Creates an empty book.
    public init() {}

    /// Makes a share link for `instanceID`.
    public func create(instanceID: String, access: TerminalAccess, createdBy: String) -> Share {
        let share = Share(id: "shr_" + TicketBook.newSecret(), instanceID: instanceID, access: access, createdBy: createdBy)
        shares[TicketBook.hash(share.id)] = share
        return share
    }

    /// The share a secret names, when it belongs to `instanceID`.
    public func share(_ secret: String, instanceID: String) -> Share? {
        guard let share = shares[TicketBook.hash(secret)], share.instanceID == instanceID else { return nil }
        return share
    }

    /// Revokes every link of an instance that ended.
    public func revokeAll(instanceID: String) {
        shares = shares.filter { $0.value.instanceID != instanceID }
    }
}
