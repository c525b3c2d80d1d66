import BerthCore
import Foundation

/// Whether anyone who keeps an instance alive is with it now.
public enum Attendance: Sendable, Equatable {
    /// An owner's terminal is open, or an owner's editor sent a heartbeat within ``Presence/editorGrace``.
    case present
    /// Nobody is: `lastSeen` is when the last one left (a terminal closed, an editor's grace ran
    /// out), nil when nobody was ever seen since this server started tracking.
    case absent(lastSeen: Date?)
}

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
/// It lives in one server's memory: after a restart presence is unknown, so instances count from
/// ``trackingSince`` (pages reconnect within seconds). This small actor is the seam where shared
/// presence across replicas can move into the store.
public actor Presence {
    private struct Entry {
        var terminals = 0
        var terminalLeft: Date?
        var editorUntil: Date?
    }

    /// How often the editor and lab pages send a heartbeat while visible, in seconds.
    public static let editorHeartbeatSeconds = 30
    /// How long an editor heartbeat (or file API call) keeps an instance attended, in seconds: two
    /// heartbeats and a margin for a slow network or a throttled background tab.
    public static let editorGrace: TimeInterval = 75

    /// When this server started tracking presence; nobody's absence is counted from before it.
    public nonisolated let trackingSince: Date
    private var entries: [String: Entry] = [:]

    /// Creates an empty register that starts tracking at `since`.
    public init(since: Date) {
        self.trackingSince = since
    }

    /// An owner's terminal WebSocket opened on the instance.
    public func terminalOpened(_ instanceID: String) {
        entries[instanceID, default: Entry()].terminals += 1
    }

    /// An owner's terminal WebSocket closed at `time`.
    public func terminalClosed(_ instanceID: String, at time: Date) {
        guard var entry = entries[instanceID], entry.terminals > 0 else { return }
        entry.terminals -= 1
        if entry.terminals == 0 { entry.terminalLeft = time }
        entries[instanceID] = entry
    }

    /// An owner's editor sent a heartbeat (or called the file API) at `time`.
    public func editorSeen(_ instanceID: String, at time: Date) {
        let until = time.addingTimeInterval(Self.editorGrace)
        var entry = entries[instanceID, default: Entry()]
        entry.editorUntil = max(entry.editorUntil ?? until, until)
        entries[instanceID] = entry
    }

    /// Whether the instance is attended at `now`.
    public func attendance(of instanceID: String, at now: Date) -> Attendance {
        guard let entry = entries[instanceID] else { return .absent(lastSeen: nil) }
        if entry.terminals > 0 { return .present }
        if let until = entry.editorUntil, until > now { return .present }
        let seen = [entry.terminalLeft, entry.editorUntil].compactMap { $0 }.max()
        return .absent(lastSeen: seen)
    }

    /// When `instance` stops for being left alone `seconds` after everyone left, nil when someone
    /// is with it now or it is not running. Absence counts from the latest of the instance's
    /// start, this server's start and the moment the last one left.
    public func disconnectStopAt(_ instance: Instance, after seconds: Int, now: Date) -> Date? {
        guard instance.state == .running, case .absent(let lastSeen) = attendance(of: instance.id, at: now) else { return nil }
        let since = max(instance.createdAt, trackingSince, lastSeen ?? .distantPast)
        return since.addingTimeInterval(TimeInterval(seconds))
    }

    /// Drops what is known of instances that are no longer active.
    public func keepOnly(_ instanceIDs: Set<String>) {
        entries = entries.filter { instanceIDs.contains($0.key) }
    }
}

extension BerthServices {
    /// When `instance` stops because nobody is connected (its environment's
    /// `lifetime.whenDisconnected`), nil when the environment has no such setting, someone is
    /// connected now, or the instance is not running.
    public func disconnectStopAt(_ instance: Instance, now: Date) async -> Date? {
        guard let seconds = await catalog.environment(instance.environment)?.berth.lifetime.whenDisconnectedSeconds else { return nil }
        return await presence.disconnectStopAt(instance, after: seconds, now: now)
    }

    /// Records that `user` used instance `instance`'s editor or file API at `time`; only its
    /// owners (the user, or a member of the owning team) keep it alive.
    public func editorSeen(_ instance: Instance, by user: User, at time: Date) async throws {
        guard instance.state.isActive, try await lifecycle.isOwner(instance, user) else { return }
        await presence.editorSeen(instance.id, at: time)
    }
}
