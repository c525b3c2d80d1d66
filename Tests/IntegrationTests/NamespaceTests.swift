import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Logging
import Testing

extension Integration {
    @Suite("Several servers on one engine: namespaces and their lock")
    struct NamespaceTests {
        let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }

        /// Runs `body` and removes the lock container of `namespace` afterwards, whoever holds it.
        func withLockCleanup(_ namespace: String, docker: DockerClient, _ body: () async throws -> Void) async throws {
            do {
                try await body()
            } catch {
                try? await docker.removeContainer("berth-lock-\(namespace)", force: true)
                throw error
            }
            try? await docker.removeContainer("berth-lock-\(namespace)", force: true)
        }

        @Test("each data directory gets its own stored server id and default namespace; a damaged id file is an error")
        func serverIdentity() async throws {
            try await TemporaryDirectory.with { first in
                try await TemporaryDirectory.with { second in
                    let a = try ServerIdentity.loadOrCreate(in: first.url)
                    let b = try ServerIdentity.loadOrCreate(in: second.url)
                    #expect(a != b)
                    #expect(try ServerIdentity.loadOrCreate(in: first.url) == a, "the id is stored, not made anew")
                    let namespace = ServerIdentity.defaultNamespace(serverID: a)
                    #expect(namespace.hasPrefix("d-") && namespace.count == 14)
                    #expect(namespace != ServerIdentity.defaultNamespace(serverID: b))
                    #expect(try BerthConfiguration.resolve(flags: ["namespace": namespace], environment: [:], configFileYAML: nil).namespace == namespace)
                    let attributes = try FileManager.default.attributesOfItem(atPath: first.path(ServerIdentity.fileName).path)
                    #expect((attributes[.posixPermissions] as? Int) == 0o600)

                    _ = try second.write(ServerIdentity.fileName, "not an id\n")
                    let error = try #require(throws: BerthError.self) { try ServerIdentity.loadOrCreate(in: second.url) }
                    #expect(error.code == .serverIdInvalid)
                }
            }
        }

        @Test("two runtimes with different namespaces: reconciling one leaves the other's containers and networks alone")
        func namespacesKeepApart() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell, Environments.web]) { harness in
                let alice = try await harness.player("alice")
                let shell = try await harness.lifecycle.request(environment: Environments.shellSlug, by: alice)
                let web = try await harness.lifecycle.request(environment: Environments.webSlug, by: alice)
                let networkID = try #require(web.networkID)

                try await TemporaryDirectory.with { directory in
                    // A second server: its own store (empty) and namespace, the same engine.
                    let store = try await BerthDatabase.open(path: directory.path("other.db").path, logger: harness.logger)
                    let other = DockerRuntime(docker: harness.docker, publishAddress: "127.0.0.1", namespace: "test-other-\(UniqueName.make())")
                    let lifecycle = InstanceLifecycle(
                        store: store, runtime: other, catalog: harness.catalog, policy: harness.policy, logger: harness.logger
                    )
                    let report = try await lifecycle.reconcile()
                    try await store.close()
                    #expect(report.adopted == 0 && report.closed == 0 && report.orphansRemoved == 0)
                }
                for instance in [shell, web] {
                    #expect(try await harness.container(of: instance).state.running, "\(instance.environment) was touched")
                }
                #expect(try await harness.docker.listNetworks(labels: [harness.namespaceFilter]).contains { $0.id == networkID })

                // The same empty store in the harness's own namespace would remove them: the
                // namespace, not luck, is what kept them.
                try await TemporaryDirectory.with { directory in
                    let store = try await BerthDatabase.open(path: directory.path("same.db").path, logger: harness.logger)
                    let lifecycle = InstanceLifecycle(
                        store: store, runtime: harness.runtime, catalog: harness.catalog, policy: harness.policy, logger: harness.logger
                    )
                    let report = try await lifecycle.reconcile()
                    try await store.close()
                    #expect(report.orphansRemoved == 3, "two containers and one network")
                }
                #expect(try await harness.containerExists(try #require(shell.containerID)) == false)
            }
        }

        @Test("a held namespace refuses a second server with namespace_in_use; the same server takes it back; released, it is free")
        func lockRefusesSecondServer() async throws {
            let docker = try DockerClient.fromEnvironment()
            try await EngineFixture.requireEngine(docker)
            let namespace = "test-lock-\(UniqueName.make())"
            try await withLockCleanup(namespace, docker: docker) {
                let first = NamespaceLock(docker: docker, namespace: namespace, holder: "aaaaaaaaaaaa", logger: logger)
                try await first.acquire()
                #expect(await first.isHeld)
                let lockContainer = try await docker.inspectContainer(first.containerName)
                #expect(lockContainer.config.labels?[NamespaceLock.holderLabel] == "aaaaaaaaaaaa")
                #expect(lockContainer.config.labels?[BerthLabel.instance] == nil, "reconciliation must never see the lock as an instance")

                let second = NamespaceLock(docker: docker, namespace: namespace, holder: "bbbbbbbbbbbb", logger: logger)
                let refused = try await #require(throws: BerthError.self) { try await second.acquire() }
                #expect(refused.code == .namespaceInUse)
                #expect(refused.message.contains("'\(namespace)'") && refused.message.contains("BERTH_NAMESPACE"), "\(refused.message)")
                #expect(await second.isHeld == false)

                // A restart of the first server (same data directory, so same id) takes it back at once.
                let restarted = NamespaceLock(docker: docker, namespace: namespace, holder: "aaaaaaaaaaaa", logger: logger)
                try await restarted.acquire()
                #expect(try await docker.inspectContainer(restarted.containerName).id == lockContainer.id)
                await restarted.beat()

                await restarted.release()
                await #expect(throws: DockerError.self) { try await docker.inspectContainer(first.containerName) }
                try await second.acquire()
                #expect(await second.isHeld)
                await second.release()
            }
        }

        @Test("replicas of one database (one cluster id) share the namespace; a server on another database is refused; the last one out releases it")
        func replicasShareTheLock() async throws {
            let docker = try DockerClient.fromEnvironment()
            try await EngineFixture.requireEngine(docker)
            for backend in StoreBackend.enabled {
                let namespace = "test-lock-\(UniqueName.make())"
                try await withLockCleanup(namespace, docker: docker) {
                    try await withTwoTestDatabases(backend) { first, second in
                        let cluster = try await first.cluster.clusterID()
                        #expect(try await second.cluster.clusterID() == cluster)
                        let replicaA = NamespaceLock(docker: docker, namespace: namespace, holder: cluster, logger: logger)
                        let replicaB = NamespaceLock(docker: docker, namespace: namespace, holder: try await second.cluster.clusterID(), logger: logger)
                        try await replicaA.acquire()
                        try await replicaB.acquire()
                        #expect(await replicaA.isHeld)
                        #expect(await replicaB.isHeld)
                        let container = try await docker.inspectContainer(replicaA.containerName)
                        #expect(container.config.labels?[NamespaceLock.holderLabel] == cluster)
                        await replicaA.beat()
                        await replicaB.beat()
                        #expect(try await docker.inspectContainer(replicaB.containerName).id == container.id, "one lock, beaten by both")

                        let otherCluster = try await withTestDatabase(backend) { try await $0.cluster.clusterID() }
                        #expect(otherCluster != cluster)
                        let stranger = NamespaceLock(docker: docker, namespace: namespace, holder: otherCluster, logger: logger)
                        let refused = try await #require(throws: BerthError.self) { try await stranger.acquire() }
                        #expect(refused.code == .namespaceInUse)
                        #expect(refused.message.contains("'\(namespace)'") && refused.message.contains("BERTH_NAMESPACE"), "\(refused.message)")

                        // A replica leaving while another is alive leaves the lock in place for it.
                        await replicaA.leave()
                        #expect(await replicaA.isHeld == false)
                        #expect(try await docker.inspectContainer(replicaA.containerName).id == container.id)
                        await #expect(throws: BerthError.self) { try await stranger.acquire() }
                        // The last one releases it, and the namespace is free.
                        await replicaB.release()
                        try await stranger.acquire()
                        #expect(await stranger.isHeld)
                        await stranger.release()
                    }
                }
            }
        }

        @Test("a crashed server's lock is taken over once its heartbeat is older than the limit; the old holder then knows it lost it")
        func staleLockIsTakenOver() async throws {
            let docker = try DockerClient.fromEnvironment()
            try await EngineFixture.requireEngine(docker)
            let namespace = "test-lock-\(UniqueName.make())"
            try await withLockCleanup(namespace, docker: docker) {
                let crashed = NamespaceLock(docker: docker, namespace: namespace, holder: "cccccccccccc", logger: logger)
                try await crashed.acquire()
                let patient = NamespaceLock(docker: docker, namespace: namespace, holder: "dddddddddddd", staleAfter: .seconds(2), logger: logger)
                await #expect(throws: BerthError.self) { try await patient.acquire() }
                // No heartbeat for well over 2 s of the engine's clock (whole seconds in its Date header).
                try await Task.sleep(for: .seconds(4))
                try await patient.acquire()
                #expect(await patient.isHeld)
                let holder = try await docker.inspectContainer(patient.containerName).config.labels?[NamespaceLock.holderLabel]
                #expect(holder == "dddddddddddd")

                // The old holder wakes up: its heartbeat finds the lock gone and taken, and it does not steal it back.
                await crashed.beat()
                #expect(await crashed.isHeld == false)
                #expect(try await docker.inspectContainer(patient.containerName).config.labels?[NamespaceLock.holderLabel] == "dddddddddddd")
                await patient.release()
            }
        }
    }
}
