import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyRecordings: Set<String> = ["listRecordings", "recordingPublicKey", "getRecording", "deleteRecording", "verifyRecording", "downloadRecording", "analyseRecording"]

    public func listRecordings(_ input: Operations.ListRecordings.Input) async throws -> Operations.ListRecordings.Output {
        throw APINotConverted(operation: "listRecordings")
    }

    public func recordingPublicKey(_ input: Operations.RecordingPublicKey.Input) async throws -> Operations.RecordingPublicKey.Output {
        throw APINotConverted(operation: "recordingPublicKey")
    }

    public func getRecording(_ input: Operations.GetRecording.Input) async throws -> Operations.GetRecording.Output {
        throw APINotConverted(operation: "getRecording")
    }

    public func deleteRecording(_ input: Operations.DeleteRecording.Input) async throws -> Operations.DeleteRecording.Output {
        throw APINotConverted(operation: "deleteRecording")
    }

    public func verifyRecording(_ input: Operations.VerifyRecording.Input) async throws -> Operations.VerifyRecording.Output {
        throw APINotConverted(operation: "verifyRecording")
    }

    public func downloadRecording(_ input: Operations.DownloadRecording.Input) async throws -> Operations.DownloadRecording.Output {
        throw APINotConverted(operation: "downloadRecording")
    }

    public func analyseRecording(_ input: Operations.AnalyseRecording.Input) async throws -> Operations.AnalyseRecording.Output {
        throw APINotConverted(operation: "analyseRecording")
    }
}
