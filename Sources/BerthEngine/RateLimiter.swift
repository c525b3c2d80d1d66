import BerthCore
import Foundation

/// Where rate-limited events are counted: in this process (``MemoryThrottleLedger``, one
/// server) or in the store, so replicas enforce one limit together.
public protocol ThrottleLedger: Sendable {
    /// The times of `subject`'s events in `scope` after `since`, oldest first.
    func events(scope: String, subject: String, since: Date) async throws -> [Date]
    /// Counts one event, and forgets the scope's events at or before `forgetBefore`.
    func record(scope: String, subject: String, at time: Date, forgetBefore: Date) async throws
    /// Forgets `subject`'s events in `scope`.
    func reset(scope: String, subject: String) async throws
}

/// Events in this process's memory.
public actor MemoryThrottleLedger: ThrottleLedger {
    private var events: [String: [Date]] = [:]

    public init() {}

    public func events(scope: String, subject: String, since: Date) -> [Date] {
        (events[scope + "\u{0}" + subject] ?? []).filter { $0 > since }
    }

    public func record(scope: String, subject: String, at time: Date, forgetBefore: Date) {
        let key = scope + "\u{0}" + subject
        events[key] = (events[key] ?? []).filter { $0 > forgetBefore } + [time]
        if events.count > 100_000 {
            events = events.compactMapValues { times in
                let recent = times.filter { $0 > forgetBefore }
                return recent.isEmpty ? nil : recent
            }
        }
    }

    public func reset(scope: String, subject: String) {
        events[scope + "\u{0}" + subject] = nil
    }
}

/// Counts events per key in a sliding window: login failures per address and per name,
/// registrations per address, flag submissions per user, hint requests per user.
public struct RateLimiter: Sendable {
    /// Most events per key within ``window``.
    public let limit: Int
    /// The window, in seconds.
    public let window: TimeInterval
    /// What is counted (`signin.account`, `flag`, …): limiters sharing a ledger never mix counts.
    public let scope: String
    private let ledger: any ThrottleLedger
    private let clock: @Sendable () -> Date

    /// Creates a limiter allowing `limit` events per `window` seconds per key.
    public init(
        limit: Int, window: TimeInterval, scope: String, ledger: any ThrottleLedger = MemoryThrottleLedger(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.limit = limit
        self.window = window
        self.scope = scope
        self.ledger = ledger
        self.clock = clock
    }

    /// Creates a limiter for a configured limit.
    public init(
        _ limit: EventLimit, scope: String, ledger: any ThrottleLedger = MemoryThrottleLedger(), clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(limit: limit.count, window: TimeInterval(limit.windowSeconds), scope: scope, ledger: ledger, clock: clock)
    }

    /// Seconds until `key` may act again, or nil when it may act now.
    public func retryAfter(_ key: String) async throws -> Int? {
        let now = clock()
        let recent = try await ledger.events(scope: scope, subject: key, since: now.addingTimeInterval(-window))
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
    }

    /// Counts one event for `key`.
    public func record(_ key: String) async throws {
        let now = clock()
        try await ledger.record(scope: scope, subject: key, at: now, forgetBefore: now.addingTimeInterval(-window))
    }

    /// Forgets `key` (after a successful login, say).
    public func reset(_ key: String) async throws {
        try await ledger.reset(scope: scope, subject: key)
    }
}
