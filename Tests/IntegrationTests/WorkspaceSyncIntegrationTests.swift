import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Logging
import ObjectStorage
import Testing

extension Integration {
    /// Workspaces synced to a real moto server (signature checking on) by the real workspace
    /// service, on the real engine.
    @Suite(
        "Workspace sync on the real engine", .serialized,
        .enabled(if: MotoServer.shouldRun, "needs moto[server] (scripts/ensure-moto.sh; BERTH_TEST_MOTO_PYTHON)")
    )
    struct WorkspaceSyncIntegrationTests {
        @Test("S3 round trip: upload on stop, a failure while the store is stopped keeps the files, recovery when it is back, restore on a host without the copy")
        func roundTripFailureRecoveryRestore() async throws {
            let clock = TestClock()
            let moto = try await MotoServer.start()
            var restarted: MotoServer?
            defer { (restarted ?? moto).stop() }
            let client = try await moto.client()
            try await LifecycleHarness.with(environments: [WorkspaceEnvironments.notes], clock: clock.now) { harness in
                try await withWorkspaces(store: harness.store) { workspaces, directory in
                    let sync = WorkspaceSync(
                        client: client, prefix: "it/", archiving: workspaces, ledger: workspaces, interval: .seconds(300),
                        temporaryDirectory: directory.path("sync-tmp"), clock: clock.now, logger: harness.logger
                    )
                    await workspaces.useSync(sync)
                    await harness.lifecycle.useWorkspaceHooks(workspaces)
                    let user = try await harness.accounts.createUser(name: "ada")
                    let path = "/home/player/work/data.bin"

                    // Upload when the instance stops.
                    var instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    let written = try await WorkspaceTests.shell(harness, instance, "head -c 2097152 /dev/urandom > \(path) && echo one > /home/player/work/note.txt")
                    #expect(written.exitCode == 0, "\(written.stderr)")
                    let first = try await WorkspaceTests.sha(harness, instance, path)
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                    await workspaces.drainUploads()
                    var record = try #require(try await harness.store.workspaces.workspace(owner: Owner(kind: .user, id: user.id), environment: WorkspaceEnvironments.slug))
                    #expect(record.sync.state == .synced, "\(record.sync)")
                    #expect(record.sync.remoteVersion == 1)
                    let head = try #require(try await client.headObject(key: sync.key(of: record)))
                    #expect(head.metadata["berth-version"] == "1")
                    #expect(head.size > 2 << 20)

                    // The store goes away; the learner works and stops: the upload fails, the files stay.
                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await WorkspaceTests.sha(harness, instance, path) == first)
                    _ = try await WorkspaceTests.shell(harness, instance, "head -c 1048576 /dev/urandom > \(path) && echo two > /home/player/work/note.txt")
                    let second = try await WorkspaceTests.sha(harness, instance, path)
                    moto.stop()
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                    await workspaces.drainUploads()
                    record = try #require(try await harness.store.workspaces.workspace(id: record.id))
                    #expect(record.sync.state == .failed, "\(record.sync)")
                    #expect(record.sync.attempts == 1)
                    #expect(record.sync.remoteVersion == 1)
                    #expect(record.sync.lastError?.contains("unreachable") == true, "\(record.sync.lastError ?? "")")
                    // The local copy is intact and current: the next start needs no store.
                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await WorkspaceTests.sha(harness, instance, path) == second)
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                    await workspaces.drainUploads()

                    // The store is back on the same port (moto keeps nothing: the bucket is made again); the retry uploads.
                    restarted = try await MotoServer.start(port: moto.port)
                    try await client.createBucket()
                    clock.advance(seconds: 3600)
                    #expect(await sync.retryDue(now: clock.now()) == 1)
                    record = try #require(try await harness.store.workspaces.workspace(id: record.id))
                    #expect(record.sync.state == .synced, "\(record.sync)")
                    #expect(record.sync.attempts == 0)
                    let version = record.sync.remoteVersion
                    #expect(version >= 2)

                    // A host without the local copy restores it from the store at the next start.
                    await workspaces.unmountIdle(all: true)
                    try await workspaces.volumes.delete(record.id)
                    #expect(await workspaces.localVersion(of: record) == nil)
                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await WorkspaceTests.sha(harness, instance, path) == second)
                    let note = try await WorkspaceTests.shell(harness, instance, "cat /home/player/work/note.txt; stat -c %u:%g \(path)")
                    #expect(note.stdout == "two\n1000:1000\n")
                    #expect(await workspaces.localVersion(of: record) == version)
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                    await workspaces.drainUploads()

                    // Without the local copy and with the store down, the start is refused and nothing is lost.
                    restarted?.stop()
                    await workspaces.unmountIdle(all: true)
                    record = try #require(try await harness.store.workspaces.workspace(id: record.id))
                    try await workspaces.volumes.delete(record.id)
                    let refused = await #expect(throws: BerthError.self) {
                        _ = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    }
                    #expect(refused?.code == .workspaceUnavailable, "\(String(describing: refused))")
                }
            }
        }
    }
}
