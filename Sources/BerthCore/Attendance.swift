import Foundation

/// Whether anyone who keeps an instance alive is with it now (for `lifetime.whenDisconnected`).
public enum Attendance: Sendable, Equatable {
    /// An owner's terminal is open on a live replica, or an owner's editor sent a heartbeat
    /// recently enough (its grace has not run out).
    case present
    /// Nobody is: `lastSeen` is when the last one left (a terminal closed, an editor's grace ran
    /// out, the replica holding an open terminal last gave a heartbeat), nil when nobody was ever
    /// seen.
    case absent(lastSeen: Date?)
}
