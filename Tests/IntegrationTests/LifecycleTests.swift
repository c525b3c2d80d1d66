import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

extension Integration {
    @Suite("InstanceLifecycle")
    struct LifecycleTests {
        @Test("request: the intent is stored, then a labelled container runs")
        func requestRuns() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                #expect(instance.state == .running)
                #expect(instance.environment == Environments.shellSlug)
                #expect(instance.owner == Owner(kind: .user, id: alice.id))
                #expect(instance.requestedBy == alice.id)
                #expect(instance.renewalsLeft == 2)
                #expect(instance.expiresAt.timeIntervalSince(instance.createdAt) == 600)
                #expect(instance.maxExpiresAt.timeIntervalSince(instance.createdAt) == 1500)
                #expect(instance.networkID == nil, "network: none gets no network of its own")
                #expect(instance.endpoints.isEmpty)

                let container = try await harness.container(of: instance)
                #expect(container.state.running)
                #expect(container.name == "/berth-\(instance.id)")
                let labels = container.config.labels ?? [:]
                #expect(labels[BerthLabel.instance] == instance.id)
                #expect(labels[BerthLabel.environment] == Environments.shellSlug)
                #expect(labels[BerthLabel.owner] == "user:\(alice.id)")
                #expect(labels[BerthLabel.namespace] == harness.runtime.namespace)
                // Started from the image id its content tag named, not from a tag another build may move.
                let shellSpec = try #require(await harness.catalog.environment(Environments.shellSlug))
                let builtID = try await ImageBuilder(docker: harness.docker).imageID(
                    for: shellSpec, folder: await harness.catalog.folder(of: Environments.shellSlug)
                )
                #expect(container.config.image == builtID)
                #expect(container.imageID == builtID)

                let stored = try #require(try await harness.store.instances.instance(id: instance.id))
                #expect(stored.state == .running)
                #expect(stored.containerID == instance.containerID)
                let kinds = try await harness.store.instances.events(instanceID: instance.id, limit: 10).reversed().map(\.kind)
                #expect(kinds == ["instance.requested", "instance.starting", "instance.running"])

                let marker = try await harness.exec(instance, "cat /etc/berth-marker; id -u; pwd")
                #expect(marker.stdout == "built-by-berth\n1000\n/home/player\n", "runs the built image as the terminal user")

                let visible = try await harness.lifecycle.instances(for: alice)
                #expect(visible.map(\.id) == [instance.id])
                #expect(try await harness.lifecycle.instances(for: harness.player("bob")).isEmpty)
                #expect(try await harness.lifecycle.instances(for: harness.admin).map(\.id) == [instance.id])
            }
        }

        @Test("an unknown environment is 404; a missing image is 409 image_not_built and the instance is failed")
        func requestFailures() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                await expectBerthError(.environmentNotFound) {
                    _ = try await harness.lifecycle.request(environment: "no-such-environment", by: alice)
                }
                let shellSpec = try #require(await harness.catalog.environment(Environments.shellSlug))
                let reference = try #require(try await ImageBuilder.reference(for: shellSpec, folder: await harness.catalog.folder(of: Environments.shellSlug)))
                try await harness.docker.removeImage(reference, force: true)
                await expectBerthError(.imageNotBuilt) {
                    _ = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                }
                let stored = try await harness.store.instances.instances(InstanceQuery())
                #expect(stored.map(\.state) == [.failed], "the intent was recorded, then marked failed")
                #expect(stored.first?.reason?.contains("not built") == true)
                #expect(try await harness.lifecycle.activeCount() == 0)
                #expect(try await harness.docker.listContainers(labels: [harness.namespaceFilter]).isEmpty, "nothing is left behind")
            }
        }

        @Test("renew extends from now by the ttl, at most N times")
        func renewCount() async throws {
            let clock = TestClock()
            try await LifecycleHarness.with(environments: [Environments.shell], clock: clock.now) { harness in
                let alice = try await harness.player("alice")
                let started = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let created = started.createdAt

                clock.advance(seconds: 300)
                let first = try await harness.lifecycle.renew(started.id, by: alice)
                #expect(first.expiresAt == created.addingTimeInterval(900))
                #expect(first.renewalsLeft == 1)

                clock.advance(seconds: 300)
                let second = try await harness.lifecycle.renew(started.id, by: alice)
                #expect(second.expiresAt == created.addingTimeInterval(1200))
                #expect(second.renewalsLeft == 0)

                await expectBerthError(.renewalLimitReached) {
                    _ = try await harness.lifecycle.renew(started.id, by: alice)
                }
                let stored = try #require(try await harness.store.instances.instance(id: started.id))
                #expect(stored.expiresAt == second.expiresAt)
                #expect(stored.renewalsLeft == 0)
                #expect(try await harness.container(of: stored).state.running)

                let bob = try await harness.player("bob")
                await expectBerthError(.instanceNotFound) {
                    _ = try await harness.lifecycle.renew(started.id, by: bob)
                }
            }
        }

        @Test("renew never goes past the maximum lifetime")
        func renewCappedByMaxLifetime() async throws {
            let clock = TestClock()
            try await LifecycleHarness.with(environments: [Environments.capped], clock: clock.now) { harness in
                let alice = try await harness.player("alice")
                let started = try await harness.lifecycle.request(environment: Environments.cappedSlug, by: alice)
                #expect(started.maxExpiresAt == started.createdAt.addingTimeInterval(720))

                clock.advance(seconds: 300)
                let renewed = try await harness.lifecycle.renew(started.id, by: alice)
                #expect(renewed.expiresAt == started.maxExpiresAt, "now + ttl is past the maximum, so the maximum wins")
                #expect(renewed.renewalsLeft == 4)

                await expectBerthError(.maxLifetimeReached) {
                    _ = try await harness.lifecycle.renew(started.id, by: alice)
                }
                #expect(try await harness.store.instances.instance(id: started.id)?.renewalsLeft == 4, "a refused renewal costs nothing")
            }
        }

        @Test("reset replaces the container; the id, expiry and renewals stay")
        func reset() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                let original = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let oldContainer = try #require(original.containerID)
                _ = try await harness.exec(original, "echo scribble > /home/player/notes.txt")

                let reset = try await harness.lifecycle.reset(original.id, by: alice)
                let newContainer = try #require(reset.containerID)
                #expect(reset.id == original.id)
                #expect(reset.state == .running)
                #expect(newContainer != oldContainer)
                // As stored: epoch seconds, so equal to the microsecond, not to the last bit of a Date.
                #expect(abs(reset.expiresAt.timeIntervalSince(original.expiresAt)) < 0.001)
                #expect(reset.renewalsLeft == original.renewalsLeft)
                #expect(try await harness.containerExists(oldContainer) == false)
                #expect(try await harness.container(of: reset).state.running)
                let notes = try await harness.exec(reset, "cat /home/player/notes.txt")
                #expect(notes.exitCode != 0, "a reset gives a fresh container: \(notes.stdout)")
                #expect(try await harness.store.instances.instance(id: original.id)?.containerID == newContainer)
                let kinds = try await harness.store.instances.events(instanceID: original.id, limit: 20).map(\.kind)
                #expect(kinds.contains("instance.reset"))
            }
        }

        @Test("the owner stops; others get 404; a stopped instance is 409 instance_not_active")
        func stopByOwner() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let containerID = try #require(instance.containerID)

                await expectBerthError(.instanceNotFound) {
                    _ = try await harness.lifecycle.stop(instance.id, by: bob)
                }
                #expect(try await harness.containerExists(containerID))

                let stopped = try await harness.lifecycle.stop(instance.id, by: alice)
                #expect(stopped.state == .stopped)
                #expect(stopped.reason == EndReason.stoppedByOwner)
                #expect(stopped.containerID == nil)
                #expect(try await harness.containerExists(containerID) == false)
                #expect(try await harness.store.instances.instance(id: instance.id)?.state == .stopped)
                #expect(try await harness.lifecycle.activeCount() == 0)

                await expectBerthError(.instanceNotActive) {
                    _ = try await harness.lifecycle.stop(instance.id, by: alice)
                }
                await expectBerthError(.instanceNotActive) {
                    _ = try await harness.lifecycle.renew(instance.id, by: alice)
                }
                // The one-per-environment rule counts active instances only.
                let again = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                #expect(again.id != instance.id)
            }
        }

        @Test("an admin kills another owner's instance and purges everything")
        func adminKillAndPurge() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell, Environments.plain]) { harness in
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let first = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let killed = try await harness.lifecycle.stop(first.id, by: harness.admin)
                #expect(killed.state == .stopped)
                #expect(killed.reason == EndReason.stoppedByOrganiser)
                let firstContainer = try #require(first.containerID)
                #expect(try await harness.containerExists(firstContainer) == false)

                let survivors = [
                    try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice),
                    try await harness.lifecycle.request(environment: Environments.plainSlug, by: alice),
                    try await harness.lifecycle.request(environment: Environments.shellSlug, by: bob),
                ]
                await expectBerthError(.forbidden) {
                    _ = try await harness.lifecycle.purge(by: bob)
                }
                #expect(try await harness.docker.listContainers(labels: [harness.namespaceFilter]).count == 3)

                #expect(try await harness.lifecycle.purge(by: harness.admin) == 3)
                #expect(try await harness.lifecycle.activeCount() == 0)
                #expect(try await harness.docker.listContainers(labels: [harness.namespaceFilter]).isEmpty)
                for instance in survivors {
                    let stored = try #require(try await harness.store.instances.instance(id: instance.id))
                    #expect(stored.state == .stopped)
                    #expect(stored.reason == EndReason.stoppedByOrganiser)
                }
                #expect(try await harness.lifecycle.purge(by: harness.admin) == 0)
            }
        }
    }
}
