import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import OpenAPIRuntime

// Sign-up, sign-in and sign-out with browser sessions, and what a signed-in user manages
// themselves: password, personal API tokens and team.

extension BerthAPIHandler {
    public func getSession(_ input: Operations.GetSession.Input) async throws -> Operations.GetSession.Output {
        let here = try APIRequest.here()
        let sent = here.request.cookies[BrowserSession.csrfCookie]?.value
        let csrf = sent ?? Secrets.randomBase64URL(byteCount: 24)
        if sent == nil {
            here.facts.cookies.append(BrowserSession.make(BrowserSession.csrfCookie, csrf, maxAge: nil, sameSite: .strict, request: here.request))
        }
        let session = Components.Schemas.Session(
            user: here.caller.map { .User(.init($0)) } ?? .case2(nil), csrfToken: csrf,
            registrationOpen: await services.settings.registrationOpen, githubLogin: services.configuration.githubSignIn,
            scoring: await services.scores.mode() == .team ? .teams : .users
        )
        return .ok(.init(body: .json(session)))
    }

    public func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        let here = try APIRequest.here()
        guard await services.settings.registrationOpen else {
            throw BerthError(.registrationClosed, "Registration is closed; ask the organisers for an account.")
        }
        let address = "register \(here.clientIP)"
        if let wait = try await services.registrations.retryAfter(address) {
            throw BerthError(.tooManyAttempts, "Too many registrations from your address; try again in \(wait) s.")
        }
        let body = switch input.body { case .json(let json): json }
        let user = try await services.accounts.register(name: body.name, password: body.password)
        try await services.registrations.record(address)
        here.facts.caller = user
        here.facts.target = user.id
        here.logger.info("user registered", metadata: ["user.id": "\(user.id)", "client.ip": "\(here.clientIP)"])
        return .created(.init(body: .json(try await signIn(user, here))))
    }

    public func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        let here = try APIRequest.here()
        let body = switch input.body { case .json(let json): json }
        // One account at one address is throttled early; an address alone only at a much higher
        // count, so one person's typos never lock out others behind the same NAT.
        let accountKey = "\(body.name.trimmingCharacters(in: .whitespaces).lowercased()) at \(here.clientIP)"
        if let wait = try await services.signInFailures.retryAfter(accountKey) {
            throw BerthError(.tooManyAttempts, "Too many failed sign-ins for this account; try again in \(wait) s.")
        }
        if let wait = try await services.signInFailuresByAddress.retryAfter(here.clientIP) {
            throw BerthError(.tooManyAttempts, "Too many failed sign-ins from your address; try again in \(wait) s.")
        }
        guard let user = try await services.accounts.checkPassword(name: body.name, password: body.password) else {
            try await services.signInFailures.record(accountKey)
            try await services.signInFailuresByAddress.record(here.clientIP)
            here.facts.detail = "name \(body.name.prefix(64))"
            here.logger.notice("failed sign-in", metadata: ["client.ip": "\(here.clientIP)"])
            throw BerthError(.invalidCredentials, "Wrong name or password.")
        }
        try await services.signInFailures.reset(accountKey)
        here.facts.caller = user
        return .ok(.init(body: .json(try await signIn(user, here))))
    }

    public func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        let here = try APIRequest.here()
        if let secret = here.request.cookies[BrowserSession.cookie]?.value { try await services.accounts.endSession(secret: secret) }
        here.facts.cookies.append(BrowserSession.make(BrowserSession.cookie, "", maxAge: 0, sameSite: .lax, request: here.request))
        return .noContent(.init())
    }

    public func changePassword(_ input: Operations.ChangePassword.Input) async throws -> Operations.ChangePassword.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let body = switch input.body { case .json(let json): json }
        let hasPassword = try await services.store.accounts.passwordHash(userID: caller.id) != nil
        if hasPassword, try await services.accounts.checkPassword(name: caller.name, password: body.current) == nil {
            throw BerthError(.invalidCredentials, "Your current password is wrong.")
        }
        // Every session ends, so a stolen one is useless; this browser gets a fresh one.
        try await services.accounts.setPassword(userID: caller.id, password: body.new)
        if here.request.cookies[BrowserSession.cookie] != nil {
            here.facts.cookies.append(
                try await BrowserSession.begin(for: caller, accounts: services.accounts, request: here.request, clientIP: here.clientIP)
            )
        }
        return .noContent(.init())
    }

    public func listMyTokens(_ input: Operations.ListMyTokens.Input) async throws -> Operations.ListMyTokens.Output {
        let caller = try APIRequest.caller()
        let tokens = try await services.store.accounts.tokens(userID: caller.id)
        return .ok(.init(body: .json(.init(items: tokens.map { .init(id: $0.id, name: $0.name, createdAt: $0.createdAt) }))))
    }

    public func createMyToken(_ input: Operations.CreateMyToken.Input) async throws -> Operations.CreateMyToken.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let body = switch input.body { case .json(let json): json }
        let issued = try await services.accounts.issueToken(userID: caller.id, name: body.name)
        here.facts.target = issued.token.id
        return .created(.init(body: .json(.init(
            id: issued.token.id, userId: caller.id, name: issued.token.name, token: issued.secret, createdAt: issued.token.createdAt
        ))))
    }

    public func deleteMyToken(_ input: Operations.DeleteMyToken.Input) async throws -> Operations.DeleteMyToken.Output {
        let caller = try APIRequest.caller()
        let id = input.path.id
        guard Identifier.isWellFormed(id), try await services.store.accounts.deleteToken(id: id, userID: caller.id) else {
            throw BerthError(.tokenNotFound, "You have no token '\(id.prefix(64))'.")
        }
        return .noContent(.init())
    }

    public func getMyTeam(_ input: Operations.GetMyTeam.Input) async throws -> Operations.GetMyTeam.Output {
        let caller = try APIRequest.caller()
        let team = try await services.accounts.team(of: caller)
        return .ok(.init(body: .json(.init(team: team.map { .MyTeam(.init($0)) } ?? .case2(nil)))))
    }

    public func createMyTeam(_ input: Operations.CreateMyTeam.Input) async throws -> Operations.CreateMyTeam.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let body = switch input.body { case .json(let json): json }
        let details = try await services.accounts.createTeam(name: body.name, founder: caller)
        here.facts.target = details.team.id
        return .created(.init(body: .json(.init(details))))
    }

    public func leaveMyTeam(_ input: Operations.LeaveMyTeam.Input) async throws -> Operations.LeaveMyTeam.Output {
        let caller = try APIRequest.caller()
        try await services.accounts.leaveTeam(user: caller)
        return .noContent(.init())
    }

    public func joinTeam(_ input: Operations.JoinTeam.Input) async throws -> Operations.JoinTeam.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let body = switch input.body { case .json(let json): json }
        let details = try await services.accounts.joinTeam(inviteCode: body.inviteCode, user: caller)
        here.facts.target = details.team.id
        return .ok(.init(body: .json(.init(details))))
    }

    /// Starts a browser session for `user` (ending the one this browser had) and asks for its cookie.
    private func signIn(_ user: User, _ here: APIRequest) async throws -> Components.Schemas.SignedIn {
        if let old = here.request.cookies[BrowserSession.cookie]?.value { try await services.accounts.endSession(secret: old) }
        here.facts.cookies.append(try await BrowserSession.begin(for: user, accounts: services.accounts, request: here.request, clientIP: here.clientIP))
        return .init(user: .init(user))
    }
}

extension Components.Schemas.MyTeam {
    /// A team as its members see it, with the invite code.
    init(_ details: Accounts.TeamDetails) {
        self.init(
            id: details.team.id, name: details.team.name, inviteCode: details.inviteCode,
            members: details.members.map { .init(id: $0.id, name: $0.name) }
        )
    }
}
