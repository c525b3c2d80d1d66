import BerthCore
import BerthEngine
import BerthMetrics
import BerthStore
import BerthTerminal
import Foundation
import Hummingbird
import Logging


/// Builds the router with every route of the REST API; ``RouteTable/served`` lists them.
public func buildRouter(_ services: BerthServices) throws -> RouteTable {
    let router = Router(context: BerthRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(trusted: services.configuration.trustedProxies))
    router.add(middleware: HTTPMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: AuditMiddleware(log: services.audit))
    router.add(middleware: SecurityHeadersMiddleware())
    let table = RouteTable(router: router)
    router.add(middleware: ErrorMiddleware(routes: table.methods))
    router.add(middleware: CallerIdentification(accounts: services.accounts))
    try BerthAPIHandler.register(services: services, on: router, table: table)
    InstanceRoutes(services: services).register(on: table)
    AccountRoutes(services: services).register(on: table)
    TerminalRoutes(services: services).register(on: table)
    GitHubSignIn(services: services).register(on: table)
    PageRoutes(services: services).register(on: table)
    MetricsRoutes(services: services).register(on: router)
    return table
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
