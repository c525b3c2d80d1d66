import BerthCore
import BerthEngine
import BerthHTTP
import BerthMetrics
import BerthStore
import BerthTerminal
import DockerEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A real server stack for API tests: SQLite in a temporary folder, the real Docker Engine, and
/// an environments folder written by the test. Everything it creates is removed by ``shutdown()``.
struct APIHarness {
    static let adminToken = "test-admin-token-0123456789abcdef"

    let directory: URL
    let services: BerthServices
    let docker: DockerClient
    let configuration: BerthConfiguration
    let logger: Logger
    /// The `berth.namespace` label of everything this harness starts.
    let namespace: String

    /// Writes `environments` (slug → challenge.yml text; each gets a Dockerfile FROM berth/base) and opens the stack.
    /// `specs` join the catalog as they are (each gets an empty folder, for its attachments), nothing is built for them.
    /// With `runtimeEngine`, the runtime (and terminals) use that client, e.g. one to an
    /// ``EngineProxy`` a test can cut; images are still built directly.
    static func make(
        environments: [String: String] = [:], specs: [EnvironmentSpec] = [], runtimeEngine: DockerClient? = nil,
        policy: (inout BerthConfiguration) -> Void = { _ in }, clock: @escaping @Sendable () -> Date = { Date() }
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
        for spec in specs {
            try FileManager.default.createDirectory(at: envDirectory.appendingPathComponent(spec.slug, isDirectory: true), withIntermediateDirectories: true)
        }
        var configuration = BerthConfiguration()
        configuration.dataDirectory = directory.path
        configuration.environmentsDirectory = envDirectory.path
        configuration.adminToken = adminToken
        configuration.port = 0
        configuration.portRange = 31000...31999
        // The test WebSocket client always sends `Origin: ws://localhost`, unlike a browser.
        configuration.allowedOrigins = ["ws://localhost"]
        policy(&configuration)
        var logger = Logger(label: "berth.test")
        logger.logLevel = ProcessInfo.processInfo.environment["BERTH_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning

        // As in BerthAssembly: one registry that the store, the engine client and the lifecycle share.
        let metrics = BerthMetrics()
        let store = try await SQLiteStore.open(path: directory.appendingPathComponent("berth.db").path, logger: logger, metrics: metrics)
        // bcrypt's lowest cost keeps password tests quick; production uses 12.
        let accounts = Accounts(store: store, bcryptCost: 4)
        _ = try await accounts.bootstrapAdmin(configuredToken: adminToken)
        let docker = try DockerClient.fromEnvironment()
        let namespace = "test-\(UUID().uuidString.prefix(8).lowercased())"
        var runtimeDocker = runtimeEngine ?? docker
        runtimeDocker.callObserver = { metrics.engineCall(method: $0, path: $1, duration: $2) }
        let scanned = EnvironmentCatalog(directory: envDirectory)
        let scan = try await scanned.reload()
        let catalog = specs.isEmpty ? scanned : EnvironmentCatalog(directory: envDirectory, environments: scan.environments + specs)
        let runtime = DockerRuntime(
            docker: runtimeDocker, publishAddress: configuration.publishAddress, namespace: namespace, environmentFolders: catalog
        )
        #expect(scan.isValid, "test environments must be valid: \(scan.problems)")
        let builder = ImageBuilder(docker: docker)
        for environment in scan.environments {
            try await builder.build(environment, folder: envDirectory.appendingPathComponent(environment.slug)) { _ in }
        }
        let lifecycle = InstanceLifecycle(store: store, runtime: runtime, catalog: catalog, policy: LifecyclePolicy(configuration), logger: logger, clock: clock, metrics: metrics)
        let services = BerthServices(
            store: store, accounts: accounts, catalog: catalog, lifecycle: lifecycle, runtime: runtime,
            connector: DockerPTYConnector(docker: runtimeDocker, detachKeys: TerminalSettings().detachKeys), configuration: configuration,
            recordings: try RecordingLibrary(dataDirectory: directory, store: store, logger: logger),
            flagSecret: try FlagSecret.loadOrCreate(at: directory.appendingPathComponent("keys/flag-hmac.key")), logger: logger
        )
        try await services.connect()
        return APIHarness(directory: directory, services: services, docker: docker, configuration: configuration, logger: logger, namespace: namespace)
    }

    /// Opens a harness, runs `body`, and always shuts the harness down afterwards.
    static func with(
        environments: [String: String] = [:], specs: [EnvironmentSpec] = [], runtimeEngine: DockerClient? = nil,
        policy: (inout BerthConfiguration) -> Void = { _ in },
        clock: @escaping @Sendable () -> Date = { Date() }, _ body: (APIHarness) async throws -> Void
    ) async throws {
        let harness = try await make(environments: environments, specs: specs, runtimeEngine: runtimeEngine, policy: policy, clock: clock)
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

    var application: Application<RouterResponder<BerthRequestContext>> {
        makeApplication(configuration, services: services, logger: logger)
    }

    /// Removes every container and network this harness started (the store may already be
    /// closed by the application's shutdown, so this goes by label) and its folder.
    func shutdown() async {
        let filter = "berth.namespace=\(namespace)"
        for container in (try? await docker.listContainers(labels: [filter])) ?? [] {
            try? await docker.removeContainer(container.id, force: true)
        }
        for network in (try? await docker.listNetworks(labels: [filter])) ?? [] {
            try? await docker.removeNetwork(network.id)
        }
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
