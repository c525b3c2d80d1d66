import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    public func me(_ input: Operations.Me.Input) async throws -> Operations.Me.Output {
        .ok(.init(body: .json(.init(try APIRequest.caller()))))
    }

    public func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        .ok(.init(body: .json(.init(items: try await services.store.accounts.users().map(Components.Schemas.User.init)))))
    }

    public func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let body: Components.Schemas.CreateUserRequest
        switch input.body {
        case .json(let json): body = json
        }
        let role: Role
        switch body.role {
        case nil: role = .player
        case let text?:
            guard let parsed = Role(rawValue: text) else {
                throw BerthError(.invalidRole, "'role' must be player or admin, not '\(text)'.")
            }
            role = parsed
        }
        let user = try await services.accounts.createUser(name: body.name, role: role)
        here.facts.target = user.id
        here.facts.detail = "name \(user.name), role \(user.role.rawValue)"
        here.logger.info("user created", metadata: ["user.id": "\(admin.id)", "created.user.id": "\(user.id)"])
        return .created(.init(body: .json(.init(user))))
    }

    public func getUser(_ input: Operations.GetUser.Input) async throws -> Operations.GetUser.Output {
        let id = input.path.id
        guard Identifier.isWellFormed(id), let user = try await services.store.accounts.user(id: id) else {
            throw BerthError(.userNotFound, "No user has id '\(id)'.")
        }
        return .ok(.init(body: .json(.init(user))))
    }

    public func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let id = input.path.id
        guard Identifier.isWellFormed(id) else { throw BerthError(.userNotFound, "No user has id '\(id)'.") }
        let name: String
        switch input.body {
        case .json(let body): name = body.name
        }
        let issued = try await services.accounts.issueToken(userID: id, name: name)
        here.facts.detail = "token \(issued.token.id)"
        here.logger.info("token issued", metadata: ["user.id": "\(admin.id)", "token.user.id": "\(id)", "token.id": "\(issued.token.id)"])
        return .created(.init(body: .json(.init(
            id: issued.token.id, userId: id, name: issued.token.name, token: issued.secret, createdAt: issued.token.createdAt
        ))))
    }

    public func listTeams(_ input: Operations.ListTeams.Input) async throws -> Operations.ListTeams.Output {
        var items: [Components.Schemas.Team] = []
        for team in try await services.store.teams.teams() {
            let details = try await services.accounts.details(team)
            items.append(Components.Schemas.Team(team, members: details.members, inviteCode: details.inviteCode))
        }
        return .ok(.init(body: .json(.init(items: items))))
    }

    public func createTeam(_ input: Operations.CreateTeam.Input) async throws -> Operations.CreateTeam.Output {
        let here = try APIRequest.here()
        let name: String
        switch input.body {
        case .json(let body): name = body.name
        }
        let team = try await services.accounts.createTeam(name: name)
        here.facts.target = team.id
        let details = try await services.accounts.details(team)
        return .created(.init(body: .json(Components.Schemas.Team(team, members: [], inviteCode: details.inviteCode))))
    }

    public func addTeamMember(_ input: Operations.AddTeamMember.Input) async throws -> Operations.AddTeamMember.Output {
        let here = try APIRequest.here()
        let teamID = input.path.id
        guard Identifier.isWellFormed(teamID) else { throw BerthError(.teamNotFound, "No team has id '\(teamID)'.") }
        let userID: String
        switch input.body {
        case .json(let body): userID = body.userId
        }
        guard Identifier.isWellFormed(userID) else { throw BerthError(.userNotFound, "No user has id '\(userID)'.") }
        try await services.accounts.addMember(teamID: teamID, userID: userID)
        here.facts.detail = "member \(userID)"
        guard let team = try await services.store.teams.team(id: teamID) else {
            throw BerthError(.teamNotFound, "No team has id '\(teamID)'.")
        }
        return .created(.init(body: .json(Components.Schemas.Team(team, members: try await services.store.teams.members(teamID: teamID)))))
    }
}

extension Components.Schemas.Team {
    /// `team` as the API shows it, with its members' ids and, for admins, its invite code.
    init(_ team: BerthCore.Team, members: [User], inviteCode: String? = nil) {
        self.init(id: team.id, name: team.name, createdAt: team.createdAt, members: members.map(\.id), inviteCode: inviteCode)
    }
}
