import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacySession: Set<String> = ["getSession", "register", "login", "logout", "changePassword", "listMyTokens", "createMyToken", "deleteMyToken", "getMyTeam", "createMyTeam", "leaveMyTeam", "joinTeam"]

    public func getSession(_ input: Operations.GetSession.Input) async throws -> Operations.GetSession.Output {
        throw APINotConverted(operation: "getSession")
    }

    public func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        throw APINotConverted(operation: "register")
    }

    public func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        throw APINotConverted(operation: "login")
    }

    public func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        throw APINotConverted(operation: "logout")
    }

    public func changePassword(_ input: Operations.ChangePassword.Input) async throws -> Operations.ChangePassword.Output {
        throw APINotConverted(operation: "changePassword")
    }

    public func listMyTokens(_ input: Operations.ListMyTokens.Input) async throws -> Operations.ListMyTokens.Output {
        throw APINotConverted(operation: "listMyTokens")
    }

    public func createMyToken(_ input: Operations.CreateMyToken.Input) async throws -> Operations.CreateMyToken.Output {
        throw APINotConverted(operation: "createMyToken")
    }

    public func deleteMyToken(_ input: Operations.DeleteMyToken.Input) async throws -> Operations.DeleteMyToken.Output {
        throw APINotConverted(operation: "deleteMyToken")
    }

    public func getMyTeam(_ input: Operations.GetMyTeam.Input) async throws -> Operations.GetMyTeam.Output {
        throw APINotConverted(operation: "getMyTeam")
    }

    public func createMyTeam(_ input: Operations.CreateMyTeam.Input) async throws -> Operations.CreateMyTeam.Output {
        throw APINotConverted(operation: "createMyTeam")
    }

    public func leaveMyTeam(_ input: Operations.LeaveMyTeam.Input) async throws -> Operations.LeaveMyTeam.Output {
        throw APINotConverted(operation: "leaveMyTeam")
    }

    public func joinTeam(_ input: Operations.JoinTeam.Input) async throws -> Operations.JoinTeam.Output {
        throw APINotConverted(operation: "joinTeam")
    }
}
