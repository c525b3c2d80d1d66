import BerthCore
import Foundation
import Logging
import ServiceLifecycle

/// Stops instances whose environment sets `lifetime.idle` once nobody has been connected to
/// their terminals for that long (counted from the start when nobody ever connected).
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

    /// Ends every running instance idle for longer than its environment allows at `now`.
    public func sweep(now: Date) async {
        for instance in await services.lifecycle.activeInstances() where instance.state == .running {
            guard let idle = await services.catalog.environment(instance.environment)?.berth.lifetime.idleSeconds else { continue }
            let since = max(instance.createdAt, await services.terminals.lastConnected(instanceID: instance.id) ?? instance.createdAt)
            guard now.timeIntervalSince(since) > TimeInterval(idle) else { continue }
            logger.info("stopping idle instance", metadata: ["instance.id": "\(instance.id)", "idle.seconds": "\(idle)"])
            await services.lifecycle.end(instance.id, reason: "nobody was connected for \(DurationText.format(idle))")
        }
    }
}
