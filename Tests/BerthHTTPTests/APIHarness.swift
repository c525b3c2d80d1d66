import BerthCore
import BerthEngine
import BerthHTTP
import BerthMetrics
import BerthStore
import BerthTerminal
import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The engine an ``APIHarness`` runs its instances and terminals on.
enum HarnessEngine {
    /// ``FakeInstanceRuntime`` and ``FakePTYConnector``: no Docker needed. The default.
    case fake
    /// The real Docker Engine through the production path (`DOCKER_HOST`, namespace lock, ping).
    /// `host` replaces `DOCKER_HOST` for the server (e.g. an ``EngineProxy`` a test can cut) and
    /// `timeoutSeconds` its per-call limit; images are still built directly.
    case docker(host: String? = nil, timeoutSeconds: Int? = nil)
    /// Another harness's fake engine and PTYs, for a second replica over the same containers.
    case sharedFake(FakeInstanceRuntime, FakePTYConnector)

    static let docker = HarnessEngine.docker()
}

/// A server stack for API tests, built by ``buildApplication(_:parts:logger:onRunning:)`` as
/// `berth serve` builds it: SQLite in a temporary data directory, an environments folder written
/// by the test, and a fake engine or the real Docker Engine. Everything it creates is removed by
/// ``shutdown()``.
struct APIHarness {
    static let adminToken = "test-admin-token-0123456789abcdef"

    let directory: URL
    let services: BerthServices
    /// The server, built once; run it once (its shutdown closes the store).
    let application: Application<RouterResponder<BerthRequestContext>>
    /// A client of the real engine (`DOCKER_HOST`), for tests on ``HarnessEngine/docker(host:timeoutSeconds:)``.
    let docker: DockerClient
    /// The fake engine, for tests on ``HarnessEngine/fake``.
    let fake: FakeInstanceRuntime?
    /// The fake PTYs, for tests on ``HarnessEngine/fake``.
    let pty: FakePTYConnector?
    let configuration: BerthConfiguration
    let logger: Logger
    /// The `berth.namespace` label of everything this harness starts.
    let namespace: String

    /// Writes `environments` (slug → challenge.yml text; each gets a Dockerfile FROM berth/base) and builds the server.
    /// `specs` join the catalog as they are (each gets an empty folder, for its attachments), nothing is built for them.
    /// On Docker the environments' images are built first.
    static func make(
        environments: [String: String] = [:], specs: [EnvironmentSpec] = [], engine: HarnessEngine = .fake,
        policy: (inout BerthConfiguration) -> Void = { _ in }, clock: @escaping @Sendable () -> Date = { Date() },
        labChecks: (any LabCheckRunning)? = nil, labHints: (any LabHintGiving)? = nil, files: [String: String] = [:]
    ) async throws -> APIHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-http-\(UUID().uuidString)", isDirectory: true)
        let envDirectory = directory.appendingPathComponent("environments", isDirectory: true)
        try FileManager.default.createDirectory(at: envDirectory, withIntermediateDirectories: true)
        for (slug, yaml) in environments {
            let folder = envDirectory.appendingPathComponent(slug, isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try yaml.write(to: folder.appendingPathComponent("challenge.yml"), atomically: true, encoding: .utf8)
            try "FROM berth/base:latest\nRUN echo built > /etc/berth-test\n".write(
                to: folder.appendingPathComponent("Dockerfile"), atomically: true, encoding: .utf8)
        }
        // More files by path under the environments folder (e.g. `slug/checks/check`), executable.
        for (path, text) in files {
            let file = envDirectory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        for spec in specs {
            try FileManager.default.createDirectory(at: envDirectory.appendingPathComponent(spec.slug, isDirectory: true), withIntermediateDirectories: true)
        }
        let namespace = "test-\(UUID().uuidString.prefix(8).lowercased())"
        var configuration = BerthConfiguration()
        configuration.dataDirectory = directory.path
        configuration.environmentsDirectory = envDirectory.path
        configuration.adminToken = adminToken
        configuration.namespace = namespace
        configuration.hostFirewall = .off
        configuration.port = 0
        configuration.portRange = 31000...31999
        // The test WebSocket client always sends `Origin: ws://localhost`, unlike a browser.
        configuration.allowedOrigins = ["ws://localhost"]
        policy(&configuration)
        var logger = Logger(label: "berth.test")
        logger.logLevel = ProcessInfo.processInfo.environment["BERTH_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning

        let scan = try EnvironmentCatalog.scan(envDirectory)
        #expect(scan.isValid, "test environments must be valid: \(scan.problems)")
        let docker = try DockerClient.fromEnvironment()
        // bcrypt's lowest cost keeps password tests quick; production uses 12.
        var parts = BerthAssembly.Parts(bcryptCost: 4, clock: clock, extraEnvironments: specs, labChecks: labChecks, labHints: labHints)
        var fake: FakeInstanceRuntime?
        var pty: FakePTYConnector?
        switch engine {
        case .fake:
            let runtime = FakeInstanceRuntime(publishAddress: configuration.publishAddress)
            let connector = FakePTYConnector(runtime: runtime)
            parts.engine = .supplied(runtime: runtime, connector: connector)
            (fake, pty) = (runtime, connector)
        case .sharedFake(let runtime, let connector):
            parts.engine = .supplied(runtime: runtime, connector: connector)
            (fake, pty) = (runtime, connector)
        case .docker(let host, let timeoutSeconds):
            configuration.dockerHost = host ?? ProcessInfo.processInfo.environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.dockerHost
            if let timeoutSeconds { configuration.engineTimeoutSeconds = timeoutSeconds }
            let builder = ImageBuilder(docker: docker)
            for environment in scan.environments {
                try await builder.build(environment, folder: envDirectory.appendingPathComponent(environment.slug)) { _ in }
            }
        }
        let built = try await buildApplication(configuration, parts: parts, logger: logger)
        return APIHarness(
            directory: directory, services: built.services, application: built.application, docker: docker, fake: fake, pty: pty,
            configuration: configuration, logger: logger, namespace: namespace
        )
    }

    /// Opens a harness, runs `body`, and always shuts the harness down afterwards.
    static func with(
        environments: [String: String] = [:], specs: [EnvironmentSpec] = [], engine: HarnessEngine = .fake,
        policy: (inout BerthConfiguration) -> Void = { _ in },
        clock: @escaping @Sendable () -> Date = { Date() }, labChecks: (any LabCheckRunning)? = nil, labHints: (any LabHintGiving)? = nil,
        files: [String: String] = [:], _ body: (APIHarness) async throws -> Void
    ) async throws {
        let harness = try await make(
            environments: environments, specs: specs, engine: engine, policy: policy, clock: clock, labChecks: labChecks, labHints: labHints,
            files: files
        )
        do {
            try await body(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
    }

    /// The folder of environment `slug`.
    func folder(_ slug: String) -> URL {
        directory.appendingPathComponent("environments/\(slug)", isDirectory: true)
    }

    /// Removes every container and network this harness started (the store may already be
    /// closed by the application's shutdown, so this goes by label; on Docker this includes the
    /// namespace lock when the application never ran to release it) and its folder.
    func shutdown() async {
        guard fake == nil else {
            await services.workspaces?.unmountIdle(all: true)
            try? await services.store.close()
            try? FileManager.default.removeItem(at: directory)
            return
        }
        let filter = "berth.namespace=\(namespace)"
        for container in (try? await docker.listContainers(labels: [filter])) ?? [] {
            try? await docker.removeContainer(container.id, force: true)
        }
        for network in (try? await docker.listNetworks(labels: [filter])) ?? [] {
            try? await docker.removeNetwork(network.id)
        }
        // Workspaces' loop mounts, once no container holds them.
        await services.workspaces?.unmountIdle(all: true)
        try? await services.store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Creates a player and returns their id and token secret.
    func player(_ name: String) async throws -> (id: String, token: String) {
        let user = try await services.accounts.createUser(name: name)
        let issued = try await services.accounts.issueToken(userID: user.id, name: "test")
        return (user.id, issued.secret)
    }
}

/// Request helpers over HummingbirdTesting's client.
extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil
    ) async throws -> (status: Int, body: [String: Any]) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        let data = Data(response.body.readableBytesView)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return (Int(response.status.code), object)
    }
}

/// The `code` of an error envelope.
func errorCode(_ body: [String: Any]) -> String? {
    (body["error"] as? [String: Any])?["code"] as? String
}
