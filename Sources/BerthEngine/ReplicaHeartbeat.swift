import BerthCore
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps this replica's row in the store alive, so the other replicas know it holds its claims
/// and terminals: registers it at start, writes a heartbeat every interval (registering again
/// when the row vanished), forgets replicas dead for long, and removes its own row at a graceful
/// shutdown, so its claims and terminals pass to the others at once. A replica that crashes
/// leaves its row to go stale: it counts as dead ``ReplicaLiveness/deadAfterSeconds`` after its
/// last heartbeat.
///
/// A store outage never stops the service: each failed beat is retried at the next interval
/// (logged once when it starts and once when it ends, not every second).
public struct ReplicaHeartbeat: Service {
    /// How long a replica may be silent before its row (and what it still held) is purged.
    public static let purgeAfterSeconds: Double = 3600
    /// How often the purge runs, on every replica (it is idempotent).
    public static let purgeInterval: Duration = .seconds(60)

    let store: BerthDatabase
    let replica: ReplicaIdentity
    let version: String
    let interval: Duration
    let logger: Logger

    /// Creates the heartbeat of `replica`, every `interval` (``ReplicaLiveness/heartbeatSeconds`` by default).
    public init(
        store: BerthDatabase, replica: ReplicaIdentity, version: String = BerthVersion.current,
        interval: Duration = .milliseconds(Int64(ReplicaLiveness.heartbeatSeconds * 1000)), logger: Logger
    ) {
        self.store = store
        self.replica = replica
        self.version = version
        self.interval = interval
        var logger = logger
        logger[metadataKey: "replica.id"] = "\(replica.id)"
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var state = BeatState()
            while !Task.isCancelled {
                await beat(&state, now: Date())
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
        // Cancelled rather than shut down gracefully: the row goes stale instead.
        guard !Task.isCancelled else { return }
        do {
            try await store.cluster.remove(id: replica.id)
            logger.info("replica left the cluster")
        } catch {
            logger.warning("replica row not removed; it goes stale", metadata: ["error": "\(error)"])
        }
    }

    /// What the beats remember between them.
    struct BeatState {
        var registered = false
        var failing = false
        var lastPurge: Date?
    }

    /// One beat: registers when not registered yet (or the row vanished), else refreshes the
    /// heartbeat; purges long-dead replicas now and then.
    func beat(_ state: inout BeatState, now: Date) async {
        let cluster = store.cluster
        do {
            if state.registered, try await cluster.heartbeat(id: replica.id, at: now) {
                // Alive as before.
            } else {
                if state.registered {
                    logger.warning("replica row vanished; registering again")
                }
                try await cluster.register(replica, version: version, at: now)
                if !state.registered {
                    logger.info("replica registered", metadata: ["replica.internal_url": "\(replica.internalURL)", "replica.version": "\(version)"])
                }
                state.registered = true
            }
            if state.failing {
                logger.info("replica heartbeat recovered")
                state.failing = false
            }
            if state.lastPurge.map({ now.timeIntervalSince($0) >= Double(Self.purgeInterval.components.seconds) }) ?? true {
                state.lastPurge = now
                let purged = try await cluster.purgeDead(now: now, olderThan: Self.purgeAfterSeconds)
                if purged > 0 {
                    logger.info("dead replicas forgotten", metadata: ["replicas.purged": "\(purged)"])
                }
            }
        } catch {
            guard !Task.isCancelled else { return }
            if !state.failing {
                logger.warning("replica heartbeat failed; retrying every interval", metadata: ["error": "\(error)"])
                state.failing = true
            } else {
                logger.debug("replica heartbeat still failing", metadata: ["error": "\(error)"])
            }
        }
    }
}
