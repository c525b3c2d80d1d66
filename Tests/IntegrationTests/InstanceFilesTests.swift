import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Environments of the file API tests.
enum FileEnvironments {
    static let writableSlug = "berth-it-files"
    static let readOnlySlug = "berth-it-files-ro"

    /// Like `lab-editor-basics`: a writable root, the terminal's workdir and /tmp as roots, and a
    /// root-only `/run/berth-checks` as the lab runtime makes it.
    static let writable = TestEnvironment(
        slug: writableSlug,
        challenge: """
            name: Files
            category: test
            berth:
              terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player/work}
              resources: {memory: 96m, cpus: 1, pids: 64}
              network: none
              readOnlyRoot: false
              writable: [/tmp]
              tmpfsSize: 32m
            """,
        dockerfile: """
            FROM \(EngineFixture.baseImage)
            RUN mkdir -p /home/player/work /run/berth-checks \\
             && echo 'exit 0' > /run/berth-checks/check && chmod 0700 /run/berth-checks \\
             && echo locked > /home/player/work/locked.txt && chmod 0444 /home/player/work/locked.txt \\
             && mkdir /home/player/work/system && echo x > /home/player/work/system/file \\
             && chown 1000:1000 /home/player/work
            CMD ["sleep", "infinity"]
            """
    )

    /// A read-only root with tmpfs writable paths, as most challenges have.
    static let readOnly = TestEnvironment(
        slug: readOnlySlug,
        challenge: """
            name: Files, read-only root
            category: test
            berth:
              terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player}
              resources: {memory: 48m, cpus: 0.5, pids: 48}
              network: none
              readOnlyRoot: true
              writable: [/home/player, /tmp]
              tmpfsSize: 8m
            """,
        dockerfile: """
            FROM \(EngineFixture.baseImage)
            CMD ["sleep", "infinity"]
            """
    )
}

/// A tar archive built by hand, for hostile uploads `TarArchive` cannot write.
struct RawTar {
    var bytes: [UInt8] = []

    mutating func add(_ name: String, type: Character = "0", link: String = "", contents: [UInt8] = [], mode: Int = 0o644) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[at + index] = byte }
        }
        func octal(_ value: Int, _ at: Int, _ length: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: length - 1 - digits.count) + digits, at, length - 1)
        }
        put(name, 0, 100)
        octal(mode, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(contents.count, 124, 12)
        octal(0, 136, 12)
        block[156] = type.asciiValue ?? 0
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        for index in 148..<156 { block[index] = 32 }
        octal(block.reduce(0) { $0 + Int($1) }, 148, 7)
        block[155] = 32
        bytes += block + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

/// Expects `body` to fail with a ``BerthError`` of `code`; returns its message.
@discardableResult
func expectFileError<T>(_ code: BerthError.Code, _ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> String {
    do {
        _ = try await body()
        Issue.record("expected \(code.rawValue), but the operation succeeded", sourceLocation: sourceLocation)
    } catch let error as BerthError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error.message
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
    return ""
}

@Suite("File API rules without an engine")
struct FileRulesTests {
    @Test("paths are normalised; '..', NUL, relative and over-long paths are refused")
    func paths() throws {
        #expect(try FilePaths.normalise("/tmp//a/./b/") == "/tmp/a/b")
        #expect(try FilePaths.normalise("/") == "/")
        for bad in ["", "tmp/a", "/tmp/../etc", "/tmp/a\u{0}", "/" + String(repeating: "a", count: 256), "/" + String(repeating: "a/", count: 2100)] {
            #expect(throws: BerthError.self) { try FilePaths.normalise(bad) }
        }
        #expect(FilePaths.isInside("/tmp/a", root: "/tmp"))
        #expect(!FilePaths.isInside("/tmpx", root: "/tmp"))
        #expect(FilePaths.isInside("/tmp", root: "/tmp"))
    }

    @Test("an archive is re-encoded as checked: the container's tar reads the same entries")
    func reencoded() throws {
        var tar = RawTar()
        tar.add("./a/", type: "5", mode: 0o4755)
        tar.add("./a/b.txt", contents: Array("b".utf8))
        tar.add("./a/c", type: "2", link: "b.txt")
        tar.add("./a/d", type: "1", link: "a/b.txt")
        let checked = try CheckedArchive(tar: tar.finished, maxEntries: 10)
        #expect(checked.entries.map(\.path) == ["a", "a/b.txt", "a/c", "a/d"])
        #expect(checked.entries[0].mode == 0o755, "set-id bits are dropped")
        #expect(checked.touchedPaths == ["a", "a/b.txt", "a/c", "a/d"])
        let again = try CheckedArchive(tar: checked.encoded(), maxEntries: 10)
        #expect(again == checked)
        #expect(throws: BerthError.self) { try CheckedArchive(tar: tar.finished, maxEntries: 3) }
    }
}

extension Integration {
    @Suite("File API on the real engine")
    struct InstanceFilesTests {
        static func with(_ body: (LifecycleHarness, InstanceFiles, Instance) async throws -> Void) async throws {
            try await LifecycleHarness.with(environments: [FileEnvironments.writable]) { harness in
                let instance = try await harness.lifecycle.request(environment: FileEnvironments.writableSlug, by: harness.player("alice"))
                try await body(harness, InstanceFiles(fileSystem: harness.runtime, catalog: harness.catalog), instance)
            }
        }

        @Test("binary content round-trips byte for byte: all 256 byte values and a 5 MiB file; new files are 0644")
        func binaryRoundTrip() async throws {
            try await Self.with { _, files, instance in
                let all = (0..<512).map { UInt8($0 % 256) }
                let written = try await files.write(instance, path: "/home/player/work/bytes.bin", bytes: all, condition: .always)
                #expect(written.entry.size == 512)
                #expect(written.entry.modeText == "0644")
                #expect(written.entry.kind == .file)
                let read = try await files.read(instance, path: "/home/player/work/bytes.bin")
                #expect(read.bytes == all)
                #expect(read.sha256 == written.sha256)

                var generator = SystemRandomNumberGenerator()
                let big = (0..<(5 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let bigWritten = try await files.write(instance, path: "/tmp/deep/er/big.bin", bytes: big, condition: .always)
                #expect(bigWritten.entry.size == Int64(big.count))
                let bigRead = try await files.read(instance, path: "/tmp/deep/er/big.bin")
                #expect(bigRead.bytes.count == big.count)
                #expect(bigRead.bytes == big)
                #expect(bigRead.sha256 == InstanceFiles.sha256(big))
            }
        }

        @Test("a listing shows names, kinds, sizes and modes; without a path only the roots")
        func listing() async throws {
            try await Self.with { harness, files, instance in
                let roots = try await files.list(instance, path: nil)
                #expect(roots.roots == ["/tmp", "/home/player/work"])
                #expect(roots.path == nil && roots.entries.isEmpty)

                _ = try await files.write(instance, path: "/home/player/work/notes.txt", bytes: Array("hello\n".utf8), condition: .always)
                _ = try await harness.exec(instance, "cd /home/player/work && mkdir sub && ln -s notes.txt link && chmod 0600 notes.txt && printf x > \"$(printf 'two\\nlines')\"")
                let listing = try await files.list(instance, path: "/home/player/work/")
                #expect(listing.path == "/home/player/work")
                let byName = Dictionary(uniqueKeysWithValues: listing.entries.map { ($0.name, $0) })
                #expect(byName["notes.txt"]?.kind == .file, "\(listing.entries)")
                #expect(byName["notes.txt"]?.size == 6)
                #expect(byName["notes.txt"]?.modeText == "0600")
                #expect(byName["notes.txt"]?.path == "/home/player/work/notes.txt")
                #expect(byName["sub"]?.kind == .directory)
                #expect(byName["link"]?.kind == .symlink)
                #expect(byName["locked.txt"] != nil)
                #expect(byName["two\nlines"]?.size == 1, "a name holding a newline is one entry")
                #expect(listing.entries.map(\.name) == listing.entries.map(\.name).sorted())

                // A write keeps an existing file's mode.
                let rewritten = try await files.write(instance, path: "/home/player/work/notes.txt", bytes: Array("again\n".utf8), condition: .always)
                #expect(rewritten.entry.modeText == "0600")
                await expectFileError(.notADirectory) { try await files.list(instance, path: "/home/player/work/notes.txt") }
                await expectFileError(.fileNotFound) { try await files.list(instance, path: "/tmp/missing") }
                await expectFileError(.notAFile) { try await files.read(instance, path: "/home/player/work/sub") }
                await expectFileError(.fileNotFound) { try await files.read(instance, path: "/home/player/work/missing.txt") }
            }
        }

        @Test("'..', paths outside the roots and symlinks to /etc or /run/berth-checks are refused")
        func escapes() async throws {
            try await Self.with { harness, files, instance in
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/tmp/../etc/passwd") }
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/etc/passwd") }
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "tmp/x") }
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/tmp/a\u{0}b") }
                await expectFileError(.pathNotAllowed) { try await files.list(instance, path: "/run/berth-checks") }

                let links = try await harness.exec(instance, "ln -s /etc /tmp/etc-link && ln -s /run/berth-checks /home/player/work/checks && ln -s /etc/passwd /tmp/passwd && echo ok")
                #expect(links.stdout == "ok\n", "\(links.stderr)")
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/tmp/etc-link/passwd") }
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/tmp/passwd") }
                await expectFileError(.pathNotAllowed) { try await files.list(instance, path: "/tmp/etc-link") }
                await expectFileError(.pathNotAllowed) { try await files.list(instance, path: "/home/player/work/checks") }
                await expectFileError(.pathNotAllowed) { try await files.read(instance, path: "/home/player/work/checks/check") }
                await expectFileError(.pathNotAllowed) { try await files.download(instance, path: "/home/player/work/checks") }
                await expectFileError(.pathNotAllowed) {
                    try await files.write(instance, path: "/tmp/etc-link/new/folder/file", bytes: [1], condition: .always)
                }
                await expectFileError(.pathNotAllowed) { try await files.write(instance, path: "/tmp/passwd", bytes: [1], condition: .always) }
                #expect(try await harness.exec(instance, "test -e /etc/new && echo present || echo absent").stdout == "absent\n")

                // Deleting the link removes the link, not what it points to.
                try await files.remove(instance, path: "/tmp/etc-link", recursive: true)
                #expect(try await harness.exec(instance, "test -e /etc/passwd && ! test -e /tmp/etc-link && echo ok").stdout == "ok\n")
            }
        }

        @Test("a read-only path, a root-owned file and a read-only root give clear errors")
        func readOnly() async throws {
            try await LifecycleHarness.with(environments: [FileEnvironments.readOnly, FileEnvironments.writable]) { harness in
                let files = InstanceFiles(fileSystem: harness.runtime, catalog: harness.catalog)
                let ro = try await harness.lifecycle.request(environment: FileEnvironments.readOnlySlug, by: harness.player("bob"))
                #expect(try await files.list(ro, path: nil).roots == ["/home/player", "/tmp"])
                let message = await expectFileError(.pathNotAllowed) {
                    try await files.write(ro, path: "/etc/motd", bytes: Array("x".utf8), condition: .always)
                }
                #expect(message.contains("/home/player, /tmp"), "\(message)")
                _ = try await files.write(ro, path: "/home/player/ok.txt", bytes: Array("fine".utf8), condition: .always)

                let rw = try await harness.lifecycle.request(environment: FileEnvironments.writableSlug, by: harness.player("carol"))
                let denied = await expectFileError(.filePermissionDenied) {
                    try await files.write(rw, path: "/home/player/work/locked.txt", bytes: Array("mine".utf8), condition: .always)
                }
                #expect(denied.lowercased().contains("permission denied"), "\(denied)")
                #expect(try await files.read(rw, path: "/home/player/work/locked.txt").bytes == Array("locked\n".utf8))
                await expectFileError(.filePermissionDenied) {
                    try await files.write(rw, path: "/home/player/work/system/new.txt", bytes: Array("mine".utf8), condition: .always)
                }
                await expectFileError(.filePermissionDenied) { try await files.remove(rw, path: "/home/player/work/system", recursive: true) }
            }
        }

        @Test("delete: a file, an empty folder, a full folder only with recursive, never a root")
        func delete() async throws {
            try await Self.with { harness, files, instance in
                _ = try await files.write(instance, path: "/tmp/d/one.txt", bytes: [1], condition: .always)
                _ = try await files.write(instance, path: "/tmp/d/sub/two.txt", bytes: [2], condition: .always)
                try await files.remove(instance, path: "/tmp/d/one.txt", recursive: false)
                await expectFileError(.fileNotFound) { try await files.read(instance, path: "/tmp/d/one.txt") }
                await expectFileError(.directoryNotEmpty) { try await files.remove(instance, path: "/tmp/d", recursive: false) }
                try await files.remove(instance, path: "/tmp/d", recursive: true)
                await expectFileError(.fileNotFound) { try await files.list(instance, path: "/tmp/d") }
                await expectFileError(.fileNotFound) { try await files.remove(instance, path: "/tmp/d", recursive: true) }
                await expectFileError(.pathNotAllowed) { try await files.remove(instance, path: "/tmp", recursive: true) }
                await expectFileError(.pathNotAllowed) { try await files.remove(instance, path: "/home/player/work/", recursive: true) }
                _ = harness
            }
        }

        @Test("If-Match and If-None-Match: a changed file is not overwritten")
        func conditions() async throws {
            try await Self.with { harness, files, instance in
                let first = try await files.write(instance, path: "/tmp/c.txt", bytes: Array("one".utf8), condition: .absent)
                await expectFileError(.fileChanged) { try await files.write(instance, path: "/tmp/c.txt", bytes: Array("x".utf8), condition: .absent) }
                let second = try await files.write(instance, path: "/tmp/c.txt", bytes: Array("two".utf8), condition: .matches(first.sha256))
                // The learner edits the file in the terminal meanwhile.
                _ = try await harness.exec(instance, "echo three > /tmp/c.txt")
                await expectFileError(.fileChanged) {
                    try await files.write(instance, path: "/tmp/c.txt", bytes: Array("four".utf8), condition: .matches(second.sha256))
                }
                #expect(try await files.read(instance, path: "/tmp/c.txt").bytes == Array("three\n".utf8))
                await expectFileError(.fileChanged) {
                    try await files.write(instance, path: "/tmp/gone.txt", bytes: [1], condition: .matches(second.sha256))
                }
            }
        }

        @Test("upload extracts files, folders, inner links and long names; download holds what was written")
        func uploadAndDownload() async throws {
            try await Self.with { harness, files, instance in
                let longName = String(repeating: "n", count: 90) + "/" + String(repeating: "m", count: 60) + ".txt"
                var tar = RawTar()
                tar.add("./", type: "5", mode: 0o755)
                tar.add("./docs/", type: "5", mode: 0o755)
                tar.add("./docs/readme.md", contents: Array("# hi\n".utf8))
                tar.add("./run.sh", contents: Array("echo run\n".utf8), mode: 0o755)
                tar.add("./docs/latest", type: "2", link: "readme.md")
                let summary = try await files.upload(instance, path: "/home/player/work/project", tar: tar.finished)
                #expect(summary.files == 2)
                #expect(summary.bytes == 14)
                #expect(summary.path == "/home/player/work/project")
                let check = try await harness.exec(instance, "cd /home/player/work/project && cat docs/latest && stat -c '%a %u' run.sh")
                #expect(check.stdout == "# hi\n755 1000\n", "\(check.stderr)")

                var archive = TarArchive()
                archive.append(TarArchive.Entry(path: longName, contents: Array("long".utf8)))
                _ = try await files.upload(instance, path: "/home/player/work/project", tar: try archive.encoded())
                #expect(try await files.read(instance, path: "/home/player/work/project/" + longName).bytes == Array("long".utf8))

                let spooled = try await files.download(instance, path: "/home/player/work/project")
                let data = try spooled.handle.readToEnd() ?? Data()
                try spooled.handle.close()
                #expect(Int64(data.count) == spooled.size)
                let downloaded = try TarArchive.decode([UInt8](data))
                let byPath = Dictionary(downloaded.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
                #expect(byPath["./docs/readme.md"]?.contents == Array("# hi\n".utf8))
                #expect(byPath["./run.sh"]?.contents == Array("echo run\n".utf8))
                #expect(byPath["./" + longName]?.contents == Array("long".utf8))
                await expectFileError(.notADirectory) { try await files.download(instance, path: "/home/player/work/project/run.sh") }
            }
        }

        @Test("hostile archives are refused with nothing written")
        func hostileArchives() async throws {
            try await Self.with { harness, files, instance in
                func attempt(_ build: (inout RawTar) -> Void) async -> String {
                    var tar = RawTar()
                    tar.add("innocent.txt", contents: Array("written?".utf8))
                    build(&tar)
                    return await expectFileError(.pathNotAllowed) { try await files.upload(instance, path: "/tmp/up", tar: tar.finished) }
                }
                #expect(await attempt { $0.add("/etc/evil", contents: [1]) }.contains("absolute"))
                #expect(await attempt { $0.add("../x", contents: [1]) }.contains(".."))
                #expect(await attempt { $0.add("a/../../x", contents: [1]) }.contains(".."))
                #expect(await attempt { $0.add("out", type: "2", link: "/etc") }.contains("outside"))
                #expect(await attempt { $0.add("out", type: "2", link: "../../etc") }.contains("outside"))
                #expect(await attempt { $0.add("inner", type: "2", link: "."); $0.add("inner/x", contents: [1]) }.contains("symlink"))
                #expect(await attempt { $0.add("null", type: "3") }.contains("device"))
                #expect(await attempt { $0.add("disk", type: "4") }.contains("device"))
                #expect(await attempt { $0.add("pipe", type: "6") }.contains("FIFO"))
                #expect(await attempt { $0.add("h", type: "1", link: "../../etc/passwd") }.contains(".."))
                #expect(try await harness.exec(instance, "test -e /tmp/up && echo present || echo absent").stdout == "absent\n")

                // A symlink already in the folder that leads out is not followed by the extraction.
                _ = try await harness.exec(instance, "mkdir -p /tmp/up2 && ln -s /etc /tmp/up2/sub")
                var through = RawTar()
                through.add("sub/evil", contents: [1])
                await expectFileError(.pathNotAllowed) { try await files.upload(instance, path: "/tmp/up2", tar: through.finished) }
                #expect(try await harness.exec(instance, "test -e /etc/evil && echo present || echo absent").stdout == "absent\n")

                var corrupt = RawTar()
                corrupt.add("ok.txt", contents: [1])
                var bytes = corrupt.finished
                bytes[10] ^= 0xff
                await expectFileError(.invalidBody) { try await files.upload(instance, path: "/tmp/up3", tar: bytes) }
            }
        }

        @Test("an image without /bin/sh answers files_unavailable; a stopped instance instance_not_running")
        func unavailable() async throws {
            try await Self.with { harness, files, instance in
                let containerID = try #require(instance.containerID)
                let removed = try await harness.docker.exec(containerID, command: ["/bin/busybox", "rm", "-f", "/bin/sh"], user: "0")
                #expect(removed.exitCode == 0, "\(removed.stderr)")
                await expectFileError(.filesUnavailable) { try await files.list(instance, path: "/tmp") }
                await expectFileError(.filesUnavailable) { try await files.write(instance, path: "/tmp/x", bytes: [1], condition: .always) }

                var stopped = instance
                stopped.state = .stopped
                await expectFileError(.instanceNotRunning) { try await files.list(stopped, path: "/tmp") }
            }
        }
    }
}
