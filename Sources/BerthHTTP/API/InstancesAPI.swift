import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyInstances: Set<String> = ["listInstances", "createInstance", "getInstance", "deleteInstance", "renewInstance", "resetInstance", "listInstanceEvents", "purge", "listEvents"]

    public func listInstances(_ input: Operations.ListInstances.Input) async throws -> Operations.ListInstances.Output {
        throw APINotConverted(operation: "listInstances")
    }

    public func createInstance(_ input: Operations.CreateInstance.Input) async throws -> Operations.CreateInstance.Output {
        throw APINotConverted(operation: "createInstance")
    }

    public func getInstance(_ input: Operations.GetInstance.Input) async throws -> Operations.GetInstance.Output {
        throw APINotConverted(operation: "getInstance")
    }

    public func deleteInstance(_ input: Operations.DeleteInstance.Input) async throws -> Operations.DeleteInstance.Output {
        throw APINotConverted(operation: "deleteInstance")
    }

    public func renewInstance(_ input: Operations.RenewInstance.Input) async throws -> Operations.RenewInstance.Output {
        throw APINotConverted(operation: "renewInstance")
    }

    public func resetInstance(_ input: Operations.ResetInstance.Input) async throws -> Operations.ResetInstance.Output {
        throw APINotConverted(operation: "resetInstance")
    }

    public func listInstanceEvents(_ input: Operations.ListInstanceEvents.Input) async throws -> Operations.ListInstanceEvents.Output {
        throw APINotConverted(operation: "listInstanceEvents")
    }

    public func purge(_ input: Operations.Purge.Input) async throws -> Operations.Purge.Output {
        throw APINotConverted(operation: "purge")
    }

    public func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        throw APINotConverted(operation: "listEvents")
    }
}
