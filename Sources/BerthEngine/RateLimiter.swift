import BerthCore
import Foundation

/// Counts events per key in a sliding window: login failures per address and per name,
/// registrations per address, flag submissions per user.
public actor RateLimiter {
    /// Most events per key within ``window``.
    public let limit: Int
    /// The window, in seconds.
    public let window: TimeInterval
    private var events: [String: [Date]] = [:]
    private let clock: @Sendable () -> Date

    /// Creates a limiter allowing `limit` events per `window` seconds per key.
    public init(limit: Int, window: TimeInterval, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// Creates a limiter for a configured limit.
    public init(_ limit: EventLimit, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.init(limit: limit.count, window: TimeInterval(limit.windowSeconds), clock: clock)
    }

    /// Seconds until `key` may act again, or nil when it may act now.
    public func retryAfter(_ key: String) -> Int? {
        let now = clock()
        let recent = prune(key, now: now)
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
    }

    /// Counts one event for `key`.
    public func record(_ key: String) {
        let now = clock()
        var recent = prune(key, now: now)
        recent.append(now)
        events[key] = recent
        if events.count > 100_000 { events = events.filter { !$0.value.isEmpty } }
    }

    /// Forgets `key` (after a successful login, say).
    public func reset(_ key: String) {
        events[key] = nil
    }

    private func prune(_ key: String, now: Date) -> [Date] {
        let recent = (events[key] ?? []).filter { now.timeIntervalSince($0) < window }
        events[key] = recent.isEmpty ? nil : recent
        return recent
    }
}
