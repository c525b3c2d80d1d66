import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// Runs `work` now (or after one `interval` when `waitingFirst`) and then every `interval`, until
/// the server shuts down gracefully or the task is cancelled: the loop of Berth's periodic services
/// (reapers, retention, audit summaries). Every wait ends at the shutdown.
public func repeatUntilShutdown(every interval: Duration, waitingFirst: Bool = false, _ work: @escaping @Sendable () async -> Void) async {
    await cancelWhenGracefulShutdown {
        if waitingFirst {
            do { try await Task.sleep(for: interval) } catch { return }
        }
        while !Task.isCancelled {
            await work()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}

/// Removes expired instances: wakes every `interval` and asks the lifecycle to reap, so an
/// instance is gone within `interval` plus the engine's removal time of its expiry.
public struct ExpiryReaper: Service {
    let lifecycle: InstanceLifecycle
    let interval: Duration
    let logger: Logger

    /// Creates a reaper.
    public init(lifecycle: InstanceLifecycle, interval: Duration, logger: Logger) {
        self.lifecycle = lifecycle
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await lifecycle.reapExpired() }
    }
}

/// Brings store and engine into agreement every `interval` while serving
/// (``InstanceLifecycle/sweep()``): a container that died while the engine's event stream was
/// down is noticed within `interval`, and orphans whose removal failed are tried again. With
/// several replicas on one database, one of them (the leader of `berth.reconcile`) sweeps at a
/// time; the others skip the pass.
public struct ReconcileLoop: Service {
    let lifecycle: InstanceLifecycle
    let cluster: ClusterRepository
    let interval: Duration
    let logger: Logger

    public init(lifecycle: InstanceLifecycle, cluster: ClusterRepository, interval: Duration, logger: Logger) {
        self.lifecycle = lifecycle
        self.cluster = cluster
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // The start-up reconciliation has just run: the first pass waits one interval.
        await repeatUntilShutdown(every: interval, waitingFirst: true) {
            do {
                _ = try await cluster.withLeadership("berth.reconcile") { try await lifecycle.sweep() }
            } catch {
                // A pass cut short by the shutdown is no failure.
                guard !Task.isCancelled else { return }
                logger.warning("reconciliation failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Follows the engine's container events and tells the lifecycle when an instance's container
/// dies on its own; reconnects with a pause when the event stream drops.
public struct ContainerExitWatcher: Service {
    let lifecycle: InstanceLifecycle
    let runtime: any InstanceRuntime
    let retryDelay: Duration
    let logger: Logger

    /// Creates a watcher.
    public init(lifecycle: InstanceLifecycle, runtime: any InstanceRuntime, retryDelay: Duration = .seconds(2), logger: Logger) {
        self.lifecycle = lifecycle
        self.runtime = runtime
        self.retryDelay = retryDelay
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await runtime.watchEnds { end in
                        await lifecycle.containerExited(
                            instanceID: end.instanceID, exitCode: end.exitCode, oomKilled: end.oomKilled, containerID: end.containerID, reason: end.reason
                        )
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("engine event stream dropped; reconnecting", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: retryDelay) } catch { return }
            }
        }
    }
}
