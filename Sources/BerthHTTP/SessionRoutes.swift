import BerthCore
import BerthEngine
import Foundation
import Hummingbird

/// Sign-up, sign-in and sign-out with browser sessions, and what a signed-in user manages
/// themselves: password, personal API tokens and team.
struct SessionRoutes {
    let services: BerthServices

    struct Credentials: Decodable {
        var name: String
        var password: String
    }

    struct PasswordChange: Decodable {
        var current: String
        var new: String
    }

    struct TeamName: Decodable {
        var name: String
    }

    struct InviteBody: Decodable {
        var inviteCode: String
    }

    /// What a page needs to know first; `user` is null for a visitor.
    struct SessionView: Encodable {
        var user: UserView?
        var csrfToken: String
        var registrationOpen: Bool
        var githubLogin: Bool
        var scoring: String

        enum Key: String, CodingKey { case user, csrfToken, registrationOpen, githubLogin, scoring }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(user, forKey: .user)
            try container.encode(csrfToken, forKey: .csrfToken)
            try container.encode(registrationOpen, forKey: .registrationOpen)
            try container.encode(githubLogin, forKey: .githubLogin)
            try container.encode(scoring, forKey: .scoring)
        }
    }

    /// The caller's team, or null.
    struct TeamAnswer: Encodable {
        var team: MyTeamView?

        enum Key: String, CodingKey { case team }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(team, forKey: .team)
        }
    }

    /// A signed-in user.
    struct SignedIn: Encodable {
        var user: UserView
    }

    /// A team as its members see it.
    struct MyTeamView: Encodable {
        struct Member: Encodable {
            var id: String
            var name: String
        }

        var id: String
        var name: String
        var inviteCode: String
        var members: [Member]

        init(_ details: Accounts.TeamDetails) {
            id = details.team.id
            name = details.team.name
            inviteCode = details.inviteCode
            members = details.members.map { Member(id: $0.id, name: $0.name) }
        }
    }

    /// A token as its owner lists it (no secret).
    struct TokenView: Encodable {
        var id: String
        var name: String
        var createdAt: Date
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/session") { request, context in
            let csrf = request.cookies[BrowserSession.csrfCookie]?.value ?? Secrets.randomBase64URL(byteCount: 24)
            let view = SessionView(
                user: context.caller.map(UserView.init), csrfToken: csrf, registrationOpen: await services.settings.registrationOpen,
                githubLogin: services.configuration.githubSignIn, scoring: await services.scores.mode() == .team ? "teams" : "users"
            )
            var response = try JSONResponse.make(view)
            response.headers[.cacheControl] = "no-store"
            if request.cookies[BrowserSession.csrfCookie] == nil {
                response.setCookie(BrowserSession.make(BrowserSession.csrfCookie, csrf, maxAge: nil, sameSite: .strict, request: request))
            }
            return response
        }
        table.on(.post, "/api/v1/auth/register") { request, context in
            guard await services.settings.registrationOpen else {
                throw BerthError(code: "registration_closed", message: "Registration is closed; ask the organisers for an account.", status: 403)
            }
            let address = "register \(context.clientIP)"
            if let wait = await services.registrations.retryAfter(address) {
                throw BerthError.tooMany("too_many_attempts", "Too many registrations from your address; try again in \(wait) s.")
            }
            let body = try await JSONResponse.decode(Credentials.self, from: request, context: context)
            let user = try await services.accounts.register(name: body.name, password: body.password)
            await services.registrations.record(address)
            context.facts.caller = user
            context.facts.target = user.id
            context.logger.info("user registered", metadata: ["user.id": "\(user.id)", "client.ip": "\(context.clientIP)"])
            return try await signedIn(user, request: request, context: context, status: .created)
        }
        table.on(.post, "/api/v1/auth/login") { request, context in
            let body = try await JSONResponse.decode(Credentials.self, from: request, context: context)
            // One account at one address is throttled early; an address alone only at a much higher
            // count, so one person's typos never lock out others behind the same NAT.
            let accountKey = "\(body.name.trimmingCharacters(in: .whitespaces).lowercased()) at \(context.clientIP)"
            if let wait = await services.signInFailures.retryAfter(accountKey) {
                throw BerthError.tooMany("too_many_attempts", "Too many failed sign-ins for this account; try again in \(wait) s.")
            }
            if let wait = await services.signInFailuresByAddress.retryAfter(context.clientIP) {
                throw BerthError.tooMany("too_many_attempts", "Too many failed sign-ins from your address; try again in \(wait) s.")
            }
            guard let user = try await services.accounts.checkPassword(name: body.name, password: body.password) else {
                await services.signInFailures.record(accountKey)
                await services.signInFailuresByAddress.record(context.clientIP)
                context.facts.detail = "name \(body.name.prefix(64))"
                context.logger.notice("failed sign-in", metadata: ["client.ip": "\(context.clientIP)"])
                throw BerthError.unauthorized("Wrong name or password.", code: "invalid_credentials")
            }
            await services.signInFailures.reset(accountKey)
            context.facts.caller = user
            return try await signedIn(user, request: request, context: context, status: .ok)
        }
        table.on(.post, "/api/v1/auth/logout") { request, _ in
            if let secret = request.cookies[BrowserSession.cookie]?.value { try await services.accounts.endSession(secret: secret) }
            var response = Response(status: .noContent)
            response.setCookie(BrowserSession.make(BrowserSession.cookie, "", maxAge: 0, sameSite: .lax, request: request))
            return response
        }
        table.on(.put, "/api/v1/me/password") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONResponse.decode(PasswordChange.self, from: request, context: context)
            let hasPassword = try await services.store.passwordHash(userID: caller.id) != nil
            if hasPassword, try await services.accounts.checkPassword(name: caller.name, password: body.current) == nil {
                throw BerthError.unauthorized("Your current password is wrong.", code: "invalid_credentials")
            }
            // Every session ends, so a stolen one is useless; this browser gets a fresh one.
            try await services.accounts.setPassword(userID: caller.id, password: body.new)
            var response = Response(status: .noContent)
            if request.cookies[BrowserSession.cookie] != nil {
                response.setCookie(try await BrowserSession.begin(for: caller, accounts: services.accounts, request: request, context: context))
            }
            return response
        }
        table.on(.get, "/api/v1/me/tokens") { _, context in
            let caller = try context.requireCaller()
            let tokens = try await services.store.tokens(userID: caller.id)
            return try JSONResponse.make(["items": tokens.map { TokenView(id: $0.id, name: $0.name, createdAt: $0.createdAt) }])
        }
        table.on(.post, "/api/v1/me/tokens") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONResponse.decode(TeamName.self, from: request, context: context)
            let issued = try await services.accounts.issueToken(userID: caller.id, name: body.name)
            context.facts.target = issued.token.id
            return try JSONResponse.make(
                IssuedTokenView(id: issued.token.id, userId: caller.id, name: issued.token.name, token: issued.secret, createdAt: issued.token.createdAt),
                status: .created
            )
        }
        table.on(.delete, "/api/v1/me/tokens/:id") { _, context in
            let caller = try context.requireCaller()
            let id = try context.parameters.require("id")
            guard Identifier.isWellFormed(id), try await services.store.deleteToken(id: id, userID: caller.id) else {
                throw BerthError.notFound("token_not_found", "You have no token '\(id.prefix(64))'.")
            }
            return Response(status: .noContent)
        }
        table.on(.get, "/api/v1/me/team") { _, context in
            let caller = try context.requireCaller()
            return try JSONResponse.make(TeamAnswer(team: try await services.accounts.team(of: caller).map(MyTeamView.init)))
        }
        table.on(.post, "/api/v1/me/team") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONResponse.decode(TeamName.self, from: request, context: context)
            let details = try await services.accounts.createTeam(name: body.name, founder: caller)
            context.facts.target = details.team.id
            return try JSONResponse.make(MyTeamView(details), status: .created)
        }
        table.on(.post, "/api/v1/me/team/join") { request, context in
            let caller = try context.requireCaller()
            let body = try await JSONResponse.decode(InviteBody.self, from: request, context: context)
            let details = try await services.accounts.joinTeam(inviteCode: body.inviteCode, user: caller)
            context.facts.target = details.team.id
            return try JSONResponse.make(MyTeamView(details))
        }
        table.on(.delete, "/api/v1/me/team") { _, context in
            let caller = try context.requireCaller()
            try await services.accounts.leaveTeam(user: caller)
            return Response(status: .noContent)
        }
    }

    /// Starts a session for `user` and answers with its cookie.
    func signedIn(_ user: User, request: Request, context: BerthRequestContext, status: HTTPResponse.Status) async throws -> Response {
        if let old = request.cookies[BrowserSession.cookie]?.value { try await services.accounts.endSession(secret: old) }
        var response = try JSONResponse.make(SignedIn(user: UserView(user)), status: status)
        response.setCookie(try await BrowserSession.begin(for: user, accounts: services.accounts, request: request, context: context))
        return response
    }
}
