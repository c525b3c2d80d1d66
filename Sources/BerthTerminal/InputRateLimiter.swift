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
        let elapsed = now - last
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * rate)
        last = now
        guard Double(bytes) <= tokens else { return false }
        tokens -= Double(bytes)
        return true
    }
}
