import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Collects events handed to the client's `@Sendable` callback.
actor EventCollector {
    private(set) var events: [DockerEvent] = []

    func add(_ event: DockerEvent) {
        events.append(event)
    }
}

@Suite("DockerClient against the real engine")
struct DockerClientTests {
    @Test("ping and version: the engine speaks at least API 1.41")
    func pingAndVersion() async throws {
        try await EngineFixture.with(requireBaseImage: false) { fixture in
            try await fixture.docker.ping()
            let version = try await fixture.docker.version()
            #expect(!version.version.isEmpty)
            let parts = version.apiVersion.split(separator: ".").compactMap { Int($0) }
            #expect(parts.count == 2)
            #expect(parts.lexicographicallyPrecedes([1, 41]) == false, "API \(version.apiVersion) is below 1.41")
        }
    }

    @Test("create, inspect, start, list by label, stop and remove a container")
    func containerLifecycle() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let id = try await fixture.createContainer("main", command: ["sleep", "300"]) { request in
                request.labels["berth.test.role"] = "main"
                request.hostConfig.memory = 64 << 20
                request.hostConfig.memorySwap = 64 << 20
                request.hostConfig.pidsLimit = 32
                request.hostConfig.capDrop = ["ALL"]
                request.hostConfig.securityOpt = ["no-new-privileges:true"]
                request.hostConfig.readonlyRootfs = true
                request.hostConfig.tmpfs = ["/scratch": "rw,size=1m"]
                request.user = "1000:1000"
            }
            let other = try await fixture.createContainer("other", command: ["sleep", "300"]) { $0.labels["berth.test.role"] = "other" }

            let created = try await docker.inspectContainer(id)
            #expect(created.id == id)
            #expect(created.name == "/" + fixture.name("main"))
            #expect(created.state.status == "created")
            #expect(!created.state.running)
            #expect(created.config.image == EngineFixture.baseImage)
            #expect(created.config.user == "1000:1000")
            #expect(created.config.labels?[EngineFixture.runLabel] == fixture.runID)
            #expect(created.hostConfig.memory == 64 << 20)
            #expect(created.hostConfig.memorySwap == 64 << 20)
            #expect(created.hostConfig.pidsLimit == 32)
            #expect(created.hostConfig.capDrop == ["ALL"])
            #expect(created.hostConfig.securityOpt == ["no-new-privileges:true"])
            #expect(created.hostConfig.readonlyRootfs == true)
            #expect(created.hostConfig.tmpfs == ["/scratch": "rw,size=1m"])
            #expect(created.hostConfig.initProcess == true)
            #expect(created.hostConfig.networkMode == "none")

            try await docker.startContainer(id)
            try await docker.startContainer(id)  // already started: 304, accepted
            #expect(try await docker.inspectContainer(id).state.running)

            let mine = try await docker.listContainers(labels: [fixture.runFilter])
            #expect(Set(mine.map(\.id)) == [id, other], "all=true lists the created-but-stopped one too")
            let running = try await docker.listContainers(labels: [fixture.runFilter], all: false)
            #expect(running.map(\.id) == [id])
            let main = try await docker.listContainers(labels: [fixture.runFilter, "berth.test.role=main"])
            #expect(main.map(\.id) == [id])
            #expect(main.first?.labels["berth.test.role"] == "main")
            #expect(main.first?.names == ["/" + fixture.name("main")])
            #expect(main.first?.state == "running")

            try await docker.stopContainer(id, timeoutSeconds: 1)
            try await docker.stopContainer(id, timeoutSeconds: 1)  // already stopped: 304, accepted
            let stopped = try await docker.inspectContainer(id)
            #expect(!stopped.state.running)
            #expect(stopped.state.status == "exited")

            try await docker.removeContainer(id)
            await expectDockerError(status: 404, containing: "No such container") {
                _ = try await docker.inspectContainer(id)
            }
            await expectDockerError(status: 404, containing: "No such container") {
                try await docker.removeContainer(id)
            }
            #expect(try await docker.listContainers(labels: [fixture.runFilter]).map(\.id) == [other])
        }
    }

    @Test("daemon errors carry the daemon's status and message")
    func daemonErrors() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            await expectDockerError(status: 404, containing: "No such container") {
                _ = try await docker.inspectContainer("berth-test-missing-\(fixture.runID)")
            }
            await expectDockerError(status: 404, containing: "No such image") {
                _ = try await docker.inspectImage("berth-test/missing-\(fixture.runID):latest")
            }
            await expectDockerError(status: 404, containing: "No such image") {
                _ = try await fixture.createContainer("no-image", command: ["true"], image: "berth-test/missing-\(fixture.runID):latest")
            }
            _ = try await fixture.createContainer("twin", command: ["true"])
            await expectDockerError(status: 409, containing: "already in use") {
                _ = try await fixture.createContainer("twin", command: ["true"])
            }
            await expectDockerError(status: 404, containing: "network") {
                try await docker.removeNetwork("berth-test-missing-\(fixture.runID)")
            }
            let notRunning = try await fixture.createContainer("idle", command: ["true"])
            await expectDockerError(status: 409, containing: "is not running") {
                _ = try await docker.exec(notRunning, command: ["true"])
            }
        }
    }

    @Test("create, list by label and remove a network")
    func networks() async throws {
        try await EngineFixture.with(requireBaseImage: false) { fixture in
            let docker = fixture.docker
            let id = try await fixture.createNetwork("net", labels: ["berth.test.role": "net"])
            let listed = try await docker.listNetworks(labels: [fixture.runFilter])
            #expect(listed.map(\.id) == [id])
            #expect(listed.first?.name == fixture.name("net"))
            #expect(listed.first?.labels?["berth.test.role"] == "net")
            #expect(try await docker.listNetworks(labels: [fixture.runFilter, "berth.test.role=other"]).isEmpty)
            try await docker.removeNetwork(id)
            #expect(try await docker.listNetworks(labels: [fixture.runFilter]).isEmpty)
            await expectDockerError(status: 404, containing: "not found") {
                try await docker.removeNetwork(id)
            }
        }
    }

    @Test("inspect and list images")
    func images() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let base = try await docker.inspectImage(EngineFixture.baseImage)
            #expect(base.id.hasPrefix("sha256:"))
            #expect(base.repoTags?.contains(EngineFixture.baseImage) == true)
            let all = try await docker.listImages()
            #expect(all.contains { $0.id == base.id && $0.repoTags?.contains(EngineFixture.baseImage) == true })
            #expect(try await docker.listImages(labels: [fixture.runFilter]).isEmpty)
        }
    }

    @Test("build from a tar context streams progress and labels the image")
    func buildImage() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let marker = "built-\(fixture.runID)"
            let (tag, id, progress) = try await fixture.buildImage(
                "ok",
                dockerfile: """
                    FROM \(EngineFixture.baseImage)
                    COPY message.txt /message.txt
                    RUN echo \(marker) > /marker && echo step-output-\(marker)
                    """,
                files: ["message.txt": "hello from the context\n"]
            )
            #expect(id.hasPrefix("sha256:"))
            #expect(progress.first?.hasPrefix("Step 1/") == true, "\(progress)")
            #expect(progress.contains { $0.contains("Successfully tagged \(tag)") }, "\(progress)")
            #expect(progress.contains { $0.contains("step-output-\(marker)") }, "RUN output is streamed: \(progress)")

            let image = try await docker.inspectImage(tag)
            #expect(image.id == id)
            #expect(image.config?.labels?[EngineFixture.runLabel] == fixture.runID)
            #expect(try await docker.listImages(labels: [fixture.runFilter]).map(\.id) == [id])

            let container = try await fixture.runContainer("from-build", command: ["sleep", "300"], image: tag)
            let result = try await docker.exec(container, command: ["cat", "/message.txt", "/marker"])
            #expect(result.exitCode == 0)
            #expect(result.stdout == "hello from the context\n\(marker)\n")
        }
    }

    @Test("a failing build throws the builder's own message")
    func failingBuild() async throws {
        try await EngineFixture.with { fixture in
            do {
                _ = try await fixture.buildImage("fails", dockerfile: "FROM \(EngineFixture.baseImage)\nRUN echo about to fail && exit 7\n")
                Issue.record("the build should have failed")
            } catch let error as DockerError {
                #expect(error.message.contains("returned a non-zero code: 7"), "\(error)")
                #expect(error.operation.contains("build image"))
            }
            do {
                _ = try await fixture.buildImage("syntax", dockerfile: "FROM \(EngineFixture.baseImage)\nFLY away\n")
                Issue.record("the build should have failed")
            } catch let error as DockerError {
                #expect(error.status == 400 || error.status == 500, "\(error)")
                #expect(error.message.localizedCaseInsensitiveContains("unknown instruction"), "\(error)")
            }
        }
    }

    @Test("the events stream reports the die of a labelled container with its exit code")
    func events() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let since = Int(Date().timeIntervalSince1970) - 1
            let id = try await fixture.runContainer("dies", command: ["sh", "-c", "sleep 1; exit 3"])
            let collector = EventCollector()
            let deadline = Int(Date().timeIntervalSince1970) + 30
            try await docker.events(
                filters: ["type": ["container"], "event": ["die"], "label": [fixture.runFilter]], since: since, until: deadline
            ) { event in
                await collector.add(event)
                return event.actor.id != id
            }
            let died = try #require(await collector.events.first { $0.actor.id == id }, "no die event before the deadline")
            #expect(died.type == "container")
            #expect(died.action == "die")
            #expect(died.actor.attributes?["exitCode"] == "3")
            #expect(died.actor.attributes?[EngineFixture.runLabel] == fixture.runID)
            #expect(died.timeNano.map { $0 > Int64(since) * 1_000_000_000 } == true)
        }
    }

    @Test("exec separates stdout from stderr and returns the exit code")
    func exec() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let id = try await fixture.runContainer("exec", command: ["sleep", "300"])
            let simple = try await docker.exec(id, command: ["sh", "-c", "echo out; echo err >&2; exit 5"])
            #expect(simple.exitCode == 5)
            #expect(simple.stdout == "out\n")
            #expect(simple.stderr == "err\n")

            let interleaved = try await docker.exec(id, command: ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"])
            #expect(interleaved.exitCode == 0)
            #expect(interleaved.stdout == (0..<3000).map { "o\($0)\n" }.joined())
            #expect(interleaved.stderr == (0..<3000).map { "e\($0)\n" }.joined())

            let big = try await docker.exec(id, command: ["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x"])
            #expect(big.stdout.count == 1_000_000)
            #expect(big.stdout.allSatisfy { $0 == "x" })

            let context = try await docker.exec(id, command: ["sh", "-c", "id -u; pwd; echo $GREETING"], user: "1000", workingDir: "/tmp", env: ["GREETING=hi"])
            #expect(context.stdout == "1000\n/tmp\nhi\n")

            let missing = try await docker.exec(id, command: ["/no/such/program"])
            #expect(missing.exitCode == 126 || missing.exitCode == 127, "exit \(missing.exitCode)")
        }
    }

    @Test("archive put then get round-trips files into a running container")
    func archives() async throws {
        try await EngineFixture.with { fixture in
            let docker = fixture.docker
            let id = try await fixture.runContainer("archive", command: ["sleep", "300"])
            var archive = TarArchive()
            archive.append(.init(path: "greeting.txt", contents: Array("hello, archive\n".utf8), mode: 0o640))
            archive.append(.init(path: "sub", mode: 0o755, isDirectory: true))
            archive.append(.init(path: "sub/nested.bin", contents: (0..<3000).map { UInt8($0 % 256) }))
            try await docker.putArchive(id, path: "/tmp", tar: try archive.encoded())

            let cat = try await docker.exec(id, command: ["sh", "-c", "cat /tmp/greeting.txt; stat -c %a /tmp/greeting.txt; wc -c < /tmp/sub/nested.bin"])
            #expect(cat.stdout == "hello, archive\n640\n3000\n")

            let file = try TarArchive.decode(try await docker.getArchive(id, path: "/tmp/greeting.txt"))
            #expect(file.entries.map(\.path) == ["greeting.txt"])
            #expect(file.entries.first?.contents == Array("hello, archive\n".utf8))
            let folder = try TarArchive.decode(try await docker.getArchive(id, path: "/tmp/sub"))
            #expect(folder.entries.first { $0.path == "sub/nested.bin" }?.contents == (0..<3000).map { UInt8($0 % 256) })
            #expect(folder.entries.contains { $0.path == "sub" && $0.isDirectory })

            await expectDockerError(status: 404, containing: "Could not find the file") {
                _ = try await docker.getArchive(id, path: "/tmp/absent")
            }
            await expectDockerError(status: 404, containing: "Could not find the file") {
                try await docker.putArchive(id, path: "/no/such/dir", tar: try archive.encoded())
            }
        }
    }
}
