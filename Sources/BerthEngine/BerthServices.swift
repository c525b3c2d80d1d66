import BerthCore
import BerthMetrics
import BerthStore
import BerthTerminal
import Foundation
import Logging

/// Everything a route may call: the transport glue only decodes a request, checks who is asking
/// and calls one of these.
public struct BerthServices: Sendable {
    /// Persistent state.
    public let store: BerthDatabase
    /// Users, teams and tokens.
    public let accounts: Accounts
    /// The environments on offer.
    public let catalog: EnvironmentCatalog
    /// Instance verbs and policy.
    public let lifecycle: InstanceLifecycle
    /// The container engine.
    public let runtime: any InstanceRuntime
    /// Live terminals.
    public let terminals: TerminalHub
    /// Single-use terminal tickets.
    public let tickets: TicketBook
    /// Terminal share links.
    public let shares: ShareBook
    /// Who is connected to each instance (owners' terminals and editors), for `lifetime.whenDisconnected`.
    public let presence: Presence
    /// Terminal limits.
    public let terminalSettings: TerminalSettings
    /// Server settings routes depend on (origins, assets).
    public let configuration: BerthConfiguration
    /// Terminal recordings.
    public let recordings: RecordingLibrary
    /// The hash-chained audit log.
    public let audit: AuditLog
    /// Flags, hints and the scoreboard.
    public let scores: Scorekeeper
    /// Settings admins change at runtime.
    public let settings: EventSettings
    /// Failed sign-ins per account at one client address.
    public let signInFailures: RateLimiter
    /// Failed sign-ins per client address, whatever the account (a much higher limit).
    public let signInFailuresByAddress: RateLimiter
    /// Registrations per client address.
    public let registrations: RateLimiter
    /// The secret of per-instance flags.
    public let flagSecret: FlagSecret?
    /// Environments' attachments, hashed once per catalog load.
    public let attachments: AttachmentLibrary
    /// Lab progress, checks and hints.
    public let labs: LabProgress
    /// Runs labs' `checks/` scripts in instances, nil when the runtime cannot run them.
    public let labChecks: LabChecks?
    /// Owners' persistent workspaces, nil when the server was built without them (some tests).
    public let workspaces: WorkspaceService?
    /// This server among the replicas sharing its database.
    public let replica: ReplicaIdentity

    /// This application's metrics (the lifecycle's, so both record into one registry).
    public var metrics: BerthMetrics { lifecycle.metrics }

    /// Builds environment images, when the runtime is a Docker Engine.
    public var imageBuilder: ImageBuilder? {
        (runtime as? DockerRuntime).map { ImageBuilder(docker: $0.docker) }
    }

    /// The file API of instances, when the runtime can reach files (Docker and the test fake).
    public var files: InstanceFiles? {
        (runtime as? any InstanceFileSystem).map { InstanceFiles(fileSystem: $0, catalog: catalog) }
    }

    /// Bundles the services; the terminal hub talks to the lifecycle about instance state.
    public init(
        store: BerthDatabase, accounts: Accounts, catalog: EnvironmentCatalog, lifecycle: InstanceLifecycle,
        runtime: any InstanceRuntime, connector: any PTYConnector, configuration: BerthConfiguration, recordings: RecordingLibrary,
        flagSecret: FlagSecret? = nil, labScriptHost: (any LabScriptHost)? = nil, checkRunner: (any LabCheckRunning)? = nil,
        labHints: any LabHintGiving = AuthoredHints(), hintLimit: EventLimit = EventLimit(count: 5, windowSeconds: 60),
        clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger, workspaces: WorkspaceService? = nil, replica: ReplicaIdentity
    ) {
        self.replica = replica
        self.workspaces = workspaces
        self.flagSecret = flagSecret
        self.labChecks = (labScriptHost ?? runtime as? any LabScriptHost).map {
            LabChecks(host: $0, catalog: catalog, timeout: .seconds(configuration.checkTimeoutSeconds), logger: logger)
        }
        self.attachments = AttachmentLibrary(catalog: catalog)
        self.scores = Scorekeeper(store: store, catalog: catalog, lifecycle: lifecycle, flagSecret: flagSecret, logger: logger)
        self.settings = EventSettings(store: store, lifecycle: lifecycle, configuration: configuration)
        // In the store, so every replica counts the same attempts.
        let throttles = StoreThrottleLedger(store.sharedState)
        self.signInFailures = RateLimiter(configuration.signInLimit, scope: "signin.account", ledger: throttles)
        self.signInFailuresByAddress = RateLimiter(configuration.signInAddressLimit, scope: "signin.address", ledger: throttles)
        self.registrations = RateLimiter(configuration.registrationLimit, scope: "register", ledger: throttles)
        self.recordings = recordings
        self.audit = AuditLog(store: store, logger: logger)
        self.store = store
        self.accounts = accounts
        self.catalog = catalog
        self.lifecycle = lifecycle
        self.runtime = runtime
        self.configuration = configuration
        var settings = TerminalSettings()
        settings.reconnectWindow = .seconds(configuration.reconnectWindowSeconds)
        settings.inputBytesPerSecond = configuration.terminalInputRate
        self.terminalSettings = settings
        // In the store: a ticket issued by one replica opens the terminal on another, once.
        self.tickets = TicketBook(lifetime: settings.ticketLifetime, ledger: StoreTicketLedger(store.sharedState))
        self.shares = ShareBook(ledger: StoreShareLedger(store.sharedState))
        self.presence = Presence(since: clock())
        self.terminals = TerminalHub(connector: connector, settings: settings, logger: logger) { [lifecycle] id in
            guard let instance = await lifecycle.activeInstance(id) else { return nil }
            return TerminalInstanceStatus(containerID: instance.state == .running ? instance.containerID : nil, expiresAt: instance.expiresAt)
        }
        self.labs = LabProgress(
            store: store, catalog: catalog, scores: scores, checks: checkRunner ?? labChecks ?? LabChecksUnavailable(), hints: labHints, terminals: terminals, flagSecret: flagSecret,
            hintLimit: hintLimit, clock: clock, logger: logger
        )
    }

    /// Connects the services: stored settings and the flag secret reach the lifecycle, every new
    /// terminal is recorded as its environment says, and a shell exit stops the instance when
    /// its environment says so.
    public func connect() async throws {
        try await settings.load()
        if let flagSecret { await lifecycle.useFlagSecret(flagSecret) }
        if let labChecks { await lifecycle.useLabHooks(labChecks) }
        await wireTerminals()
    }

    func wireTerminals() async {
        await terminals.observeTerminals { [lifecycle, catalog, recordings] instanceID, terminal, size in
            guard let instance = await lifecycle.activeInstance(instanceID) else { return nil }
            return await recordings.start(instance: instance, environment: await catalog.environment(instance.environment), terminal: terminal, size: size)
        }
        await terminals.onShellExit { [lifecycle, catalog] instanceID, terminal, _ in
            guard let instance = await lifecycle.activeInstance(instanceID),
                  await catalog.environment(instance.environment)?.berth.terminal.onExit == .stop
            else { return }
            await lifecycle.end(instanceID, reason: "the shell of terminal '\(terminal)' exited")
        }
    }
}
