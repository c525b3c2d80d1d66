import Foundation
import Synchronization

/// A clock tests move by hand, so lifetimes of minutes can be checked in milliseconds.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    /// Creates a clock that reads `start`.
    public init(start: Date = Date()) {
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
