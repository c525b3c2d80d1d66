import DockerEngine
import Foundation
import HTTPTransport
import NIOCore

/// Scoped access to the real Docker Engine for tests. It labels and names everything it creates
/// with a run id unique to the scope, records each container, network and image, and removes them
/// in reverse order when the scope ends, whether the test passed or threw.
public actor EngineFixture {
    /// The image every test environment builds on: `berth/base:latest`, which `make test` builds
    /// before `swift test`, or `BERTH_BASE_IMAGE` (as for scripts/build-base-image.sh).
    public static let baseImage: String = {
        let configured = ProcessInfo.processInfo.environment["BERTH_BASE_IMAGE"] ?? ""
        return configured.isEmpty ? "berth/base:latest" : configured
    }()
    /// The label carrying the run id on everything the fixture creates.
    public static let runLabel = "berth.test.run"

    /// The engine client.
    public nonisolated let docker: DockerClient
    /// Unique per fixture: keeps names and labels of parallel tests apart.
    public nonisolated let runID: String

    private enum Resource {
        case container(String)
        case network(String)
        case image(String)
    }

    private var created: [Resource] = []

    private init(docker: DockerClient) {
        self.docker = docker
        self.runID = UniqueName.make()
    }

    /// Runs `body` with a fixture on the engine named by `DOCKER_HOST` (or the default socket) and
    /// removes what it created afterwards. Fails with a clear message when the engine does not
    /// answer or, unless `requireBaseImage` is false, when `berth/base:latest` is missing.
    public static func with<Result: Sendable>(
        requireBaseImage: Bool = true, _ body: (EngineFixture) async throws -> Result
    ) async throws -> Result {
        let docker = try DockerClient.fromEnvironment()
        try await requireEngine(docker)
        if requireBaseImage { try await Self.requireBaseImage(docker) }
        let fixture = EngineFixture(docker: docker)
        let result: Result
        do {
            result = try await body(fixture)
        } catch {
            await fixture.removeAll()
            throw error
        }
        await fixture.removeAll()
        return result
    }

    /// Fails unless the engine answers a ping.
    public static func requireEngine(_ docker: DockerClient) async throws {
        do {
            try await docker.ping()
        } catch {
            throw FixtureError(
                "The Docker Engine at \(docker.transport.address) does not answer (\(error)). Start dockerd or set DOCKER_HOST; `make test` does both."
            )
        }
    }

    /// Fails unless `berth/base:latest` is in the engine.
    public static func requireBaseImage(_ docker: DockerClient) async throws {
        do {
            _ = try await docker.inspectImage(baseImage)
        } catch let error as DockerError where error.isNotFound {
            throw FixtureError(
                "The image \(baseImage) is not in the engine. Build it first: `make test` does, or run scripts/build-base-image.sh."
            )
        } catch {
            throw FixtureError("Cannot inspect \(baseImage) in the Docker Engine: \(error)")
        }
    }

    // MARK: - Names and labels

    /// A name unique to this fixture: `berth-test-<run>-<suffix>`.
    public nonisolated func name(_ suffix: String) -> String {
        "berth-test-\(runID)-\(suffix)"
    }

    /// The fixture's run label plus `extra`.
    public nonisolated func labels(_ extra: [String: String] = [:]) -> [String: String] {
        extra.merging([Self.runLabel: runID]) { _, run in run }
    }

    /// The label filter matching everything this fixture labelled.
    public nonisolated var runFilter: String { "\(Self.runLabel)=\(runID)" }

    // MARK: - Recording

    /// Records a container created elsewhere so the scope removes it.
    public func track(container id: String) {
        created.append(.container(id))
    }

    /// Records a network created elsewhere so the scope removes it.
    public func track(network id: String) {
        created.append(.network(id))
    }

    /// Records an image (by tag or id) so the scope removes it.
    public func track(image reference: String) {
        created.append(.image(reference))
    }

    // MARK: - Creating

    /// Creates (without starting) a container from the base image running `command`, named and
    /// labelled for this fixture. `configure` may change the request before it is sent.
    public func createContainer(
        _ suffix: String, command: [String], image: String = EngineFixture.baseImage,
        configure: @Sendable (inout ContainerCreateRequest) -> Void = { _ in }
    ) async throws -> String {
        var host = HostConfig()
        host.networkMode = "none"
        host.initProcess = true
        var request = ContainerCreateRequest(image: image, hostConfig: host)
        request.command = command
        request.labels = labels()
        configure(&request)
        request.labels.merge([Self.runLabel: runID]) { _, run in run }
        let id = try await docker.createContainer(name: name(suffix), request)
        track(container: id)
        return id
    }

    /// Creates and starts a container (see ``createContainer(_:command:image:configure:)``).
    public func runContainer(
        _ suffix: String, command: [String], image: String = EngineFixture.baseImage,
        configure: @Sendable (inout ContainerCreateRequest) -> Void = { _ in }
    ) async throws -> String {
        let id = try await createContainer(suffix, command: command, image: image, configure: configure)
        try await docker.startContainer(id)
        return id
    }

    /// Creates a bridge network named and labelled for this fixture.
    public func createNetwork(_ suffix: String, labels extra: [String: String] = [:]) async throws -> String {
        var request = NetworkCreateRequest(name: name(suffix))
        request.labels = labels(extra)
        let id = try await docker.createNetwork(request)
        track(network: id)
        return id
    }

    /// Builds an image tagged `berth-test/<run>-<suffix>:latest` from a Dockerfile and extra files;
    /// returns the tag, the image id and every progress line.
    public func buildImage(
        _ suffix: String, dockerfile: String, files: [String: String] = [:]
    ) async throws -> (tag: String, id: String, progress: [String]) {
        var archive = TarArchive()
        archive.append(TarArchive.Entry(path: "Dockerfile", contents: Array(dockerfile.utf8)))
        for (path, contents) in files.sorted(by: { $0.key < $1.key }) {
            archive.append(TarArchive.Entry(path: path, contents: Array(contents.utf8)))
        }
        let tag = "berth-test/\(runID)-\(suffix):latest"
        let lines = ProgressLines()
        track(image: tag)
        let id = try await docker.buildImage(context: try archive.encoded(), tag: tag, labels: labels()) { line in
            await lines.append(line)
        }
        return (tag, id, await lines.all)
    }

    // MARK: - Cleanup

    /// Removes everything recorded, newest first, ignoring what is already gone; then sweeps any
    /// container or network still carrying this run's label.
    public func removeAll() async {
        for resource in created.reversed() {
            switch resource {
            case .container(let id): try? await docker.removeContainer(id, force: true)
            case .network(let id): try? await docker.removeNetwork(id)
            case .image(let reference): try? await docker.removeImage(reference, force: true)
            }
        }
        created.removeAll()
        if let leftovers = try? await docker.listContainers(labels: [runFilter]) {
            for container in leftovers { try? await docker.removeContainer(container.id, force: true) }
        }
        if let leftovers = try? await docker.listNetworks(labels: [runFilter]) {
            for network in leftovers { try? await docker.removeNetwork(network.id) }
        }
    }
}

/// Collects build progress lines from the client's `@Sendable` callback.
actor ProgressLines {
    private(set) var lines: [String] = []

    func append(_ progress: BuildProgress) {
        if let text = progress.stream ?? progress.status { lines.append(text) }
    }

    var all: [String] { lines }
}

extension DockerClient {
    /// The number of processes in a container's pids cgroup, as the engine's stats report it.
    public func processCount(of containerID: String) async throws -> Int {
        let response = try await transport.execute(
            method: .GET, path: "/v\(Self.apiVersion)/containers/\(containerID)/stats?stream=false&one-shot=true"
        )
        struct Stats: Decodable {
            struct Pids: Decodable { var current: Int? }
            var pids_stats: Pids
        }
        guard response.status == 200 else {
            throw FixtureError("stats of \(containerID) failed: HTTP \(response.status) \(response.bodyText)")
        }
        let stats = try JSONDecoder().decode(Stats.self, from: Data(response.body.readableBytesView))
        guard let current = stats.pids_stats.current else {
            throw FixtureError("the engine reported no pids_stats for \(containerID)")
        }
        return current
    }
}
