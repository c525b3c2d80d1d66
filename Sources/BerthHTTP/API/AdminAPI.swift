import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyAdmin: Set<String> = ["reloadEnvironments", "getSettings", "updateSettings", "adminEnvironments", "enableEnvironment", "disableEnvironment", "buildEnvironment", "adminSubmissions", "setUserRole", "setUserPassword"]

    public func reloadEnvironments(_ input: Operations.ReloadEnvironments.Input) async throws -> Operations.ReloadEnvironments.Output {
        throw APINotConverted(operation: "reloadEnvironments")
    }

    public func getSettings(_ input: Operations.GetSettings.Input) async throws -> Operations.GetSettings.Output {
        throw APINotConverted(operation: "getSettings")
    }

    public func updateSettings(_ input: Operations.UpdateSettings.Input) async throws -> Operations.UpdateSettings.Output {
        throw APINotConverted(operation: "updateSettings")
    }

    public func adminEnvironments(_ input: Operations.AdminEnvironments.Input) async throws -> Operations.AdminEnvironments.Output {
        throw APINotConverted(operation: "adminEnvironments")
    }

    public func enableEnvironment(_ input: Operations.EnableEnvironment.Input) async throws -> Operations.EnableEnvironment.Output {
        throw APINotConverted(operation: "enableEnvironment")
    }

    public func disableEnvironment(_ input: Operations.DisableEnvironment.Input) async throws -> Operations.DisableEnvironment.Output {
        throw APINotConverted(operation: "disableEnvironment")
    }

    public func buildEnvironment(_ input: Operations.BuildEnvironment.Input) async throws -> Operations.BuildEnvironment.Output {
        throw APINotConverted(operation: "buildEnvironment")
    }

    public func adminSubmissions(_ input: Operations.AdminSubmissions.Input) async throws -> Operations.AdminSubmissions.Output {
        throw APINotConverted(operation: "adminSubmissions")
    }

    public func setUserRole(_ input: Operations.SetUserRole.Input) async throws -> Operations.SetUserRole.Output {
        throw APINotConverted(operation: "setUserRole")
    }

    public func setUserPassword(_ input: Operations.SetUserPassword.Input) async throws -> Operations.SetUserPassword.Output {
        throw APINotConverted(operation: "setUserPassword")
    }
}
