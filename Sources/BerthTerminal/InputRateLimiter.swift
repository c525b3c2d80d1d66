/// A token bucket over input bytes: `rate` bytes per second sustained, `burst` at once.
public struct InputRateLimiter: Sendable {
    /// Sustained bytes per second.
    public let rate: Double
    /// Bucket size in bytes.
    public let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    /// Creates a full bucket.
    public init(bytesPerSecond: Int, burstBytes: Int, now: ContinuousClock.Instant = .now) {
        rate = Double(max(1, bytesPerSecond))
        burst = Double(max(1, burstBytes))
        tokens = burst
        last = now
    }

    /// Takes `bytes` from the bucket; false (and nothing taken) when there are not enough.
    public mutating func allow(_ bytes: Int, now: ContinuousClock.Instant = .now) -> Bool {
        refill(now: now)
        guard Double(bytes) <= tokens else { return false }
        tokens -= Double(bytes)
        return true
    }

    /// Takes `bytes` from the bucket, borrowing from the future when it holds fewer, and returns
    /// how long the caller must wait before passing them on (zero when they fit). Input is held
    /// back, never refused: a chunk larger than the burst still goes through, after its wait.
    /// Callers that reserve one chunk at a time, and wait before reading the next, keep the
    /// sustained rate and bound what they hold to one chunk.
    public mutating func reserve(_ bytes: Int, now: ContinuousClock.Instant = .now) -> Duration {
        refill(now: now)
        tokens -= Double(max(0, bytes))
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = now - last
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + max(0, seconds) * rate)
        last = max(last, now)
    }
}
