import BerthCore
import Foundation
import Logging
import ServiceLifecycle

/// Stops instances whose environment sets `lifetime.whenDisconnected` once none of their owners'
/// terminals or editors has been connected for that long (counted from the start when nobody ever
/// connected; see ``Presence``). The stop is the lifecycle's own (``InstanceLifecycle/end(_:reason:)``),
/// the path that keeps an instance's workspace.
public struct DisconnectReaper: Service {
    let services: BerthServices
    let interval: Duration
    let logger: Logger

    /// Creates a reaper that sweeps every `interval`.
    public init(services: BerthServices, interval: Duration, logger: Logger) {
        self.services = services
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await sweep(now: Date()) }
    }

    /// Ends every running instance that nobody has been connected to for longer than its
    /// environment allows at `now`, and forgets the presence of instances no longer active.
    public func sweep(now: Date) async {
        let active: [Instance]
        do {
            active = try await services.lifecycle.activeInstances()
        } catch {
            logger.warning("disconnect sweep skipped: the store did not answer", metadata: ["error": "\(error)"])
            return
        }
        // Every replica's presence, in one read; when the store does not answer, nobody is
        // stopped: an instance is never stopped on missing data.
        let attendance: [String: Attendance]
        do {
            try await services.presence.forgetEnded()
            attendance = try await services.presence.attendanceOfAll(at: now)
        } catch {
            logger.warning("disconnect sweep skipped: presence could not be read", metadata: ["error": "\(error)"])
            return
        }
        for instance in active where instance.state == .running {
            guard let environment = await services.catalog.environment(instance.environment),
                  let seconds = environment.berth.lifetime.whenDisconnectedSeconds,
                  let stopAt = services.presence.disconnectStopAt(instance, after: seconds, attendance: attendance[instance.id] ?? .absent(lastSeen: nil)),
                  now >= stopAt
            else { continue }
            // Read again just before stopping: a terminal may have opened, through any replica,
            // since the sweep's read.
            do {
                guard let again = try await services.presence.disconnectStopAt(instance, after: seconds, now: now), now >= again else { continue }
            } catch {
                logger.warning("instance not stopped: presence could not be read", metadata: ["instance.id": "\(instance.id)", "error": "\(error)"])
                continue
            }
            logger.info("stopping instance nobody is connected to", metadata: [
                "instance.id": "\(instance.id)", "when_disconnected.seconds": "\(seconds)",
            ])
            await services.lifecycle.end(instance.id, reason: EndReason.disconnected(seconds: seconds, hasWorkspace: environment.berth.workspace != nil))
        }
    }
}

extension EndReason {
    /// Nobody was connected for the environment's `lifetime.whenDisconnected`.
    public static func disconnected(seconds: Int, hasWorkspace: Bool) -> String {
        let after = hasWorkspace ? "your workspace was saved; press Start to carry on" : "press Start for a fresh one"
        return "stopped because nobody was connected for \(spoken(seconds)); \(after)"
    }

    /// A duration in words: `600` → "10 minutes", `5400` → "1 hour 30 minutes", `1` → "1 second".
    static func spoken(_ seconds: Int) -> String {
        var parts: [String] = []
        var rest = max(seconds, 0)
        for (unit, name) in [(86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")] where rest >= unit {
            let count = rest / unit
            rest %= unit
            parts.append("\(count) \(name)\(count == 1 ? "" : "s")")
        }
        return parts.isEmpty ? "0 seconds" : parts.joined(separator: " ")
    }
}
