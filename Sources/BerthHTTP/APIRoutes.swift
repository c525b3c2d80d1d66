import BerthCore
import BerthEngine
import BerthStore
import BerthTerminal
import Foundation
import Hummingbird
import Logging

/// Everything a route may call: the transport glue only decodes a request, checks who is asking
/// and calls one of these.
public struct BerthServices: Sendable {
    /// Persistent state.
    public let store: any BerthStore
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

    /// Builds environment images, when the runtime is a Docker Engine.
    public var imageBuilder: ImageBuilder? {
        (runtime as? DockerRuntime).map { ImageBuilder(docker: $0.docker) }
    }

    /// Bundles the services; the terminal hub talks to the lifecycle about instance state.
    public init(
        store: any BerthStore, accounts: Accounts, catalog: EnvironmentCatalog, lifecycle: InstanceLifecycle,
        runtime: any InstanceRuntime, connector: any PTYConnector, configuration: BerthConfiguration, recordings: RecordingLibrary,
        flagSecret: FlagSecret? = nil, logger: Logger
    ) {
        self.flagSecret = flagSecret
        self.attachments = AttachmentLibrary(catalog: catalog)
        self.scores = Scorekeeper(store: store, catalog: catalog, lifecycle: lifecycle, flagSecret: flagSecret, logger: logger)
        self.settings = EventSettings(store: store, lifecycle: lifecycle, configuration: configuration)
        self.signInFailures = RateLimiter(configuration.signInLimit)
        self.signInFailuresByAddress = RateLimiter(configuration.signInAddressLimit)
        self.registrations = RateLimiter(configuration.registrationLimit)
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
        self.tickets = TicketBook(lifetime: settings.ticketLifetime)
        self.shares = ShareBook()
        self.terminals = TerminalHub(connector: connector, settings: settings, logger: logger) { [lifecycle] id in
            guard let instance = await lifecycle.activeInstance(id) else { return nil }
            return TerminalInstanceStatus(containerID: instance.state == .running ? instance.containerID : nil, expiresAt: instance.expiresAt)
        }
    }

    /// Connects the services: stored settings and the flag secret reach the lifecycle, every new
    /// terminal is recorded as its environment says, and a shell exit stops the instance when
    /// its environment says so.
    public func connect() async throws {
        try await settings.load()
        if let flagSecret { await lifecycle.useFlagSecret(flagSecret) }
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

/// Paths served without a token.
public let publicAPIPaths: Set<String> = [
    "/", "/favicon.ico", "/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/session", "/api/v1/auth/register", "/api/v1/auth/login",
    "/api/v1/auth/logout", "/api/v1/scoreboard",
]

/// Builds the router with every route of the REST API; ``RouteTable/served`` lists them.
public func buildRouter(_ services: BerthServices) throws -> RouteTable {
    let router = Router(context: BerthRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(trusted: services.configuration.trustedProxies))
    router.add(middleware: AuditMiddleware(log: services.audit))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BearerAuthMiddleware(accounts: services.accounts, publicPaths: publicAPIPaths))
    let table = RouteTable(router: router)
    try BerthAPIHandler.register(services: services, on: router, table: table)
    EnvironmentRoutes(services: services).register(on: table)
    TerminalRoutes(services: services).register(on: table)
    RecordingRoutes(services: services).register(on: table)
    AuditRoutes(services: services).register(on: table)
    SessionRoutes(services: services).register(on: table)
    PlayRoutes(services: services).register(on: table)
    AttachmentRoutes(services: services).register(on: table)
    AdminRoutes(services: services).register(on: table)
    GitHubSignIn(services: services).register(on: table)
    PageRoutes(services: services).register(on: table)
    return table
}

/// The catalog and its reload.
struct EnvironmentRoutes {
    let services: BerthServices

    func register(on table: RouteTable) {
        table.on(.post, "/api/v1/admin/environments/reload") { _, context in
            let admin = try context.requireAdmin()
            let scan = try await services.catalog.reload()
            await services.attachments.invalidate()
            context.logger.info("catalog reloaded", metadata: ["user.id": "\(admin.id)", "environments": "\(scan.environments.count)"])
            struct ReloadView: Encodable {
                var environments: [String]
                var problems: [String]
            }
            return try JSONResponse.make(ReloadView(environments: scan.environments.map(\.slug), problems: scan.problems.map(\.description)))
        }
    }
}

/// What is left of the old instance routes (now generated handlers, InstancesAPI.swift): the
/// `limit` parameter of the old audit and submission routes; delete once those are converted.
enum InstanceRoutes {
    static func limit(_ value: String?) throws -> Int {
        guard let value else { return 100 }
        guard let number = Int(value) else {
            throw BerthError.badRequest("invalid_query", "'limit' must be a whole number from 1 to 1000.")
        }
        return try BerthAPIHandler.limit(number)
    }
}
