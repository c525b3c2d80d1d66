import BerthCore
import BerthEngine
import BerthMetrics
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

    /// This application's metrics (the lifecycle's, so both record into one registry).
    public var metrics: BerthMetrics { lifecycle.metrics }

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
public func buildRouter(_ services: BerthServices) -> RouteTable {
    let router = Router(context: BerthRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(trusted: services.configuration.trustedProxies))
    router.add(middleware: HTTPMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: AuditMiddleware(log: services.audit))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BearerAuthMiddleware(accounts: services.accounts, publicPaths: publicAPIPaths))
    let table = RouteTable(router: router)
    SystemRoutes(services: services).register(on: table)
    EnvironmentRoutes(services: services).register(on: table)
    InstanceRoutes(services: services).register(on: table)
    AccountRoutes(services: services).register(on: table)
    TerminalRoutes(services: services).register(on: table)
    RecordingRoutes(services: services).register(on: table)
    AuditRoutes(services: services).register(on: table)
    SessionRoutes(services: services).register(on: table)
    PlayRoutes(services: services).register(on: table)
    AttachmentRoutes(services: services).register(on: table)
    AdminRoutes(services: services).register(on: table)
    GitHubSignIn(services: services).register(on: table)
    PageRoutes(services: services).register(on: table)
    MetricsRoutes(services: services).register(on: router)
    return table
}

/// `/healthz`, `/readyz` and the OpenAPI document.
struct SystemRoutes {
    let services: BerthServices

    /// How long `/readyz` waits for the engine: probes time out after a few seconds, so the answer
    /// must come within 2 s whatever the engine does (a wedged engine counts as not ready).
    static let engineCheckLimit: Duration = .milliseconds(1500)

    func register(on table: RouteTable) {
        table.on(.get, "/healthz") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        table.on(.get, "/readyz") { _, context in
            var problems: [String] = []
            var engineDown = false
            do { try await services.store.ping() } catch { problems.append("store: \(error)") }
            do {
                try await services.runtime.ping(timeout: Self.engineCheckLimit)
            } catch {
                engineDown = true
                problems.append("engine: \(error)")
            }
            guard problems.isEmpty else {
                context.logger.warning("not ready", metadata: ["problems": "\(problems.joined(separator: "; "))"])
                // A load balancer tells an engine outage from a broken store by the code.
                let code = engineDown && problems.count == 1 ? "engine_unavailable" : "not_ready"
                throw BerthError.unavailable(code, "Berth is not ready: \(problems.joined(separator: "; "))")
            }
            return try JSONResponse.make(["status": "ready", "store": "ok", "engine": "ok"])
        }
        table.on(.get, "/api/v1/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data())))
        }
    }
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

/// Instance verbs.
struct InstanceRoutes {
    let services: BerthServices

    struct CreateBody: Decodable {
        var environment: String
    }

    func view(_ instance: Instance) async -> InstanceView {
        var view = InstanceView(instance, environment: await services.catalog.environment(instance.environment))
        view.renewableAt = await services.lifecycle.renewableAt(instance)
        return view
    }

    func register(on table: RouteTable) {
        table.on(.post, "/api/v1/instances") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONResponse.decode(CreateBody.self, from: request, context: context)
            // Hidden and locked environments cannot be started by players (ctfcli `state`, `requirements`).
            _ = try await services.scores.playable(body.environment, by: caller)
            let instance = try await services.lifecycle.request(environment: body.environment, by: caller)
            context.facts.target = instance.id
            context.facts.detail = "environment \(instance.environment)"
            context.logger.info("instance created", metadata: [
                "instance.id": "\(instance.id)", "user.id": "\(caller.id)", "client.ip": "\(context.clientIP)",
            ])
            return try JSONResponse.make(await view(instance), status: .created)
        }
        table.on(.get, "/api/v1/instances") { request, context in
            let caller = try context.requireCaller()
            let activeOnly = try Self.flag(request.uri.queryParameters.get("active"), name: "active")
            let ownOnly = try Self.flag(request.uri.queryParameters.get("mine"), name: "mine")
            let instances = try await services.lifecycle.instances(for: caller, activeOnly: activeOnly, ownOnly: ownOnly)
            var views: [InstanceView] = []
            for instance in instances { views.append(await view(instance)) }
            return try JSONResponse.make(ListView(views))
        }
        table.on(.get, "/api/v1/instances/:id") { _, context in
            let caller = try context.requireCaller()
            let instance = try await services.lifecycle.instance(try context.parameters.require("id"), for: caller)
            return try JSONResponse.make(await view(instance))
        }
        table.on(.post, "/api/v1/instances/:id/renew") { _, context in
            let caller = try context.requireCaller()
            let instance = try await services.lifecycle.renew(try context.parameters.require("id"), by: caller)
            return try JSONResponse.make(await view(instance))
        }
        table.on(.post, "/api/v1/instances/:id/reset") { _, context in
            let caller = try context.requireCaller()
            let instance = try await services.lifecycle.reset(try context.parameters.require("id"), by: caller)
            return try JSONResponse.make(await view(instance))
        }
        table.on(.delete, "/api/v1/instances/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.require("id")
            if caller.role == .admin { await services.terminals.mark(instanceID: id, "admin stop by user \(caller.id)") }
            let instance = try await services.lifecycle.stop(id, by: caller)
            return try JSONResponse.make(await view(instance))
        }
        table.on(.get, "/api/v1/instances/:id/events") { request, context in
            let caller = try context.requireCaller()
            let instance = try await services.lifecycle.instance(try context.parameters.require("id"), for: caller)
            let limit = try Self.limit(request.uri.queryParameters.get("limit"))
            let events = try await services.store.events(instanceID: instance.id, limit: limit)
            return try JSONResponse.make(ListView(events.map(EventView.init)))
        }
        table.on(.post, "/api/v1/admin/purge") { _, context in
            let admin = try context.requireAdmin()
            for instance in await services.lifecycle.activeInstances() {
                await services.terminals.mark(instanceID: instance.id, "admin purge by user \(admin.id)")
            }
            let stopped = try await services.lifecycle.purge(by: admin)
            context.logger.notice("purged", metadata: ["user.id": "\(admin.id)", "stopped": "\(stopped)"])
            return try JSONResponse.make(["stopped": stopped])
        }
        table.on(.get, "/api/v1/admin/events") { request, context in
            _ = try context.requireAdmin()
            let limit = try Self.limit(request.uri.queryParameters.get("limit"))
            let events = try await services.store.events(instanceID: nil, limit: limit)
            return try JSONResponse.make(ListView(events.map(EventView.init)))
        }
    }

    static func flag(_ value: String?, name: String) throws -> Bool {
        switch value {
        case nil, "false", "0": return false
        case "true", "1": return true
        case let other?: throw BerthError.badRequest("invalid_query", "'\(name)' must be true or false, not '\(other)'.")
        }
    }

    static func limit(_ value: String?) throws -> Int {
        guard let value else { return 100 }
        guard let number = Int(value), (1...1000).contains(number) else {
            throw BerthError.badRequest("invalid_query", "'limit' must be a whole number from 1 to 1000.")
        }
        return number
    }
}

/// Users, tokens and teams (admin only, except `GET /api/v1/me`).
struct AccountRoutes {
    let services: BerthServices

    struct NameBody: Decodable {
        var name: String
    }

    struct UserBody: Decodable {
        var name: String
        var role: String?
    }

    struct MemberBody: Decodable {
        var userId: String
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/me") { _, context in
            try JSONResponse.make(UserView(try context.requireCaller()))
        }
        table.on(.post, "/api/v1/users") { request, context in
            let admin = try context.requireAdmin()
            let body = try await JSONResponse.decode(UserBody.self, from: request, context: context)
            let role: Role
            switch body.role {
            case nil: role = .player
            case let text?:
                guard let parsed = Role(rawValue: text) else {
                    throw BerthError.unprocessable("invalid_role", "'role' must be player or admin, not '\(text)'.")
                }
                role = parsed
            }
            let user = try await services.accounts.createUser(name: body.name, role: role)
            context.facts.target = user.id
            context.facts.detail = "name \(user.name), role \(user.role.rawValue)"
            context.logger.info("user created", metadata: ["user.id": "\(admin.id)", "created.user.id": "\(user.id)"])
            return try JSONResponse.make(UserView(user), status: .created)
        }
        table.on(.get, "/api/v1/users") { _, context in
            _ = try context.requireAdmin()
            return try JSONResponse.make(ListView(try await services.store.users().map(UserView.init)))
        }
        table.on(.get, "/api/v1/users/:id") { _, context in
            _ = try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard Identifier.isWellFormed(id), let user = try await services.store.user(id: id) else {
                throw BerthError.notFound("user_not_found", "No user has id '\(id)'.")
            }
            return try JSONResponse.make(UserView(user))
        }
        table.on(.post, "/api/v1/users/:id/tokens") { request, context in
            let admin = try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard Identifier.isWellFormed(id) else { throw BerthError.notFound("user_not_found", "No user has id '\(id)'.") }
            let body = try await JSONResponse.decode(NameBody.self, from: request, context: context)
            let issued = try await services.accounts.issueToken(userID: id, name: body.name)
            context.facts.detail = "token \(issued.token.id)"
            context.logger.info("token issued", metadata: ["user.id": "\(admin.id)", "token.user.id": "\(id)", "token.id": "\(issued.token.id)"])
            return try JSONResponse.make(
                IssuedTokenView(id: issued.token.id, userId: id, name: issued.token.name, token: issued.secret, createdAt: issued.token.createdAt),
                status: .created
            )
        }
        table.on(.post, "/api/v1/teams") { request, context in
            _ = try context.requireAdmin()
            let body = try await JSONResponse.decode(NameBody.self, from: request, context: context)
            let team = try await services.accounts.createTeam(name: body.name)
            context.facts.target = team.id
            let details = try await services.accounts.details(team)
            return try JSONResponse.make(TeamView(team, members: [], inviteCode: details.inviteCode), status: .created)
        }
        table.on(.get, "/api/v1/teams") { _, context in
            _ = try context.requireAdmin()
            var views: [TeamView] = []
            for team in try await services.store.teams() {
                let details = try await services.accounts.details(team)
                views.append(TeamView(team, members: details.members, inviteCode: details.inviteCode))
            }
            return try JSONResponse.make(ListView(views))
        }
        table.on(.post, "/api/v1/teams/:id/members") { request, context in
            _ = try context.requireAdmin()
            let teamID = try context.parameters.require("id")
            guard Identifier.isWellFormed(teamID) else { throw BerthError.notFound("team_not_found", "No team has id '\(teamID)'.") }
            let body = try await JSONResponse.decode(MemberBody.self, from: request, context: context)
            guard Identifier.isWellFormed(body.userId) else { throw BerthError.notFound("user_not_found", "No user has id '\(body.userId)'.") }
            try await services.accounts.addMember(teamID: teamID, userID: body.userId)
            context.facts.detail = "member \(body.userId)"
            guard let team = try await services.store.team(id: teamID) else {
                throw BerthError.notFound("team_not_found", "No team has id '\(teamID)'.")
            }
            return try JSONResponse.make(TeamView(team, members: try await services.store.members(teamID: teamID)), status: .created)
        }
    }
}
