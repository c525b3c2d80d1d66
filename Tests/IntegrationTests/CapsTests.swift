import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

extension Integration {
    @Suite("Assignment policy and caps")
    struct CapsTests {
        @Test("one per user per environment (409), owner cap (429), global cap (429); refused requests leave no trace")
        func perUserCaps() async throws {
            let environments = [Environments.shell, Environments.plain, Environments.capped]
            try await LifecycleHarness.with(environments: environments, ownerCap: 2, globalCap: 3) { harness in
                let lifecycle = harness.lifecycle
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let carol = try await harness.player("carol")

                _ = try await lifecycle.request(environment: Environments.shellSlug, by: alice)
                await expectBerthError(.instanceExists) {
                    _ = try await lifecycle.request(environment: Environments.shellSlug, by: alice)
                }
                _ = try await lifecycle.request(environment: Environments.plainSlug, by: alice)
                await expectBerthError(.ownerCapReached) {
                    _ = try await lifecycle.request(environment: Environments.cappedSlug, by: alice)
                }
                _ = try await lifecycle.request(environment: Environments.shellSlug, by: bob)
                await expectBerthError(.globalCapReached) {
                    _ = try await lifecycle.request(environment: Environments.shellSlug, by: carol)
                }

                #expect(try await lifecycle.activeCount() == 3)
                #expect(try await harness.store.instances.instances(InstanceQuery()).count == 3, "a refused request writes nothing")
                #expect(try await harness.docker.listContainers(labels: [harness.namespaceFilter]).count == 3)

                // Freeing a slot lets the next request through.
                let bobs = try await lifecycle.instances(for: bob)
                _ = try await lifecycle.stop(try #require(bobs.first).id, by: bob)
                let carols = try await lifecycle.request(environment: Environments.shellSlug, by: carol)
                #expect(carols.state == .running)
            }
        }

        @Test("concurrent requests cannot overshoot the caps")
        func concurrentRequests() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell], globalCap: 2) { harness in
                var players: [User] = []
                for index in 0..<5 { players.append(try await harness.player("racer\(index)")) }
                let lifecycle = harness.lifecycle
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for player in players {
                        group.addTask {
                            do {
                                _ = try await lifecycle.request(environment: Environments.shellSlug, by: player)
                                return "running"
                            } catch let error as BerthError {
                                return error.code.rawValue
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    var all: [String] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                #expect(outcomes.filter { $0 == "running" }.count == 2, "\(outcomes)")
                #expect(outcomes.filter { $0 == "global_cap_reached" }.count == 3, "\(outcomes)")
                #expect(try await harness.docker.listContainers(labels: [harness.namespaceFilter]).count == 2)
            }
        }

        @Test("per team: the team owns the instance, members share it, users without a team are refused")
        func perTeam() async throws {
            let clock = TestClock()
            try await LifecycleHarness.with(environments: [Environments.shell], assignment: .team, clock: clock.now) { harness in
                let alice = try await harness.player("alice")
                let bob = try await harness.player("bob")
                let loner = try await harness.player("loner")
                let team = try await harness.accounts.createTeam(name: "red")
                try await harness.accounts.addMember(teamID: team.id, userID: alice.id)
                try await harness.accounts.addMember(teamID: team.id, userID: bob.id)

                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                #expect(instance.owner == Owner(kind: .team, id: team.id))
                #expect(try await harness.container(of: instance).config.labels?[BerthLabel.owner] == "team:\(team.id)")
                await expectBerthError(.instanceExists) {
                    _ = try await harness.lifecycle.request(environment: Environments.shellSlug, by: bob)
                }
                await expectBerthError(.teamRequired) {
                    _ = try await harness.lifecycle.request(environment: Environments.shellSlug, by: loner)
                }
                #expect(try await harness.lifecycle.instances(for: bob).map(\.id) == [instance.id], "a teammate sees it")
                await expectBerthError(.instanceNotFound) {
                    _ = try await harness.lifecycle.instance(instance.id, for: loner)
                }
                clock.advance(seconds: 300)  // renewals open once half of the 10-minute TTL is left
                let renewed = try await harness.lifecycle.renew(instance.id, by: bob)
                #expect(renewed.renewalsLeft == instance.renewalsLeft - 1, "a teammate may act on it")
                let stopped = try await harness.lifecycle.stop(instance.id, by: bob)
                #expect(stopped.reason == EndReason.stoppedByOwner)
            }
        }

        @Test("unlimited: the same user may run an environment twice, up to the owner cap")
        func unlimited() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell], assignment: .unlimited, ownerCap: 2) { harness in
                let alice = try await harness.player("alice")
                let first = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let second = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                #expect(first.id != second.id)
                #expect(first.containerID != second.containerID)
                await expectBerthError(.ownerCapReached) {
                    _ = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                }
            }
        }
    }
}
