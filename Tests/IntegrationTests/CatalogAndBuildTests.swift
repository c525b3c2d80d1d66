import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// The repository's example environments: `BERTH_TEST_EXAMPLES`, or `examples/environments`
/// next to this package.
func examplesFolder() -> URL {
    if let configured = ProcessInfo.processInfo.environment["BERTH_TEST_EXAMPLES"], !configured.isEmpty {
        return URL(fileURLWithPath: configured, isDirectory: true)
    }
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/environments", isDirectory: true)
}

/// Collects progress lines from the builder's `@Sendable` callback.
actor LineCollector {
    private(set) var lines: [String] = []

    func add(_ line: String) {
        lines.append(line)
    }
}

extension Integration {
    @Suite("EnvironmentCatalog")
    struct CatalogTests {
        @Test("the repository's example environments load without errors")
        func examplesValidate() throws {
            let scan = try EnvironmentCatalog.scan(examplesFolder())
            let errors = scan.problems.filter { $0.severity == .error }
            #expect(errors.isEmpty, "\(errors.map(\.description))")
            let bySlug = Dictionary(uniqueKeysWithValues: scan.environments.map { ($0.slug, $0) })
            for slug in ["linux-basics", "web-service", "lab-starter"] {
                let environment = try #require(bySlug[slug], "examples/environments/\(slug) is missing or invalid")
                #expect(environment.buildsFromFolder)
            }
            let web = try #require(bySlug["web-service"])
            #expect(web.berth.ports.contains { $0.port == 8080 && $0.protocol == .http })
            #expect(web.berth.network != .none)
            let basics = try #require(bySlug["linux-basics"])
            #expect(basics.berth.readOnlyRoot)
            #expect(basics.berth.terminal.user == "1000:1000")
        }

        @Test("a scan keeps valid folders and reports each broken one as file: field: reason")
        func scanReportsProblems() async throws {
            try await TemporaryDirectory.with(prefix: "berth-catalog") { directory in
                try directory.write("good/challenge.yml", "name: Good\n")
                try directory.write("good/Dockerfile", "FROM scratch\n")
                try directory.write("alt-name/challenge.yaml", "name: Alt\nimage: berth/base:latest\n")
                try directory.write("no-dockerfile/challenge.yml", "name: Lost\nimage: .\n")
                try directory.write("no-instance/challenge.yml", "name: Only flags\nflags: [\"flag{x}\"]\n")
                try directory.write("bad/challenge.yml", "name: Bad\nberth:\n  network: everywhere\n")
                try directory.write("bad/Dockerfile", "FROM scratch\n")
                try directory.write("Upper/challenge.yml", "name: Upper\n")
                try directory.write("Upper/Dockerfile", "FROM scratch\n")
                try directory.write("no-challenge/Dockerfile", "FROM scratch\n")
                try directory.write(".hidden/challenge.yml", "name: [broken\n")
                try directory.write("notes.txt", "not an environment\n")

                let scan = try EnvironmentCatalog.scan(directory.url)
                #expect(scan.environments.map(\.slug) == ["alt-name", "good", "no-instance"])
                #expect(scan.environments.last?.image == ImageSource.none, "no image and no Dockerfile: an environment without an instance")
                #expect(!scan.isValid)
                let lines = Set(scan.problems.filter { $0.severity == .error }.map(\.description))
                #expect(lines.contains("no-dockerfile/challenge.yml: image: 'image: .' builds this folder, but it has no Dockerfile"), "\(lines)")
                #expect(lines.contains { $0.hasPrefix("bad/challenge.yml: berth.network: 'everywhere'") }, "\(lines)")
                #expect(lines.contains { $0.hasPrefix("Upper/challenge.yml: slug: ") }, "\(lines)")
                #expect(lines.count == 3, "\(lines)")
            }
        }

        @Test("reload picks up added, changed and broken folders without a restart")
        func reload() async throws {
            try await TemporaryDirectory.with(prefix: "berth-catalog") { directory in
                try directory.write("one/challenge.yml", "name: One\nimage: berth/base:latest\n")
                let catalog = EnvironmentCatalog(directory: directory.url)
                try await catalog.reload()
                #expect(await catalog.all().map(\.slug) == ["one"])

                try directory.write("two/challenge.yml", "name: Two\nimage: berth/base:latest\n")
                try directory.write("one/challenge.yml", "name: One renamed\nimage: berth/base:latest\n")
                try await catalog.reload()
                #expect(await catalog.all().map(\.slug) == ["one", "two"])
                #expect(await catalog.environment("one")?.name == "One renamed")

                try directory.write("two/challenge.yml", "name: Two\nimage: berth/base:latest\nberth: {resources: {memory: 1k}}\n")
                let scan = try await catalog.reload()
                #expect(await catalog.environment("two") == nil, "an environment that became invalid leaves the catalog")
                #expect(await catalog.problems() == scan.problems)
                #expect(scan.problems.map(\.field) == ["berth.resources.memory"])
            }
        }

        @Test("a broken folder never takes the scan down: placeholders, bombs, bad UTF-8, huge files and symlinks are problems")
        func brokenFoldersAreProblems() async throws {
            try await TemporaryDirectory.with(prefix: "berth-catalog") { directory in
                try directory.write("good/challenge.yml", "name: Good\nflags: [\"flag{good}\"]\n")
                try directory.write("template/challenge.yml", "name: T\nvalue: {{easy}}\n")
                try directory.write("latin1/challenge.yml", "name: x\n")
                try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9, 0x0A]).write(to: directory.path("latin1/challenge.yml"))
                try directory.write("huge/challenge.yml", "name: H\ndescription: " + String(repeating: "x", count: YAMLLimits.maximumDocumentBytes) + "\n")
                try directory.write("sub/challenge.yml", "name: Sub\nimage: ./server\n")
                try directory.write("sub/server/Dockerfile", "FROM scratch\n")
                try directory.write("escape/challenge.yml", "name: Escape\nimage: ./outside\n")
                try FileManager.default.createSymbolicLink(atPath: directory.path("escape/outside").path, withDestinationPath: directory.path("sub/server").path)
                try directory.write("attached/challenge.yml", "name: Attached\nfiles: [dist/*.zip]\n")
                try directory.write("attached/dist/handout.zip", "zip")
                try directory.write("leaky/challenge.yml", "name: Leaky\nfiles: [leak.txt]\n")
                try FileManager.default.createSymbolicLink(atPath: directory.path("leaky/leak.txt").path, withDestinationPath: "/etc/hostname")
                let scan = try EnvironmentCatalog.scan(directory.url)
                #expect(scan.environments.map(\.slug) == ["attached", "good", "sub"])
                #expect(scan.environments.last?.image == .build(context: "server"))
                #expect(scan.environments.first?.files == ["dist/*.zip"])
                let fields = Dictionary(grouping: scan.problems.filter { $0.severity == .error }, by: { $0.file.split(separator: "/").first.map(String.init) ?? "" })
                #expect(fields["template"]?.map(\.field) == ["value"])
                #expect(fields["latin1"]?.first?.reason.contains("UTF-8") == true)
                #expect(fields["huge"]?.first?.reason.contains("1 MiB") == true)
                #expect(fields["escape"]?.map(\.field) == ["image"], "a symlink out of the folder is not a sub-folder")
                #expect(fields["leaky"]?.map(\.field) == ["files"], "an attachment that links out of the folder is refused")
            }
        }

        @Test("memory and tmpfs sizes beyond what this host has are refused")
        func hostLimits() async throws {
            let host = Int64(ProcessInfo.processInfo.physicalMemory)
            let gibibytes = (host >> 30) + 1
            try #require(gibibytes <= 63, "this host has more memory than the parser's bounds; nothing to check here")
            try await TemporaryDirectory.with(prefix: "berth-catalog") { directory in
                try directory.write("big/challenge.yml", "name: Big\nimage: berth/base:latest\nberth: {resources: {memory: \(gibibytes)g}}\n")
                try directory.write("tmpfs/challenge.yml", "name: T\nimage: berth/base:latest\nberth: {writable: [/a, /b, /c, /d], tmpfsSize: \((gibibytes + 3) / 4)g}\n")
                try directory.write("fits/challenge.yml", "name: F\nimage: berth/base:latest\nberth: {resources: {memory: 64m}, writable: [/a, /b], tmpfsSize: 8m}\n")
                let scan = try EnvironmentCatalog.scan(directory.url)
                #expect(scan.environments.map(\.slug) == ["fits"])
                #expect(Set(scan.problems.map(\.field)) == ["berth.resources.memory", "berth.tmpfsSize"], "\(scan.problems)")
                #expect(scan.problems.allSatisfy { $0.reason.contains("this host") })
            }
        }

        @Test("200 reloads of a folder of malformed environments keep resident memory flat")
        func reloadsDoNotLeak() async throws {
            try await TemporaryDirectory.with(prefix: "berth-catalog") { directory in
                var bomb = "name: Bomb\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                for level in 1...9 { bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n" }
                let broken = [
                    bomb, "name: T\nvalue: {{easy}}\n", "name: [unclosed\n", "a: *nope\n", "\tname: x\n", "name: x\nname: y\n",
                    "name: R\nflags: [{type: regex, content: 'flag{(x'}, {type: regex, content: 'flag{.*LOVE.*}'}]\n",
                    "- a\n- b\n", "", "name: W\nberth: {writable: [/], resources: {memory: 99999999999g}}\n",
                    "name: D\nx: " + String(repeating: "[", count: 2000) + "\n",
                ]
                for (index, text) in broken.enumerated() {
                    try directory.write("broken-\(index)/challenge.yml", text)
                }
                try directory.write("good/challenge.yml", "name: Good\nflags: [{type: regex, content: 'berth\\{[0-9]{4}\\}'}]\n")
                let catalog = EnvironmentCatalog(directory: directory.url)
                for _ in 0..<20 { try await catalog.reload() }
                let baseline = residentBytes()
                for _ in 0..<200 { try await catalog.reload() }
                let grown = residentBytes() - baseline
                #expect(await catalog.all().map(\.slug) == ["good"])
                #expect(Set(await catalog.problems().map(\.file)).count == broken.count)
                // Yams' load leaked on every reload (57 to 632 MiB over 52, so gigabytes over 200);
                // the node-tree parser must not. The bound leaves room for the suites that run
                // beside this one in the same process.
                #expect(grown < 128 << 20, "resident memory grew by \(grown >> 10) KiB over 200 reloads")
            }
        }

        @Test("a requirement that names no environment (a CTFd id) is a warning naming the entry; names and folder names resolve")
        func unknownRequirements() async throws {
            try await TemporaryDirectory.with(prefix: "berth-requirements") { directory in
                try directory.write("intro/challenge.yml", "name: Warm Up\nflags:\n  - flag{a}\n")
                try directory.write("next/challenge.yml", "name: Next\nrequirements: [intro, warm up]\nflags:\n  - flag{b}\n")
                try directory.write("ctfd/challenge.yaml", "name: From CTFd\nrequirements:\n  prerequisites: [12]\nflags:\n  - flag{c}\n")
                let scan = try EnvironmentCatalog.scan(directory.url)
                #expect(scan.environments.map(\.slug) == ["ctfd", "intro", "next"])
                let warnings = scan.problems.filter { $0.field == "requirements" }
                #expect(warnings.count == 1, "\(warnings)")
                #expect(warnings.first?.severity == .warning)
                #expect(warnings.first?.file == "ctfd/challenge.yaml")
                #expect(warnings.first?.reason.hasPrefix("'12' names no environment") == true, "\(warnings)")
            }
        }

        @Test("a scan refuses an environment whose files leave its folder or are missing, and keeps one whose files resolve")
        func attachmentsInScan() async throws {
            try await TemporaryDirectory.with(prefix: "berth-files") { directory in
                try directory.write("outside.txt", "secret\n")
                try directory.write("good/challenge.yml", "name: Good\nfiles:\n  - dist/*.bin\n  - ./dist/readme.txt\n")
                try directory.write("good/dist/app.bin", "abc")
                try directory.write("good/dist/readme.txt", "read me\n")
                try directory.write("leaky/challenge.yml", "name: Leaky\nfiles:\n  - leak.txt\n")
                try FileManager.default.createSymbolicLink(
                    atPath: directory.path("leaky/leak.txt").path, withDestinationPath: directory.path("outside.txt").path)
                try directory.write("missing/challenge.yml", "name: Missing\nfiles: [dist/*.zip, notes.txt]\n")
                let scan = try EnvironmentCatalog.scan(directory.url)
                #expect(scan.environments.map(\.slug) == ["good"])
                let problems = scan.problems.filter { $0.severity == .error }
                #expect(problems.map(\.file).sorted() == ["leaky/challenge.yml", "missing/challenge.yml", "missing/challenge.yml"], "\(problems)")
                #expect(problems.allSatisfy { $0.field == "files" })
                #expect(problems.contains { $0.file == "leaky/challenge.yml" && $0.reason.contains("leaves the environment's folder") }, "\(problems)")
                #expect(problems.contains { $0.reason.contains("'dist/*.zip' matches no file") }, "\(problems)")
                #expect(problems.contains { $0.reason.contains("'notes.txt' does not exist") }, "\(problems)")
                let good = AttachmentLibrary.resolve(["dist/*.bin", "./dist/readme.txt"], in: directory.path("good"))
                #expect(good.files.map(\.relativePath) == ["dist/app.bin", "dist/readme.txt"])
                #expect(good.files.first?.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            }
        }

        @Test("a missing environments folder is 404 environments_not_found")
        func missingFolder() {
            #expect {
                try EnvironmentCatalog.scan(URL(fileURLWithPath: "/nonexistent-\(UniqueName.make())"))
            } throws: { error in
                (error as? BerthError)?.code == .environmentsNotFound
            }
        }
    }

    @Suite("ImageBuilder")
    struct ImageBuilderTests {
        @Test("builds an environment folder through the Engine API, streaming progress, and labels the image")
        func buildsFolder() async throws {
            try await EngineFixture.with { fixture in
                try await TemporaryDirectory.with(prefix: "berth-build") { directory in
                    let slug = "berth-it-build-\(fixture.runID)"
                    try directory.write("\(slug)/challenge.yml", "name: Build me\n")
                    try directory.write("\(slug)/Dockerfile", "FROM \(EngineFixture.baseImage)\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n")
                    try directory.write("\(slug)/hello.txt", "hello from the folder\n")
                    let scan = try EnvironmentCatalog.scan(directory.url)
                    let environment = try #require(scan.environments.first)
                    let reference = try #require(try await ImageBuilder.reference(for: environment, folder: directory.path(slug)))
                    #expect(reference.hasPrefix("berth-env/\(slug):") && reference.count == "berth-env/\(slug):".count + 12, "\(reference)")
                    await fixture.track(image: reference)
                    await fixture.track(image: "berth-env/\(slug):latest")

                    let builder = ImageBuilder(docker: fixture.docker)
                    #expect(await builder.isBuilt(environment, folder: directory.path(slug)) == false)
                    let lines = LineCollector()
                    let id = try await builder.build(environment, folder: directory.path(slug)) { await lines.add($0) }
                    let progress = await lines.lines
                    #expect(progress.first?.hasPrefix("Step 1/") == true, "\(progress)")
                    #expect(progress.contains("hello from the folder"), "the RUN step's output is streamed: \(progress)")
                    #expect(progress.allSatisfy { !$0.hasSuffix("\n") && !$0.isEmpty })

                    #expect(await builder.isBuilt(environment, folder: directory.path(slug)))
                    let image = try await fixture.docker.inspectImage(reference)
                    #expect(image.id == id)
                    #expect(image.config?.labels?[BerthLabel.builtEnvironment] == slug)
                    #expect(try await builder.imageID(for: environment, folder: directory.path(slug)) == id)
                    #expect(try await fixture.docker.inspectImage("berth-env/\(slug):latest").id == id, "latest is set for people and scripts")
                }
            }
        }

        @Test("a prebuilt image is only looked up; a missing one is 422 image_not_found")
        func prebuiltImages() async throws {
            try await EngineFixture.with { fixture in
                let builder = ImageBuilder(docker: fixture.docker)
                let present = EnvironmentSpec(slug: "prebuilt", name: "Prebuilt", image: .prebuilt(reference: EngineFixture.baseImage))
                let base = try await fixture.docker.inspectImage(EngineFixture.baseImage)
                #expect(try await builder.build(present, folder: URL(fileURLWithPath: "/nonexistent")) { _ in } == base.id)

                let missing = EnvironmentSpec(slug: "missing", name: "Missing", image: .prebuilt(reference: "berth-test/missing-\(fixture.runID):latest"))
                #expect(await builder.isBuilt(missing, folder: URL(fileURLWithPath: "/nonexistent")) == false)
                await expectBerthError(.imageNotFound) {
                    _ = try await builder.build(missing, folder: URL(fileURLWithPath: "/nonexistent")) { _ in }
                }
            }
        }

        @Test("a failing Dockerfile surfaces the builder's message")
        func failingBuild() async throws {
            try await EngineFixture.with { fixture in
                try await TemporaryDirectory.with(prefix: "berth-build") { directory in
                    let slug = "berth-it-broken-\(fixture.runID)"
                    try directory.write("\(slug)/Dockerfile", "FROM \(EngineFixture.baseImage)\nRUN echo nope && exit 3\n")
                    let environment = EnvironmentSpec(slug: slug, name: "Broken")
                    await fixture.track(image: try #require(try await ImageBuilder.reference(for: environment, folder: directory.path(slug))))
                    do {
                        try await ImageBuilder(docker: fixture.docker).build(environment, folder: directory.path(slug)) { _ in }
                        Issue.record("the build should fail")
                    } catch let error as DockerError {
                        #expect(error.message.contains("returned a non-zero code: 3"), "\(error)")
                    }
                    #expect(await ImageBuilder(docker: fixture.docker).isBuilt(environment, folder: directory.path(slug)) == false)
                }
            }
        }
    }
}
