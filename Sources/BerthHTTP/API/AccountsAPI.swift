import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyAccounts: Set<String> = ["me", "listUsers", "createUser", "getUser", "createToken", "listTeams", "createTeam", "addTeamMember"]

    public func me(_ input: Operations.Me.Input) async throws -> Operations.Me.Output {
        throw APINotConverted(operation: "me")
    }

    public func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        throw APINotConverted(operation: "listUsers")
    }

    public func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        throw APINotConverted(operation: "createUser")
    }

    public func getUser(_ input: Operations.GetUser.Input) async throws -> Operations.GetUser.Output {
        throw APINotConverted(operation: "getUser")
    }

    public func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
        throw APINotConverted(operation: "createToken")
    }

    public func listTeams(_ input: Operations.ListTeams.Input) async throws -> Operations.ListTeams.Output {
        throw APINotConverted(operation: "listTeams")
    }

    public func createTeam(_ input: Operations.CreateTeam.Input) async throws -> Operations.CreateTeam.Output {
        throw APINotConverted(operation: "createTeam")
    }

    public func addTeamMember(_ input: Operations.AddTeamMember.Input) async throws -> Operations.AddTeamMember.Output {
        throw APINotConverted(operation: "addTeamMember")
    }
}
