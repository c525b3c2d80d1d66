import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyPlay: Set<String> = ["listEnvironments", "getEnvironment", "listAttachments", "downloadAttachment", "submitFlag", "unlockHint", "getScoreboard"]

    public func listEnvironments(_ input: Operations.ListEnvironments.Input) async throws -> Operations.ListEnvironments.Output {
        throw APINotConverted(operation: "listEnvironments")
    }

    public func getEnvironment(_ input: Operations.GetEnvironment.Input) async throws -> Operations.GetEnvironment.Output {
        throw APINotConverted(operation: "getEnvironment")
    }

    public func listAttachments(_ input: Operations.ListAttachments.Input) async throws -> Operations.ListAttachments.Output {
        throw APINotConverted(operation: "listAttachments")
    }

    public func downloadAttachment(_ input: Operations.DownloadAttachment.Input) async throws -> Operations.DownloadAttachment.Output {
        throw APINotConverted(operation: "downloadAttachment")
    }

    public func submitFlag(_ input: Operations.SubmitFlag.Input) async throws -> Operations.SubmitFlag.Output {
        throw APINotConverted(operation: "submitFlag")
    }

    public func unlockHint(_ input: Operations.UnlockHint.Input) async throws -> Operations.UnlockHint.Output {
        throw APINotConverted(operation: "unlockHint")
    }

    public func getScoreboard(_ input: Operations.GetScoreboard.Input) async throws -> Operations.GetScoreboard.Output {
        throw APINotConverted(operation: "getScoreboard")
    }
}
