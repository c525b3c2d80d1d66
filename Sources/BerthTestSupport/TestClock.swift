import Foundation
import Synchronization

/// A clock tests move by hand, so lifetimes of minutes can be checked in milliseconds.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    /// Creates a clock that reads `start`, by default the current time rounded down to a whole
    /// second, so its dates survive a round trip through the store exactly.
    public init(start: Date = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))) {
        current = Mutex(start)
    }

    /// The clock's time.
    public func now() -> Date {
        current.withLock { $0 }
    }

    /// Moves the clock forward.
    public func advance(seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
