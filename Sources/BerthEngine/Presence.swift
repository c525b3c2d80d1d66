import BerthCore
import BerthStore
import Foundation
import Logging

/// Who is with each instance, for `lifetime.whenDisconnected`: its owners' terminals while their
/// WebSocket is open, and its owners' editor while the page keeps sending heartbeats (every
/// ``editorHeartbeatSeconds``; file API calls count as heartbeats too), each lasting
/// ``editorGrace`` so one late heartbeat is not a departure.
///
/// Spectators are not counted: a share link or an admin watching does not keep an instance alive,
/// or a forgotten share tab (or an admin's wall of screens) would hold containers nobody works in
/// for ever. The callers decide who counts (the ticket of an owner's own terminal, an owner's
/// heartbeat or file call) and tell this type only about those.
///
/// It lives in the store (``PresenceRepository``), one row per instance and replica, so every
/// replica behind a load balancer sees the same attendance: a terminal open through replica A
/// keeps B's reaper away, and when A dies its terminals count as left at A's last heartbeat
/// (``ReplicaLiveness/deadAfterSeconds``). Absence still never counts from before this server
/// started (``trackingSince``): a server upgraded from in-memory presence has no rows yet, and
/// pages whose WebSocket dropped with a restart take a few seconds to reconnect.
public struct Presence: Sendable {
    /// How often the editor and lab pages send a heartbeat while visible, in seconds.
    public static let editorHeartbeatSeconds = 30
    /// How long an editor heartbeat (or file API call) keeps an instance attended, in seconds: two
    /// heartbeats and a margin for a slow network or a throttled background tab.
    public static let editorGrace: TimeInterval = 75

    /// When this server started tracking presence; nobody's absence is counted from before it.
    public let trackingSince: Date
    /// The replica whose rows this server writes (``ReplicaIdentity/id``).
    public let replicaID: String
    private let store: PresenceRepository

    /// A register in `store` for replica `replicaID`, counting absences from `since` at the earliest.
    public init(since: Date, store: PresenceRepository, replicaID: String = Identifier.make("rep")) {
        self.trackingSince = since
        self.store = store
        self.replicaID = replicaID
    }

    /// An owner's terminal WebSocket opened on the instance.
    public func terminalOpened(_ instanceID: String) async throws {
        try await store.terminalOpened(instanceID: instanceID, replicaID: replicaID)
    }

    /// An owner's terminal WebSocket closed at `time`.
    public func terminalClosed(_ instanceID: String, at time: Date) async throws {
        try await store.terminalClosed(instanceID: instanceID, replicaID: replicaID, at: time)
    }

    /// ``terminalOpened(_:)`` for a terminal route: true when counted; false, logged, when the
    /// store did not take it (the terminal still works; its close must not be counted either, or
    /// it would cancel another terminal's open).
    public func countTerminalOpened(_ instanceID: String, logger: Logger) async -> Bool {
        do {
            try await terminalOpened(instanceID)
            return true
        } catch {
            logger.error("terminal not counted as presence", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
            return false
        }
    }

    /// ``terminalClosed(_:at:)`` now, for a terminal route whose open was counted; a failure is
    /// logged (the instance then looks attended until it ends, never stopped on missing data).
    public func countTerminalClosed(_ instanceID: String, logger: Logger) async {
        do {
            try await terminalClosed(instanceID, at: Date())
        } catch {
            logger.error("terminal close not counted as presence", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
        }
    }

    /// An owner's editor sent a heartbeat (or called the file API) at `time`.
    public func editorSeen(_ instanceID: String, at time: Date) async throws {
        try await store.editorSeen(instanceID: instanceID, replicaID: replicaID, until: time.addingTimeInterval(Self.editorGrace))
    }

    /// Whether the instance is attended at `now`, through any live replica.
    public func attendance(of instanceID: String, at now: Date) async throws -> Attendance {
        try await store.attendance(instanceID: instanceID, now: now, deadBefore: Self.deadBefore(now))
    }

    /// The attendance of every instance anyone was seen with (one query, for a sweep); an
    /// instance missing from the answer is ``Attendance/absent(lastSeen:)`` with nil.
    public func attendanceOfAll(at now: Date) async throws -> [String: Attendance] {
        try await store.attendanceOfAll(now: now, deadBefore: Self.deadBefore(now))
    }

    /// When `instance` stops for being left alone `seconds` after everyone left, nil when someone
    /// is with it now or it is not running. Absence counts from the latest of the instance's
    /// start, this server's start and the moment the last one left.
    public func disconnectStopAt(_ instance: Instance, after seconds: Int, now: Date) async throws -> Date? {
        guard instance.state == .running else { return nil }
        return disconnectStopAt(instance, after: seconds, attendance: try await attendance(of: instance.id, at: now))
    }

    /// ``disconnectStopAt(_:after:now:)`` with the instance's attendance already read.
    public func disconnectStopAt(_ instance: Instance, after seconds: Int, attendance: Attendance) -> Date? {
        guard instance.state == .running, case .absent(let lastSeen) = attendance else { return nil }
        let since = max(instance.createdAt, trackingSince, lastSeen ?? .distantPast)
        return since.addingTimeInterval(TimeInterval(seconds))
    }

    /// Drops what is known of instances that are no longer active in the store.
    public func forgetEnded() async throws {
        try await store.forgetEnded()
    }

    /// Replicas whose last heartbeat is before this at `now` are dead. Heartbeats are written on
    /// the wall clock, so a `now` in the future (a sweep asking "who would be stopped then?")
    /// never makes a replica that is beating right now dead.
    static func deadBefore(_ now: Date) -> Date {
        min(now, Date()).addingTimeInterval(-ReplicaLiveness.deadAfterSeconds)
    }
}

extension BerthServices {
    /// When `instance` stops because nobody is connected (its environment's
    /// `lifetime.whenDisconnected`), nil when the environment has no such setting, someone is
    /// connected now, or the instance is not running.
    public func disconnectStopAt(_ instance: Instance, now: Date) async throws -> Date? {
        guard let seconds = await catalog.environment(instance.environment)?.berth.lifetime.whenDisconnectedSeconds else { return nil }
        return try await presence.disconnectStopAt(instance, after: seconds, now: now)
    }

    /// Records that `user` used instance `instance`'s editor or file API at `time`; only its
    /// owners (the user, or a member of the owning team) keep it alive.
    public func editorSeen(_ instance: Instance, by user: User, at time: Date) async throws {
        guard instance.state.isActive, try await lifecycle.isOwner(instance, user) else { return }
        try await presence.editorSeen(instance.id, at: time)
    }
}
