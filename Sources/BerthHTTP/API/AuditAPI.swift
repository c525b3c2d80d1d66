import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyAudit: Set<String> = ["listAudit", "verifyAudit"]

    public func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        throw APINotConverted(operation: "listAudit")
    }

    public func verifyAudit(_ input: Operations.VerifyAudit.Input) async throws -> Operations.VerifyAudit.Output {
        throw APINotConverted(operation: "verifyAudit")
    }
}
