import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Logging
import Testing

/// Environments with a workspace.
enum WorkspaceEnvironments {
    static let slug = "berth-it-workspace"

    static let notes = TestEnvironment(
        slug: slug,
        challenge: """
            name: Integration workspace
            category: test
            berth:
              terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player}
              resources: {memory: 48m, cpus: 0.5, pids: 48}
              network: none
              lifetime: {ttl: 10m, renewals: 2, maxLifetime: 25m}
              readOnlyRoot: true
              writable: [/tmp]
              tmpfsSize: 4m
              workspace: {path: /home/player/work, size: 8m}
            """,
        dockerfile: Environments.baseDockerfile
    )
}

/// A hand-made tar: any name, any type, so the refusals can be tested.
struct WorkspaceTar {
    var bytes: [UInt8] = []

    mutating func add(_ name: String, type: Character = "0", link: String = "", contents: [UInt8] = []) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int) {
            for (index, byte) in text.utf8.enumerated() { block[at + index] = byte }
        }
        put(name, 0)
        put("0000644", 100)
        put("0001750", 108)
        put("0001750", 116)
        put(String(format: "%011o", contents.count), 124)
        put("00000000000", 136)
        block[156] = UInt8(ascii: type.unicodeScalars.first ?? "0")
        put(link, 157)
        put("ustar", 257)
        put("00", 263)
        for index in 148..<156 { block[index] = 32 }
        put(String(format: "%06o", block.reduce(0) { $0 + Int($1) }) + "\0", 148)
        bytes += block + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

/// Runs `body` with an in-memory store, closed on every path (an unclosed connection traps).
func withMemoryStore<Result: Sendable>(_ body: (BerthDatabase) async throws -> Result) async throws -> Result {
    let store = try await BerthDatabase.open(path: nil)
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

/// Runs `body` with a workspace service over a data directory under /tmp (a loop mount there is
/// seen by the engine), unmounting whatever is left mounted afterwards.
func withWorkspaces<Result: Sendable>(
    store: BerthDatabase, _ body: (WorkspaceService, TemporaryDirectory) async throws -> Result
) async throws -> Result {
    try await TemporaryDirectory.with(prefix: "berth-ws") { directory in
        let service = WorkspaceService(store: store, dataDirectory: directory.url, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        do {
            let result = try await body(service, directory)
            await service.drainUploads()
            await service.unmountIdle(all: true)
            return result
        } catch {
            await service.unmountIdle(all: true)
            throw error
        }
    }
}

extension Integration {
    @Suite("Workspaces on the real engine")
    struct WorkspaceTests {
        static func sha(_ harness: LifecycleHarness, _ instance: Instance, _ path: String) async throws -> String {
            let result = try await harness.docker.exec(try #require(instance.containerID), command: ["sha256sum", path], user: "1000:1000")
            try #require(result.exitCode == 0, "sha256sum failed: \(result.stderr)")
            return String(result.stdout.prefix(64))
        }

        static func shell(_ harness: LifecycleHarness, _ instance: Instance, _ script: String) async throws -> ExecResult {
            try await harness.docker.exec(try #require(instance.containerID), command: ["/bin/sh", "-c", script], user: "1000:1000")
        }

        @Test("a workspace survives stop and start, reset, expiry and a restart of Berth byte for byte; a clean reset empties it")
        func survival() async throws {
            let clock = TestClock()
            try await LifecycleHarness.with(environments: [WorkspaceEnvironments.notes], clock: clock.now) { harness in
                try await withWorkspaces(store: harness.store) { workspaces, directory in
                    await harness.lifecycle.useWorkspaceHooks(workspaces)
                    let user = try await harness.accounts.createUser(name: "ada")
                    var instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    let written = try await Self.shell(harness, instance, "head -c 1048576 /dev/urandom > /home/player/work/data.bin && mkdir -p /home/player/work/sub && echo hi > /home/player/work/sub/note.txt")
                    #expect(written.exitCode == 0, "\(written.stderr)")
                    let digest = try await Self.sha(harness, instance, "/home/player/work/data.bin")
                    let view = try #require(await workspaces.workspace(ofInstance: instance.id))
                    #expect(workspaces.volumes.mountedIDs() == [view.id])
                    #expect(view.path == "/home/player/work" && view.sizeBytes == 8 << 20)
                    #expect(view.usedBytes >= 1 << 20)
                    // nosuid,nodev reach the container through the bind.
                    let options = try await Self.shell(harness, instance, "grep ' /home/player/work ' /proc/self/mounts")
                    #expect(options.stdout.contains("nosuid") && options.stdout.contains("nodev"), "\(options.stdout)")

                    // Stop, then start again.
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                    #expect(workspaces.volumes.mountedIDs().isEmpty)
                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await Self.sha(harness, instance, "/home/player/work/data.bin") == digest)

                    // Reset keeps it.
                    instance = try await harness.lifecycle.reset(instance.id, by: user)
                    #expect(try await Self.sha(harness, instance, "/home/player/work/data.bin") == digest)

                    // Expiry.
                    clock.advance(seconds: 11 * 60)
                    #expect(await harness.lifecycle.reapExpired() == 1)
                    #expect(try await harness.store.instances.instance(id: instance.id)?.state == .expired)
                    #expect(workspaces.volumes.mountedIDs().isEmpty)
                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await Self.sha(harness, instance, "/home/player/work/data.bin") == digest)

                    // A mount a crash left behind: a workspace no instance uses, still mounted.
                    let environment = try #require(await harness.catalog.environment(WorkspaceEnvironments.slug))
                    let stray = try await workspaces.workspace(for: Owner(kind: .user, id: "usr_stray"), environment: environment)
                    try await workspaces.volumes.prepare(stray.id, sizeBytes: 1 << 20, owner: nil)
                    #expect(workspaces.volumes.isMounted(stray.id))

                    // A restart of Berth: new lifecycle and workspace service over the same store,
                    // engine and data directory adopt the running instance and its mount, and
                    // unmount the stray one.
                    let restarted = InstanceLifecycle(
                        store: harness.store, runtime: harness.runtime, catalog: harness.catalog, policy: harness.policy, logger: harness.logger,
                        clock: clock.now
                    )
                    let again = WorkspaceService(store: harness.store, dataDirectory: directory.url, logger: harness.logger, clock: clock.now)
                    await restarted.useWorkspaceHooks(again)
                    let report = try await restarted.reconcile()
                    #expect(report.adopted == 1)
                    #expect(await again.inUse(view.id))
                    #expect(!again.volumes.isMounted(stray.id) && again.volumes.isMounted(view.id))
                    #expect(try await Self.sha(harness, instance, "/home/player/work/data.bin") == digest)
                    _ = try await restarted.stop(instance.id, by: user)
                    #expect(again.volumes.mountedIDs().isEmpty)
                    instance = try await restarted.request(environment: WorkspaceEnvironments.slug, by: user)
                    #expect(try await Self.sha(harness, instance, "/home/player/work/data.bin") == digest)
                    let note = try await Self.shell(harness, instance, "cat /home/player/work/sub/note.txt; stat -c %u:%g /home/player/work/data.bin")
                    #expect(note.stdout == "hi\n1000:1000\n")

                    // A clean reset empties it.
                    instance = try await restarted.reset(instance.id, by: user, cleanWorkspace: true)
                    let listing = try await Self.shell(harness, instance, "ls -A /home/player/work | wc -l")
                    #expect(listing.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
                    let events = try await harness.store.instances.events(instanceID: instance.id, limit: 50).map(\.kind)
                    #expect(events.contains("workspace.cleaned"))
                    _ = try await restarted.stop(instance.id, by: user)
                }
            }
        }

        @Test("the quota holds: writing past it fails with ENOSPC inside the instance, usage is reported, and the files written stay")
        func quota() async throws {
            try await LifecycleHarness.with(environments: [WorkspaceEnvironments.notes]) { harness in
                try await withWorkspaces(store: harness.store) { workspaces, _ in
                    await harness.lifecycle.useWorkspaceHooks(workspaces)
                    let user = try await harness.accounts.createUser(name: "ada")
                    let instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: user)
                    let filled = try await Self.shell(harness, instance, "dd if=/dev/zero of=/home/player/work/fill bs=1M count=32 2>&1; echo exit=$?")
                    #expect(filled.stdout.contains("No space left on device"), "\(filled.stdout)")
                    #expect(!filled.stdout.contains("exit=0"))
                    let size = try await Self.shell(harness, instance, "stat -c %s /home/player/work/fill")
                    let bytes = Int64(size.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                    // At least the quota fits, and not much more than it.
                    #expect(bytes >= 8 << 20 && bytes < 12 << 20, "\(bytes)")
                    let view = try #require(await workspaces.workspace(ofInstance: instance.id))
                    #expect(workspaces.volumes.mountedIDs() == [view.id])
                    #expect(view.usedBytes >= 8 << 20)
                    #expect(Double(view.usedBytes) / Double(view.sizeBytes) >= 0.95)
                    _ = try await harness.lifecycle.stop(instance.id, by: user)
                }
            }
        }

        @Test("team members share one workspace; an admin cannot delete it while an instance uses it")
        func teamsAndDeletion() async throws {
            try await LifecycleHarness.with(environments: [WorkspaceEnvironments.notes], assignment: .team) { harness in
                try await withWorkspaces(store: harness.store) { workspaces, _ in
                    await harness.lifecycle.useWorkspaceHooks(workspaces)
                    let ada = try await harness.accounts.createUser(name: "ada")
                    let bob = try await harness.accounts.createUser(name: "bob")
                    let team = try await harness.accounts.createTeam(name: "crew")
                    try await harness.accounts.addMember(teamID: team.id, userID: ada.id)
                    try await harness.accounts.addMember(teamID: team.id, userID: bob.id)
                    var instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: ada)
                    _ = try await Self.shell(harness, instance, "echo from-ada > /home/player/work/shared.txt")
                    let record = try #require(try await harness.store.workspaces.workspace(owner: Owner(kind: .team, id: team.id), environment: WorkspaceEnvironments.slug))
                    let refused = await #expect(throws: BerthError.self) { try await workspaces.delete(record) }
                    #expect(refused?.code == .workspaceInUse)
                    _ = try await harness.lifecycle.stop(instance.id, by: ada)

                    instance = try await harness.lifecycle.request(environment: WorkspaceEnvironments.slug, by: bob)
                    let read = try await Self.shell(harness, instance, "cat /home/player/work/shared.txt")
                    #expect(read.stdout == "from-ada\n")
                    _ = try await harness.lifecycle.stop(instance.id, by: bob)

                    try await workspaces.delete(record)
                    #expect(try await harness.store.workspaces.workspace(id: record.id) == nil)
                    #expect(!workspaces.volumes.exists(record.id))
                }
            }
        }
    }
}

@Suite("Workspace archives on the host")
struct WorkspaceArchiveTests {
    static let environment = EnvironmentParser().parse(
        yaml: """
            name: Notes
            image: busybox
            berth:
              terminal: {user: "1000:1000"}
              workspace: {path: /home/player/work, size: 4m}
            """,
        file: "notes/challenge.yml", slug: "notes"
    ).spec

    static func setUp(_ workspaces: WorkspaceService) async throws -> WorkspaceRecord {
        let environment = try #require(Self.environment)
        let record = try await workspaces.workspace(for: Owner(kind: .user, id: "usr_ada"), environment: environment)
        // Make its image by importing an archive with one file.
        var tar = WorkspaceTar()
        tar.add("hello.txt", contents: Array("hello\n".utf8))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ws-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(tar.finished).write(to: file)
        try await workspaces.importArchive(from: file, into: record)
        return record
    }

    @Test("export then import gives back the same files, owned by the terminal's user; symlinks stay links and are never followed")
    func roundTrip() async throws {
        try await withMemoryStore { store in try await withWorkspaces(store: store) { workspaces, directory in
            guard workspaces.volumes.unavailableReason() == nil else { return }
            let record = try await Self.setUp(workspaces)
            // A decoy outside the workspace that a hostile link points at.
            let decoy = directory.path("decoy-secret")
            try Data("do not read or write me\n".utf8).write(to: decoy)

            var tar = WorkspaceTar()
            tar.add("notes/", type: "5")
            tar.add("notes/a.txt", contents: Array("alpha\n".utf8))
            tar.add("shadow", type: "2", link: decoy.path)
            tar.add("py", type: "2", link: "/usr/bin/python3")
            tar.add("fifo", type: "6")
            // The same name again as a file: tar must replace the link, not write through it.
            tar.add("shadow", contents: Array("overwritten\n".utf8))
            let upload = directory.path("upload.tar")
            try Data(tar.finished).write(to: upload)
            try await workspaces.importArchive(from: upload, into: record)
            #expect(try String(contentsOf: decoy, encoding: .utf8) == "do not read or write me\n")

            let exported = directory.path("export.tar")
            try await workspaces.writeArchive(of: record, to: exported)
            let archive = try CheckedArchive(tar: Array(try Data(contentsOf: exported)), maxEntries: 100, wholeWorkspace: true)
            let byPath = Dictionary(uniqueKeysWithValues: archive.entries.map { ($0.path, $0) })
            #expect(byPath["notes/a.txt"]?.contents == Array("alpha\n".utf8))
            #expect(byPath["py"]?.kind == .symlink(target: "/usr/bin/python3"))
            // GNU tar keeps the link (it delays links until the end) or the file; never writes through.
            let shadow = try #require(byPath["shadow"])
            #expect(shadow.kind == .symlink(target: decoy.path) || shadow.contents == Array("overwritten\n".utf8))
            #expect(byPath["hello.txt"] == nil, "an import replaces the files")
            #expect(byPath["fifo"] == nil)
            let raw = try Data(contentsOf: exported)
            #expect(!String(decoding: raw, as: UTF8.self).contains("do not read or write me"))

            // Now a link to the decoy, and an export: the link is stored, never its target's bytes.
            var linked = WorkspaceTar()
            linked.add("secret", type: "2", link: decoy.path)
            try Data(linked.finished).write(to: upload)
            try await workspaces.importArchive(from: upload, into: record)
            try await workspaces.writeArchive(of: record, to: exported)
            #expect(!String(decoding: try Data(contentsOf: exported), as: UTF8.self).contains("do not read or write me"))

            // Round trip: import the export into a second workspace and export that.
            let environment = try #require(Self.environment)
            let second = try await workspaces.workspace(for: Owner(kind: .user, id: "usr_bob"), environment: environment)
            try await workspaces.importArchive(from: exported, into: second)
            let again = directory.path("again.tar")
            try await workspaces.writeArchive(of: second, to: again)
            let first = try CheckedArchive(tar: Array(try Data(contentsOf: exported)), maxEntries: 100, wholeWorkspace: true).entries.map(\.path)
            let copy = try CheckedArchive(tar: Array(try Data(contentsOf: again)), maxEntries: 100, wholeWorkspace: true).entries.map(\.path)
            #expect(first == copy)
        } }
    }

    @Test("a tar with '..', an absolute path, a device or an entry under one of its own symlinks is refused and nothing changes")
    func refusals() async throws {
        try await withMemoryStore { store in try await withWorkspaces(store: store) { workspaces, directory in
            guard workspaces.volumes.unavailableReason() == nil else { return }
            let record = try await Self.setUp(workspaces)
            var dotDot = WorkspaceTar()
            dotDot.add("../escape.txt", contents: [1])
            var absolute = WorkspaceTar()
            absolute.add("/etc/escape", contents: [1])
            var device = WorkspaceTar()
            device.add("null", type: "3")
            var underLink = WorkspaceTar()
            underLink.add("out", type: "2", link: directory.url.path)
            underLink.add("out/evil", contents: [1])
            var notATar = WorkspaceTar()
            notATar.bytes = Array("just text".utf8) + [UInt8](repeating: 1, count: 600)
            let cases = [
                ("holds '..'", dotDot), ("absolute path", absolute), ("is a device", device),
                ("a symlink of the same archive", underLink), ("not a tar", notATar),
            ]
            for (reason, tar) in cases {
                let file = directory.path("bad.tar")
                try Data(tar.finished).write(to: file)
                let error = await #expect(throws: BerthError.self) { try await workspaces.importArchive(from: file, into: record) }
                #expect(error?.code == .workspaceInvalidArchive, "\(reason): \(String(describing: error))")
                #expect(error?.message.contains(reason) == true || reason == "not a tar", "\(reason): \(error?.message ?? "")")
            }
            #expect(!FileManager.default.fileExists(atPath: directory.path("out/evil").path))
            let exported = directory.path("export.tar")
            try await workspaces.writeArchive(of: record, to: exported)
            let paths = try CheckedArchive(tar: Array(try Data(contentsOf: exported)), maxEntries: 100, wholeWorkspace: true).entries.map(\.path)
            #expect(paths == ["hello.txt"])
        } }
    }
}
