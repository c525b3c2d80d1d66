import BerthCore
import BerthEngine
import BerthTestSupport
import Foundation
import Logging
import ObjectStorage
import Synchronization
import Testing

/// A local copy of workspaces in plain folders (`<root>/<id>/`), archived with tar.
final class FolderArchiving: WorkspaceArchiving {
    let root: URL
    private let versions = Mutex<[String: Int]>([:])
    /// Set to make writeArchive fail.
    let failArchive = Mutex(false)

    init(root: URL) { self.root = root }

    func folder(_ id: String) -> URL { root.appendingPathComponent(id, isDirectory: true) }

    static func tar(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError("tar \(arguments) exited with \(process.terminationStatus)") }
    }

    func writeArchive(of workspace: WorkspaceRecord, to file: URL) async throws {
        if failArchive.withLock({ $0 }) { throw FixtureError("the disk is on fire") }
        try Self.tar(["-cf", file.path, "-C", folder(workspace.id).path, "."])
    }

    func restoreArchive(from file: URL, into workspace: WorkspaceRecord, version: Int) async throws {
        let folder = folder(workspace.id)
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Self.tar(["-xf", file.path, "-C", folder.path])
        versions.withLock { $0[workspace.id] = version }
    }

    func localVersion(of workspace: WorkspaceRecord) async -> Int? {
        guard FileManager.default.fileExists(atPath: folder(workspace.id).path) else { return nil }
        return versions.withLock { $0[workspace.id] } ?? 0
    }

    func markLocalVersion(_ version: Int, of workspace: WorkspaceRecord) async throws {
        versions.withLock { $0[workspace.id] = version }
    }

    /// Removes the local copy (another host, or a lost disk).
    func forget(_ id: String) throws {
        try FileManager.default.removeItem(at: folder(id))
        versions.withLock { $0[id] = nil }
    }

    /// Every file under the workspace, relative path → contents.
    func files(_ id: String) throws -> [String: Data] {
        try Self.files(in: folder(id))
    }

    static func files(in folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let base = folder.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
        for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let path = url.resolvingSymlinksInPath().path
            result[String(path.dropFirst(base.count + 1))] = try Data(contentsOf: url)
        }
        return result
    }

    func write(_ id: String, _ relativePath: String, _ contents: Data) throws {
        let file = folder(id).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: file)
    }
}

/// Workspace records in memory.
final class MemoryLedger: WorkspaceSyncLedger {
    let records = Mutex<[String: WorkspaceRecord]>([:])
    let inUse = Mutex<Set<String>>([])

    func add(_ record: WorkspaceRecord) { records.withLock { $0[record.id] = record } }
    func record(_ id: String) -> WorkspaceRecord? { records.withLock { $0[id] } }

    func workspace(id: String) async throws -> WorkspaceRecord? { record(id) }
    func workspacesInUse() async throws -> [WorkspaceRecord] {
        let ids = inUse.withLock { $0 }
        return records.withLock { all in ids.compactMap { all[$0] } }
    }
    func workspacesAwaitingSync() async throws -> [WorkspaceRecord] {
        records.withLock { $0.values.filter { $0.sync.state == .pending || $0.sync.state == .failed } }
    }
    func saveSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws {
        records.withLock { $0[workspaceID]?.sync = status }
    }
}

@Suite(
    "Workspace sync against moto", .serialized,
    .enabled(if: MotoServer.shouldRun, "needs moto[server] (scripts/ensure-moto.sh; BERTH_TEST_MOTO_PYTHON)")
)
struct WorkspaceSyncTests {
    struct Fixture {
        let archiving: FolderArchiving
        let ledger: MemoryLedger
        let sync: WorkspaceSync
        let client: S3Client
        let clock: TestClock
        let directory: TemporaryDirectory
    }

    static func record(_ id: String = "ws_\(UniqueName.make().lowercased())") -> WorkspaceRecord {
        WorkspaceRecord(
            id: id, owner: Owner(kind: .user, id: "usr_1"), environment: "lab", sizeBytes: 256 << 20, createdAt: Date(), lastUsedAt: Date()
        )
    }

    static func with(_ moto: MotoServer, _ body: (Fixture) async throws -> Void) async throws {
        try await TemporaryDirectory.with { directory in
            let client = try await moto.client()
            let archiving = FolderArchiving(root: directory.path("local"))
            let ledger = MemoryLedger()
            let clock = TestClock()
            let sync = WorkspaceSync(
                client: client, prefix: "workspaces/", archiving: archiving, ledger: ledger, interval: .seconds(300),
                temporaryDirectory: directory.path("tmp"), clock: { clock.now() }
            )
            try await body(Fixture(archiving: archiving, ledger: ledger, sync: sync, client: client, clock: clock, directory: directory))
        }
    }

    /// The object's files, unpacked.
    static func remoteFiles(_ fixture: Fixture, _ id: String) async throws -> [String: Data] {
        let tar = fixture.directory.path("remote-\(UniqueName.make()).tar")
        let folder = fixture.directory.path("remote-\(UniqueName.make())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try await fixture.client.getObject(key: "workspaces/\(id).tar", toFile: tar)
        try FolderArchiving.tar(["-xf", tar.path, "-C", folder.path])
        return try FolderArchiving.files(in: folder)
    }

    @Test("an upload fails while the store is stopped, keeps the local copy, and succeeds on retry when it is back")
    func failureAndRecovery() async throws {
        let moto = try await MotoServer.start()
        var restarted: MotoServer?
        defer { (restarted ?? moto).stop() }
        try await Self.with(moto) { fixture in
            let workspace = Self.record()
            fixture.ledger.add(workspace)
            try fixture.archiving.write(workspace.id, "notes.txt", Data("first\n".utf8))
            let first = await fixture.sync.sync(workspace, reason: .requested)
            #expect(first.state == .synced)
            #expect(first.remoteVersion == 1)
            #expect(try await Self.remoteFiles(fixture, workspace.id) == (try fixture.archiving.files(workspace.id)))

            // The learner works on; the store goes away.
            try fixture.archiving.write(workspace.id, "notes.txt", Data("second\n".utf8))
            try fixture.archiving.write(workspace.id, "src/main.c", Data(repeating: 0x41, count: 300_000))
            let before = try fixture.archiving.files(workspace.id)
            moto.stop()
            let failed = await fixture.sync.sync(workspace, reason: .instanceStopped)
            #expect(failed.state == .failed)
            #expect(failed.attempts == 1)
            #expect(failed.remoteVersion == 1)
            #expect(failed.syncedAt == first.syncedAt)
            let delay = try #require(failed.nextAttemptAt).timeIntervalSince(fixture.clock.now())
            #expect(delay >= 10 && delay <= 12)
            #expect(failed.lastError?.contains("unreachable") == true, "\(failed.lastError ?? "")")
            #expect(fixture.ledger.record(workspace.id)?.sync == failed)
            #expect(try fixture.archiving.files(workspace.id) == before)
            #expect(await fixture.archiving.localVersion(of: workspace) == 1)

            // Not due yet: nothing is tried.
            #expect(await fixture.sync.retryDue(now: fixture.clock.now()) == 0)
            // Due, store still down: a second failure doubles the delay.
            fixture.clock.advance(seconds: 13)
            #expect(await fixture.sync.retryDue(now: fixture.clock.now()) == 1)
            let second = try #require(fixture.ledger.record(workspace.id)?.sync)
            #expect(second.state == .failed)
            #expect(second.attempts == 2)
            let secondDelay = try #require(second.nextAttemptAt).timeIntervalSince(fixture.clock.now())
            #expect(secondDelay >= 20 && secondDelay <= 24)

            // The store comes back on the same port (moto keeps nothing: the bucket is made again).
            restarted = try await MotoServer.start(port: moto.port)
            #expect(restarted?.credentials == moto.credentials)
            try await fixture.client.createBucket()
            fixture.clock.advance(seconds: 25)
            #expect(await fixture.sync.retryDue(now: fixture.clock.now()) == 1)
            let recovered = try #require(fixture.ledger.record(workspace.id)?.sync)
            #expect(recovered.state == .synced)
            #expect(recovered.remoteVersion == 2)
            #expect(recovered.attempts == 0)
            #expect(recovered.lastError == nil)
            #expect(recovered.nextAttemptAt == nil)
            #expect(await fixture.archiving.localVersion(of: workspace) == 2)
            #expect(try await Self.remoteFiles(fixture, workspace.id) == before)
            let head = try #require(try await fixture.client.headObject(key: fixture.sync.key(of: workspace)))
            #expect(head.metadata["berth-version"] == "2")
        }
    }

    @Test("a host without the local copy restores it from object storage; one with a current copy does not download")
    func restore() async throws {
        try await MotoServer.with { moto in
            try await Self.with(moto) { fixture in
                let workspace = Self.record()
                fixture.ledger.add(workspace)
                try fixture.archiving.write(workspace.id, "a/b/c.txt", Data("deep\n".utf8))
                try fixture.archiving.write(workspace.id, "bin.dat", Data((0..<255).map { UInt8($0) }))
                let files = try fixture.archiving.files(workspace.id)
                #expect(await fixture.sync.sync(workspace, reason: .instanceStopped).state == .synced)

                try fixture.archiving.forget(workspace.id)
                let record = try #require(fixture.ledger.record(workspace.id))
                try await fixture.sync.restoreIfNeeded(record)
                #expect(try fixture.archiving.files(workspace.id) == files)
                #expect(await fixture.archiving.localVersion(of: record) == 1)

                // Current copy: no download, so a stopped store does not matter.
                moto.stop()
                try await fixture.sync.restoreIfNeeded(record)
                // Missing copy and the store down: the start is refused, nothing changes.
                try fixture.archiving.forget(workspace.id)
                let error = await #expect(throws: BerthError.self) { try await fixture.sync.restoreIfNeeded(record) }
                #expect(error?.code == .workspaceUnavailable)
                #expect(error?.message.contains("is missing") == true)
                #expect(await fixture.archiving.localVersion(of: record) == nil)
            }
        }
    }

    @Test("a workspace never uploaded needs no restore")
    func nothingToRestore() async throws {
        try await MotoServer.with { moto in
            try await Self.with(moto) { fixture in
                let workspace = Self.record()
                fixture.ledger.add(workspace)
                try await fixture.sync.restoreIfNeeded(workspace)
                #expect(await fixture.archiving.localVersion(of: workspace) == nil)
            }
        }
    }

    @Test("an archive failure is a failed sync with the reason, and nothing is uploaded")
    func archiveFailure() async throws {
        try await MotoServer.with { moto in
            try await Self.with(moto) { fixture in
                let workspace = Self.record()
                fixture.ledger.add(workspace)
                try fixture.archiving.write(workspace.id, "x", Data("x".utf8))
                fixture.archiving.failArchive.withLock { $0 = true }
                let status = await fixture.sync.sync(workspace, reason: .requested)
                #expect(status.state == .failed)
                #expect(status.lastError?.contains("could not be archived") == true)
                #expect(try await fixture.client.headObject(key: fixture.sync.key(of: workspace)) == nil)
            }
        }
    }

    @Test("concurrent syncs of one workspace run one after the other: no version is lost")
    func syncsAreSerialised() async throws {
        try await MotoServer.with { moto in
            try await Self.with(moto) { fixture in
                let workspace = Self.record()
                fixture.ledger.add(workspace)
                try fixture.archiving.write(workspace.id, "x", Data("x".utf8))
                let sync = fixture.sync
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<3 { group.addTask { await sync.sync(workspace, reason: .requested) } }
                }
                #expect(fixture.ledger.record(workspace.id)?.sync.remoteVersion == 3)
                #expect(fixture.ledger.record(workspace.id)?.sync.state == .synced)
            }
        }
    }

    @Test("the interval uploads the workspaces in use; deleteRemote removes the object, twice is fine")
    func intervalAndDelete() async throws {
        try await MotoServer.with { moto in
            try await Self.with(moto) { fixture in
                let used = Self.record()
                let idle = Self.record()
                for workspace in [used, idle] {
                    fixture.ledger.add(workspace)
                    try fixture.archiving.write(workspace.id, "f", Data(workspace.id.utf8))
                }
                fixture.ledger.inUse.withLock { $0 = [used.id] }
                await fixture.sync.syncWorkspacesInUse()
                #expect(fixture.ledger.record(used.id)?.sync.state == .synced)
                #expect(fixture.ledger.record(idle.id)?.sync.state == .localOnly)

                try await fixture.sync.deleteRemote(used)
                #expect(try await fixture.client.headObject(key: fixture.sync.key(of: used)) == nil)
                try await fixture.sync.deleteRemote(used)
            }
        }
    }
}

extension WorkspaceSyncTests {
    @Test("the scheduler uploads workspaces in use every interval and retries a due failure, until cancelled")
    func scheduler() async throws {
        try await MotoServer.with { moto in
            try await TemporaryDirectory.with { directory in
                let client = try await moto.client()
                let archiving = FolderArchiving(root: directory.path("local"))
                let ledger = MemoryLedger()
                let clock = TestClock()
                let sync = WorkspaceSync(
                    client: client, prefix: "workspaces/", archiving: archiving, ledger: ledger, interval: .milliseconds(300),
                    temporaryDirectory: directory.path("tmp"), clock: { clock.now() }
                )
                let used = Self.record()
                var failed = Self.record()
                failed.sync = WorkspaceSyncStatus(state: .failed, attempts: 2, nextAttemptAt: clock.now().addingTimeInterval(60), lastError: "earlier")
                for workspace in [used, failed] {
                    ledger.add(workspace)
                    try archiving.write(workspace.id, "f", Data(workspace.id.utf8))
                }
                ledger.inUse.withLock { $0 = [used.id] }
                let running = Task { try await WorkspaceSync.Scheduler(sync: sync, retryTick: .milliseconds(100)).run() }
                defer { running.cancel() }
                func waitFor(_ condition: () -> Bool) async throws {
                    let deadline = ContinuousClock.now + .seconds(30)
                    while !condition() {
                        try #require(ContinuousClock.now < deadline, "the scheduler did not get there in 30 s")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                try await waitFor { (ledger.record(used.id)?.sync.remoteVersion ?? 0) >= 2 }
                // Not due yet: untouched.
                #expect(ledger.record(failed.id)?.sync.attempts == 2)
                clock.advance(seconds: 61)
                try await waitFor { ledger.record(failed.id)?.sync.state == .synced }
                #expect(ledger.record(failed.id)?.sync.lastError == nil)
                running.cancel()
                _ = try? await running.value
            }
        }
    }
}

@Suite("Workspace sync backoff")
struct WorkspaceSyncBackoffTests {
    @Test("10 s doubling, capped at 10 min, jitter adds at most 20 %")
    func delays() {
        let backoff = WorkspaceSync.Backoff.standard
        #expect(backoff.delay(afterAttempts: 1, random: 0) == 10)
        #expect(backoff.delay(afterAttempts: 2, random: 0) == 20)
        #expect(backoff.delay(afterAttempts: 3, random: 0) == 40)
        #expect(backoff.delay(afterAttempts: 7, random: 0) == 600)
        #expect(backoff.delay(afterAttempts: 1000, random: 0) == 600)
        #expect(backoff.delay(afterAttempts: 1, random: 0.999) < 12.0001)
        #expect(backoff.delay(afterAttempts: 1000, random: 1) == 720)
    }
}

@Suite("Workspace sync from the settings")
struct WorkspaceSyncSettingsTests {
    static func settings(_ environment: [String: String]) throws -> BerthConfiguration {
        try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil)
    }

    @Test("no endpoint: no client; the secret file is read, and its problems are invalid_config without its content")
    func client() async throws {
        #expect(try WorkspaceSync.client(for: Self.settings([:])) == nil)
        try await TemporaryDirectory.with { directory in
            let secret = try directory.write("secret", "file-secret-value\n")
            let base = [
                "BERTH_S3_ENDPOINT": "https://s3.example.com:8443", "BERTH_S3_BUCKET": "bucket", "BERTH_S3_ACCESS_KEY_ID": "AKIA1",
                "BERTH_S3_SECRET_ACCESS_KEY_FILE": secret.path,
            ]
            let client = try #require(try WorkspaceSync.client(for: Self.settings(base)))
            #expect(client.configuration.credentials.secretAccessKey == "file-secret-value")
            #expect(client.configuration.endpoint == "https://s3.example.com:8443")
            #expect(!"\(client.configuration)".contains("file-secret-value"))

            var missing = base
            missing["BERTH_S3_SECRET_ACCESS_KEY_FILE"] = directory.path("absent").path
            let unreadable = #expect(throws: BerthError.self) { try WorkspaceSync.client(for: Self.settings(missing)) }
            #expect(unreadable?.code == .invalidConfig)
            #expect(unreadable?.message.contains("BERTH_S3_SECRET_ACCESS_KEY_FILE") == true)

            let twoLines = try directory.write("two", "line-one\nline-two\n")
            var bad = base
            bad["BERTH_S3_SECRET_ACCESS_KEY_FILE"] = twoLines.path
            let error = #expect(throws: BerthError.self) { try WorkspaceSync.client(for: Self.settings(bad)) }
            #expect(error?.message.contains("line-one") == false)
        }
    }
}
