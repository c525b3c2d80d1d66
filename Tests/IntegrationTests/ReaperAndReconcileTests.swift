import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

extension Integration {
    @Suite("Expiry, exits and reconciliation")
    struct ReaperAndReconcileTests {
        @Test("the expiry reaper removes an expired instance within 5 s of its expiry")
        func reaperWithinFiveSeconds() async throws {
            try await LifecycleHarness.with(environments: [Environments.short]) { harness in
                let alice = try await harness.player("alice")
                let instance = try await harness.lifecycle.request(environment: Environments.shortSlug, by: alice)
                let containerID = try #require(instance.containerID)
                #expect(instance.expiresAt.timeIntervalSince(instance.createdAt) == 2)

                let reaper = ExpiryReaper(lifecycle: harness.lifecycle, interval: .seconds(1), logger: harness.logger)
                let goneAt: Date? = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await reaper.run() }
                    defer { group.cancelAll() }
                    // The reaper records the end after it removed the container: cancelling it
                    // as soon as the container is gone could cut that write short.
                    let deadline = instance.expiresAt.addingTimeInterval(5)
                    var removedAt: Date?
                    while Date() < deadline {
                        if removedAt == nil, try await !harness.containerExists(containerID) { removedAt = Date() }
                        if removedAt != nil, try await harness.store.instances.instance(id: instance.id)?.state == .expired { break }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    return removedAt
                }
                let removedAt = try #require(goneAt, "the container still exists 5 s after expiry")
                #expect(removedAt >= instance.expiresAt, "removed before it expired")
                #expect(removedAt.timeIntervalSince(instance.expiresAt) <= 5)
                let stored = try #require(try await harness.store.instances.instance(id: instance.id))
                #expect(stored.state == .expired)
                #expect(stored.reason == EndReason.expired)
                #expect(try await harness.lifecycle.activeCount() == 0)
            }
        }

        @Test("reapExpired ends exactly the instances whose expiry has passed")
        func reapExpiredWithClock() async throws {
            let clock = TestClock()
            try await LifecycleHarness.with(environments: [Environments.shell, Environments.capped], clock: clock.now) { harness in
                let alice = try await harness.player("alice")
                let shell = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let capped = try await harness.lifecycle.request(environment: Environments.cappedSlug, by: alice)
                #expect(await harness.lifecycle.reapExpired() == 0)

                clock.advance(seconds: 599)
                #expect(await harness.lifecycle.reapExpired() == 0, "one second before expiry nothing is reaped")
                _ = try await harness.lifecycle.renew(capped.id, by: alice)
                clock.advance(seconds: 1)
                #expect(await harness.lifecycle.reapExpired() == 1)
                #expect(try await harness.store.instances.instance(id: shell.id)?.state == .expired)
                #expect(try await harness.store.instances.instance(id: capped.id)?.state == .running, "the renewed one lives on")
                let shellContainer = try #require(shell.containerID)
                #expect(try await harness.containerExists(shellContainer) == false)

                // An expiry cut short after it marked the instance stopping (the server shut down)
                // is finished by the next pass, and still ends as expired.
                var interrupted = try #require(try await harness.store.instances.instance(id: capped.id))
                interrupted.state = .stopping
                interrupted.reason = EndReason.expired
                try await harness.store.instances.updateInstance(interrupted)
                #expect(await harness.lifecycle.reapExpired() == 1)
                let finished = try await harness.store.instances.instance(id: capped.id)
                #expect(finished?.state == .expired)
                #expect(finished?.reason == EndReason.expired)
                #expect(try await harness.containerExists(try #require(capped.containerID)) == false)
            }
        }

        @Test("a container that dies on its own marks its instance failed and is cleaned up")
        func exitWatcher() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let containerID = try #require(instance.containerID)
                let watcher = ContainerExitWatcher(lifecycle: harness.lifecycle, runtime: harness.runtime, logger: harness.logger)
                let state: InstanceState? = try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await watcher.run() }
                    defer { group.cancelAll() }
                    // Let the event stream connect before the container dies.
                    try await Task.sleep(for: .milliseconds(500))
                    try await harness.docker.stopContainer(containerID, timeoutSeconds: 1)
                    var seen: InstanceState?
                    _ = try await eventually(within: 10) {
                        seen = try await harness.store.instances.instance(id: instance.id)?.state
                        return seen == .failed
                    }
                    return seen
                }
                #expect(state == .failed)
                let stored = try #require(try await harness.store.instances.instance(id: instance.id))
                #expect(stored.reason?.contains("press Start") == true, "\(stored.reason ?? "")")
                #expect(try await harness.containerExists(containerID) == false)
                #expect(try await harness.lifecycle.activeCount() == 0)
            }
        }

        @Test("while serving, the reconcile loop ends an instance whose container died unseen and removes orphans; live instances are untouched")
        func reconcileWhileServing() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let kept = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let died = try await harness.lifecycle.request(environment: Environments.shellSlug, by: bob)
                let keptContainer = try #require(kept.containerID)
                // No exit watcher runs: the engine's event stream is "down", so only reconciliation can notice.
                try await harness.docker.removeContainer(try #require(died.containerID), force: true)
                try await EngineFixture.with { fixture in
                    let orphan = try await fixture.runContainer("orphan", command: ["sleep", "300"]) {
                        $0.labels.merge([
                            BerthLabel.instance: Identifier.make("inst"), BerthLabel.environment: Environments.shellSlug,
                            BerthLabel.owner: "user:\(alice.id)", BerthLabel.namespace: harness.runtime.namespace,
                        ]) { $1 }
                    }
                    let loop = ReconcileLoop(lifecycle: harness.lifecycle, cluster: harness.store.cluster, interval: .seconds(1), logger: harness.logger)
                    let noticed = try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await loop.run() }
                        defer { group.cancelAll() }
                        return try await eventually(within: 15) {
                            let ended = try await harness.store.instances.instance(id: died.id)?.state == .failed
                            let orphanLeft = try await harness.containerExists(orphan)
                            return ended && !orphanLeft
                        }
                    }
                    #expect(noticed, "the loop did not end the instance and remove the orphan within 15 s")
                }
                let diedNow = try #require(try await harness.store.instances.instance(id: died.id))
                #expect(diedNow.reason == "its container vanished")
                #expect(try await harness.store.instances.instance(id: kept.id)?.state == .running)
                #expect(try await harness.containerExists(keptContainer), "a live instance's container is never an orphan")
                #expect(try await harness.lifecycle.activeCount() == 1)
                // A second pass has nothing left to do.
                let again = try await harness.lifecycle.sweep()
                #expect(again.closed == 0 && again.orphansRemoved == 0 && again.orphanRemovalsFailed == 0)
            }
        }

        @Test("after a restart: running instances are adopted, vanished ones closed, half-done ones failed, orphans removed")
        func reconcile() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell, Environments.web]) { harness in
                let docker = harness.docker
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let kept = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let vanished = try await harness.lifecycle.request(environment: Environments.shellSlug, by: bob)
                let withNetwork = try await harness.lifecycle.request(environment: Environments.webSlug, by: bob)
                try await docker.removeContainer(try #require(vanished.containerID), force: true)
                // The web instance's container is gone too, but its network stays behind as an orphan.
                try await docker.removeContainer(try #require(withNetwork.containerID), force: true)
                let orphanNetwork = try #require(withNetwork.networkID)

                // Work cut short by a crash: the intent was stored, the engine never called.
                let now = Date()
                let halfDone = Instance(
                    id: Identifier.make("inst"), environment: Environments.shellSlug, owner: Owner(kind: .user, id: alice.id),
                    requestedBy: alice.id, state: .requested, createdAt: now, updatedAt: now,
                    expiresAt: now.addingTimeInterval(600), maxExpiresAt: now.addingTimeInterval(1500), renewalsLeft: 2
                )
                try await harness.store.instances.insertInstance(halfDone)

                // A labelled container no stored instance owns, and one of another Berth on the same engine.
                try await EngineFixture.with { fixture in
                    let labels = [
                        BerthLabel.instance: Identifier.make("inst"), BerthLabel.environment: Environments.shellSlug,
                        BerthLabel.owner: "user:\(alice.id)", BerthLabel.namespace: harness.runtime.namespace,
                    ]
                    let orphan = try await fixture.runContainer("orphan", command: ["sleep", "300"]) { $0.labels.merge(labels) { $1 } }
                    let foreignNamespace = "test-foreign-\(UniqueName.make())"
                    let foreign = try await fixture.runContainer("foreign", command: ["sleep", "300"]) {
                        $0.labels.merge(labels) { $1 }
                        $0.labels[BerthLabel.namespace] = foreignNamespace
                    }
                    try await reconcileAfterRestart(
                        harness, alice: alice, kept: kept, vanished: vanished, withNetwork: withNetwork,
                        orphanNetwork: orphanNetwork, halfDone: halfDone, orphan: orphan, foreign: foreign
                    )
                }
            }
        }

        func reconcileAfterRestart(
            _ harness: LifecycleHarness, alice: User, kept: Instance, vanished: Instance, withNetwork: Instance,
            orphanNetwork: String, halfDone: Instance, orphan: String, foreign: String
        ) async throws {
            let docker = harness.docker
            let restarted = harness.restartedLifecycle()
            let report = try await restarted.reconcile()
            #expect(report.adopted == 1)
            #expect(report.closed == 3)
            #expect(report.orphansRemoved == 2, "the orphan container and the orphan network")

            #expect(try await harness.store.instances.instance(id: kept.id)?.state == .running)
            let vanishedNow = try #require(try await harness.store.instances.instance(id: vanished.id))
            #expect(vanishedNow.state == .stopped)
            #expect(vanishedNow.reason == "its container vanished")
            let halfDoneNow = try #require(try await harness.store.instances.instance(id: halfDone.id))
            #expect(halfDoneNow.state == .failed)
            #expect(halfDoneNow.reason?.contains("interrupted") == true)
            #expect(try await harness.store.instances.instance(id: withNetwork.id)?.state == .stopped)

            #expect(try await harness.containerExists(orphan) == false)
            let keptContainer = try #require(kept.containerID)
            #expect(try await harness.containerExists(keptContainer))
            #expect(try await harness.containerExists(foreign), "another namespace's container is not touched")
            #expect(try await docker.listNetworks(labels: [harness.namespaceFilter]).contains { $0.id == orphanNetwork } == false)

            // The adopted instance is fully managed by the new lifecycle.
            #expect(try await restarted.activeCount() == 1)
            let stopped = try await restarted.stop(kept.id, by: alice)
            #expect(stopped.state == .stopped)
        }
    }
}
