import BerthCore
import BerthEngine
import BerthMetrics
import BerthStore
import DockerEngine
import Foundation
import HTTPTransport
import Hummingbird
import HummingbirdWebSocket
import BerthTerminal
import Logging
import ServiceLifecycle

/// Which engine a server drives.
public enum EngineChoice: Sendable {
    /// The Docker Engine at the configuration's `dockerHost`: pinged, its version checked, this
    /// server's namespace locked and the host firewall applied. What `berth serve` uses.
    case docker
    /// A runtime and PTY connector the caller made, e.g. tests' fakes: pinged once, without a
    /// namespace lock or host firewall (a ``DockerRuntime`` still gets the catalog's folders).
    case supplied(runtime: any InstanceRuntime, connector: any PTYConnector)
}

/// Opens the store, engine, catalog and lifecycle a server needs, runs start-up reconciliation,
/// and makes sure an admin can sign in.
public enum BerthAssembly {
    /// The parts a server is assembled from; the defaults are what `berth serve` uses, and tests
    /// change them.
    public struct Parts: Sendable {
        /// The engine instances and terminals run on.
        public var engine: EngineChoice
        /// The bcrypt cost of new passwords; nil for ``Accounts``' production default.
        public var bcryptCost: UInt8?
        /// The clock the lifecycle reads.
        public var clock: @Sendable () -> Date
        /// Environments served besides the environments folder's, until the next reload.
        public var extraEnvironments: [EnvironmentSpec]
        /// The lab check runner; nil for the real one.
        public var labChecks: (any LabCheckRunning)?
        /// The lab hint advisor; nil for the real one (the configured endpoint, else authored hints).
        public var labHints: (any LabHintGiving)?
        /// Where labs' scripts run when the engine is not Docker's (a fake in tests); nil: the runtime's own.
        public var labScriptHost: (any LabScriptHost)?

        /// Creates the parts; the defaults are production's.
        public init(
            engine: EngineChoice = .docker, bcryptCost: UInt8? = nil, clock: @escaping @Sendable () -> Date = { Date() },
            extraEnvironments: [EnvironmentSpec] = [], labChecks: (any LabCheckRunning)? = nil, labHints: (any LabHintGiving)? = nil
        ) {
            self.labChecks = labChecks
            self.labHints = labHints
            self.engine = engine
            self.bcryptCost = bcryptCost
            self.clock = clock
            self.extraEnvironments = extraEnvironments
        }
    }

    /// What ``open(_:parts:logger:)`` produced, plus a token generated for the admin on first start.
    public struct Opened: Sendable {
        /// The services routes call.
        public var services: BerthServices
        /// A bootstrap admin token generated now (print it once), or nil.
        public var generatedAdminToken: String?
        /// This server's lock on its namespace, held until ``NamespaceLockService`` releases it.
        public var namespaceLock: NamespaceLock?
        /// Workspace sync to object storage (`BERTH_S3_ENDPOINT`), nil without it.
        public var workspaceSync: WorkspaceSync? = nil
    }

    /// Opens everything for `configuration` from `parts`. Fails with a message that names what is missing.
    public static func open(_ configuration: BerthConfiguration, parts: Parts = Parts(), logger: Logger) async throws -> Opened {
        let dataDirectory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BerthError(.dataDirUnavailable, "Cannot create the data directory \(dataDirectory.path): \(error.localizedDescription)")
        }
        // One registry per application: the store, the engine client and the lifecycle record into it.
        let metrics = BerthMetrics()
        let location = try configuration.databaseURL.map(DatabaseLocation.parse) ?? .sqlite(path: dataDirectory.appendingPathComponent("berth.db").path)
        let store = try await BerthDatabase.open(location: location, logger: logger, metrics: metrics)
        logger.info("store opened", metadata: ["store.location": "\(location.description)"])
        // One per process: a restarted server is a new replica, never heir to a dead one's claims.
        let replica = ReplicaIdentity(internalURL: configuration.internalURLOrDefault)
        logger.info("replica starting", metadata: ["replica.id": "\(replica.id)", "replica.internal_url": "\(replica.internalURL)"])
        do {
            return try await openEngine(
                configuration, parts: parts, store: store, replica: replica, metrics: metrics, dataDirectory: dataDirectory, logger: logger
            )
        } catch {
            // A store left open on a failed start would trip SQLite's close check instead of
            // letting the error reach the operator.
            try? await store.close()
            throw error
        }
    }

    /// Reaches the engine and, for Docker, takes this server's namespace lock, then opens the rest.
    private static func openEngine(
        _ configuration: BerthConfiguration, parts: Parts, store: BerthDatabase, replica: ReplicaIdentity, metrics: BerthMetrics, dataDirectory: URL,
        logger: Logger
    ) async throws -> Opened {
        let accounts = parts.bcryptCost.map { Accounts(store: store, bcryptCost: $0) } ?? Accounts(store: store)
        let generated = try await accounts.bootstrapAdmin(configuredToken: configuration.adminToken)
        guard case .supplied(let runtime, let connector) = parts.engine else {
            return try await openDocker(
                configuration, parts: parts, store: store, replica: replica, accounts: accounts, generated: generated, metrics: metrics,
                dataDirectory: dataDirectory, logger: logger
            )
        }
        do {
            try await runtime.ping()
        } catch {
            throw BerthError(.engineUnavailable, "The engine does not answer (\(error)).")
        }
        return try await openServices(
            configuration, parts: parts, store: store, replica: replica, runtime: runtime, connector: connector, lock: nil, accounts: accounts,
            generated: generated, metrics: metrics, dataDirectory: dataDirectory, logger: logger
        )
    }

    /// Reaches the Docker Engine of `configuration`, takes this server's namespace lock and
    /// applies the host firewall, then opens the rest.
    private static func openDocker(
        _ configuration: BerthConfiguration, parts: Parts, store: BerthDatabase, replica: ReplicaIdentity, accounts: Accounts, generated: String?,
        metrics: BerthMetrics, dataDirectory: URL, logger: Logger
    ) async throws -> Opened {
        if configuration.engine == .swarm {
            return try await openSwarm(
                configuration, parts: parts, store: store, replica: replica, accounts: accounts, generated: generated, metrics: metrics,
                dataDirectory: dataDirectory, logger: logger
            )
        }
        let (docker, address) = try await reachEngine(configuration, tls: nil, metrics: metrics, logger: logger)
        let (namespace, lock) = try await lockNamespace(configuration, docker: docker, address: address, store: store, dataDirectory: dataDirectory, logger: logger)
        return try await releasingOnFailure(lock) {
            try await HostFirewall.apply(configuration.hostFirewall, engineIsLocal: Self.isOnThisMachine(address), logger: logger)
            return try await openServices(
                configuration, parts: parts, store: store, replica: replica,
                runtime: DockerRuntime(docker: docker, publishAddress: configuration.publishAddress, namespace: namespace),
                connector: DockerPTYConnector(docker: docker, detachKeys: TerminalSettings().detachKeys), lock: lock, accounts: accounts,
                generated: generated, metrics: metrics, dataDirectory: dataDirectory, logger: logger
            )
        }
    }

    /// Runs `body`, releasing the namespace lock when it fails.
    private static func releasingOnFailure<Result>(_ lock: NamespaceLock, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            await lock.release()
            throw error
        }
    }

    /// Reaches a swarm's manager at `DOCKER_HOST`, checks its nodes (each node's engine over
    /// mutual TLS) and takes the namespace lock on the manager, then opens the rest.
    private static func openSwarm(
        _ configuration: BerthConfiguration, parts: Parts, store: BerthDatabase, replica: ReplicaIdentity, accounts: Accounts, generated: String?,
        metrics: BerthMetrics, dataDirectory: URL, logger: Logger
    ) async throws -> Opened {
        guard let tlsDirectory = configuration.swarm.tlsDirectory else {
            throw BerthError(
                .invalidConfig,
                "BERTH_ENGINE=swarm needs BERTH_SWARM_TLS_DIR, a folder with ca.pem, cert.pem and key.pem: Berth reaches each node's engine over mutual TLS for terminals."
            )
        }
        let tls: EngineTLS
        do {
            tls = try EngineTLS.load(directory: tlsDirectory)
        } catch {
            throw BerthError(.invalidConfig, "BERTH_SWARM_TLS_DIR: \(error)")
        }
        let address = try engineAddress(configuration)
        // The manager over TCP takes the same client certificate as the nodes.
        let managerTLS: EngineTLS? = if case .tcp = address { tls } else { nil }
        let (manager, _) = try await reachEngine(configuration, tls: managerTLS, metrics: metrics, logger: logger)
        let (namespace, lock) = try await lockNamespace(configuration, docker: manager, address: address, store: store, dataDirectory: dataDirectory, logger: logger)
        return try await releasingOnFailure(lock) {
            let nodes = SwarmNodes(manager: manager, tls: tls, settings: configuration.swarm, logger: logger)
            let runtime = SwarmRuntime(manager: manager, nodes: nodes, settings: configuration.swarm, namespace: namespace, logger: logger)
            try await runtime.checkManager()
            let checked: [SwarmNodes.Node]
            do {
                checked = try await nodes.checkNewNodes()
            } catch let error as DockerError {
                throw BerthError(.engineUnavailable, "The swarm manager did not list its nodes: \(error)")
            }
            guard checked.contains(where: { $0.refusal == nil }) else {
                let refusals = checked.map { "\($0.hostname): \($0.refusal ?? "not ready")" }.joined(separator: "; ")
                throw BerthError(.engineUnavailable, "No swarm node can run instances (\(refusals.isEmpty ? "the swarm has no nodes" : refusals)).")
            }
            return try await openServices(
                configuration, parts: parts, store: store, replica: replica, runtime: runtime,
                connector: DockerPTYConnector(engines: nodes, detachKeys: TerminalSettings().detachKeys), lock: lock, accounts: accounts,
                generated: generated, metrics: metrics, dataDirectory: dataDirectory, logger: logger
            )
        }
    }

    private static func engineAddress(_ configuration: BerthConfiguration) throws -> TransportAddress {
        do {
            return try TransportAddress(url: configuration.dockerHost)
        } catch {
            throw BerthError(.invalidConfig, "DOCKER_HOST: \(error)")
        }
    }

    /// A client of `DOCKER_HOST` once it answered, timed by `metrics`.
    private static func reachEngine(
        _ configuration: BerthConfiguration, tls: EngineTLS?, metrics: BerthMetrics, logger: Logger
    ) async throws -> (DockerClient, TransportAddress) {
        let address = try engineAddress(configuration)
        var docker = DockerClient(address: address, tls: tls, timeout: .seconds(configuration.engineTimeoutSeconds))
        docker.callObserver = { metrics.engineCall(method: $0, path: $1, duration: $2) }
        logger.info("waiting for the Docker Engine", metadata: [
            "engine.address": "\(address)", "engine.timeout.seconds": "\(configuration.engineTimeoutSeconds)",
        ])
        do {
            try await docker.ping()
            _ = try await docker.version()
        } catch {
            throw BerthError(
                .engineUnavailable,
                "The Docker Engine at \(address) does not answer (\(error)). Start or restart it, set DOCKER_HOST, or raise BERTH_ENGINE_TIMEOUT."
            )
        }
        logger.info("Docker Engine answered", metadata: ["engine.address": "\(address)"])
        return (docker, address)
    }

    /// This server's namespace and its lock, taken. Held before reconciliation, which removes the
    /// namespace's orphans: never another server's. Held by the database's cluster id, so the
    /// replicas sharing the database share it.
    private static func lockNamespace(
        _ configuration: BerthConfiguration, docker: DockerClient, address: TransportAddress, store: BerthDatabase, dataDirectory: URL, logger: Logger
    ) async throws -> (String, NamespaceLock) {
        let serverID = try ServerIdentity.loadOrCreate(in: dataDirectory)
        let namespace = configuration.namespace ?? ServerIdentity.defaultNamespace(serverID: serverID)
        let clusterID = try await store.cluster.clusterID()
        let lock = NamespaceLock(
            docker: docker, namespace: namespace, holder: clusterID,
            staleAfter: .seconds(configuration.namespaceLockTimeoutSeconds), logger: logger
        )
        logger.info("taking the namespace lock", metadata: ["namespace": "\(namespace)", "server.id": "\(serverID)", "cluster.id": "\(clusterID)"])
        do {
            try await lock.acquire()
        } catch let error as DockerError {
            throw BerthError(.engineUnavailable, "The Docker Engine at \(address) failed while Berth took its namespace lock: \(error)")
        }
        return (namespace, lock)
    }

    /// The catalog, lifecycle (reconciled), recordings and services over an engine already reached (and locked, for Docker).
    private static func openServices(
        _ configuration: BerthConfiguration, parts: Parts, store: BerthDatabase, replica: ReplicaIdentity, runtime: any InstanceRuntime,
        connector: any PTYConnector, lock: NamespaceLock?, accounts: Accounts, generated: String?, metrics: BerthMetrics, dataDirectory: URL,
        logger: Logger
    ) async throws -> Opened {
        let environments = URL(fileURLWithPath: configuration.environmentsDirectory, isDirectory: true)
        var catalog = EnvironmentCatalog(directory: environments)
        let scan = try await catalog.reload()
        for problem in scan.problems {
            logger.warning("environment problem", metadata: ["problem": "\(problem)"])
        }
        if !parts.extraEnvironments.isEmpty {
            catalog = EnvironmentCatalog(directory: environments, environments: scan.environments + parts.extraEnvironments)
        }
        logger.info("catalog loaded", metadata: ["environments": "\((scan.environments + parts.extraEnvironments).map(\.slug).joined(separator: ","))"])

        var runtime = runtime
        if var docker = runtime as? DockerRuntime {
            docker.environmentFolders = catalog
            runtime = docker
        } else if var swarm = runtime as? SwarmRuntime {
            swarm.environmentFolders = catalog
            runtime = swarm
        }
        let lifecycle = InstanceLifecycle(
            store: store, runtime: runtime, catalog: catalog, policy: LifecyclePolicy(configuration), logger: logger, clock: parts.clock, metrics: metrics,
            replica: replica
        )
        let workspaces = WorkspaceService(store: store, dataDirectory: dataDirectory, catalog: catalog, logger: logger, clock: parts.clock)
        // Object storage before reconcile: an adopted instance's workspace may need its restore.
        let workspaceSync = try WorkspaceSync.fromSettings(configuration, archiving: workspaces, ledger: workspaces, logger: logger)
        if let workspaceSync { await workspaces.useSync(workspaceSync) }
        await lifecycle.useWorkspaceHooks(workspaces)
        try await lifecycle.reconcile()
        let recordings: RecordingLibrary
        do {
            recordings = try RecordingLibrary(dataDirectory: dataDirectory, store: store, logger: logger)
        } catch {
            throw BerthError(.recordingKeyUnavailable, "Cannot open or create the recording key under \(dataDirectory.path)/keys: \(error)")
        }
        let flagSecret: FlagSecret
        do {
            flagSecret = try FlagSecret.loadOrCreate(at: dataDirectory.appendingPathComponent("keys/flag-hmac.key"))
        } catch {
            throw BerthError(.flagSecretUnavailable, "Cannot open or create the flag secret under \(dataDirectory.path)/keys: \(error)")
        }
        let services = BerthServices(
            store: store, accounts: accounts, catalog: catalog, lifecycle: lifecycle, runtime: runtime, connector: connector,
            configuration: configuration, recordings: recordings, flagSecret: flagSecret, labScriptHost: parts.labScriptHost,
            checkRunner: parts.labChecks, labHints: try parts.labHints ?? AIHintAdvisor(configuration: configuration, logger: logger),
            hintLimit: configuration.hintLimit, clock: parts.clock, logger: logger, workspaces: workspaces, replica: replica
        )
        try await services.connect()
        return Opened(services: services, generatedAdminToken: generated, namespaceLock: lock, workspaceSync: workspaceSync)
    }
}

/// Closes the store once the application shuts down gracefully.
struct StoreCloser: Service {
    let store: BerthDatabase

    func run() async throws {
        try? await gracefulShutdown()
        try await store.close()
    }
}

/// A built application and the services it runs over, for callers that reach them directly.
public struct BuiltApplication {
    /// The server: routes and background services.
    public let application: Application<RouterResponder<BerthRequestContext>>
    /// The services the routes call.
    public let services: BerthServices
}

/// Builds the Berth application for `configuration` from `parts`: store, engine, catalog, routes and the
/// background services (expiry reaper, exit watcher). `onRunning` gets the bound URL. `berth serve`
/// and every HTTP test build the server with this one function.
public func buildApplication(
    _ configuration: BerthConfiguration, parts: BerthAssembly.Parts = BerthAssembly.Parts(), logger: Logger,
    onRunning: @escaping @Sendable (String, String?) async -> Void = { _, _ in }
) async throws -> BuiltApplication {
    let opened = try await BerthAssembly.open(configuration, parts: parts, logger: logger)
    let (store, replica) = (opened.services.store, opened.services.replica)
    let lockService: [any Service] = opened.namespaceLock.map { lock in
        // Another live replica of this database still holds the namespace: the lock stays for it.
        [NamespaceLockService(lock: lock) { (try? await store.cluster.liveReplicas(now: Date()).contains { $0.id != replica.id }) ?? false }]
    } ?? []
    let application: Application<RouterResponder<BerthRequestContext>>
    do {
        application = try makeApplication(
            configuration, services: opened.services, logger: logger, extraServices: lockService, workspaceSync: opened.workspaceSync
        ) { url in
            await onRunning(url, opened.generatedAdminToken)
        }
    } catch {
        // Nothing runs yet, so what was opened is closed here.
        await opened.namespaceLock?.release()
        try? await opened.services.store.close()
        throw error
    }
    return BuiltApplication(application: application, services: opened.services)
}

/// The application over opened services (see ``buildApplication(_:parts:logger:onRunning:)``).
func makeApplication(
    _ configuration: BerthConfiguration, services: BerthServices, logger: Logger, extraServices: [any Service] = [],
    workspaceSync: WorkspaceSync? = nil, onRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> Application<RouterResponder<BerthRequestContext>> {
    let table = try buildRouter(services)
    // ServiceLifecycle stops services in reverse order, so the store closes last, the namespace
    // lock (among the extra services) is released just before, once everything that touches the
    // engine stopped, and the replica's row is removed before the lock asks who else is alive.
    let background: [any Service] = [StoreCloser(store: services.store)] + extraServices + [
        ReplicaHeartbeat(store: services.store, replica: services.replica, logger: logger),
        AuditRefusalSummaries(audit: services.audit, interval: .seconds(10)),
        ExpiryReaper(lifecycle: services.lifecycle, interval: .milliseconds(Int64(configuration.reaperIntervalSeconds * 1000)), logger: logger),
        ReconcileLoop(lifecycle: services.lifecycle, cluster: services.store.cluster, interval: .milliseconds(Int64(configuration.reconcileIntervalSeconds * 1000)), logger: logger),
        ContainerExitWatcher(lifecycle: services.lifecycle, runtime: services.runtime, logger: logger),
        TerminalHubService(hub: services.terminals),
        DisconnectReaper(services: services, interval: .seconds(1), logger: logger),
        RecordingRetention(services: services, days: configuration.recordingRetentionDays, interval: .seconds(3600), logger: logger),
        WorkspaceRetention(services: services, retentionSeconds: configuration.workspaceRetentionSeconds, interval: .seconds(600), logger: logger),
    ] + [workspaceSync.map { WorkspaceSync.Scheduler(sync: $0) as any Service }].compactMap { $0 } + [MetricsRoutes.listener(services, logger: logger)].compactMap { $0 }
    let host = configuration.host
    return Application(
        router: table.router,
        server: BerthServerChannel.builder(
            webSocketRouter: table.router,
            configuration: WebSocketServerConfiguration(maxFrameSize: services.terminalSettings.maxFrameBytes)
        ),
        configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: "berth"),
        services: background,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            let shownHost = host == "0.0.0.0" ? "127.0.0.1" : (host.contains(":") ? "[\(host)]" : host)
            await onRunning("http://\(shownHost):\(port)/")
        },
        logger: logger
    )
}

extension BerthAssembly {
    /// True for a Unix socket or a loopback TCP address: the engine's containers run here.
    static func isOnThisMachine(_ address: TransportAddress) -> Bool {
        switch address {
        case .unix: true
        case .tcp(let host, _): ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        }
    }
}
