import BerthAPI
import BerthCore
import BerthEngine

extension BerthAPIHandler {
    /// Operations of this file still served by their old Hummingbird routes; empty once converted.
    static let legacyTerminals: Set<String> = ["createTerminalTicket", "terminalWebSocket", "shareTerminal", "listTerminals"]

    public func createTerminalTicket(_ input: Operations.CreateTerminalTicket.Input) async throws -> Operations.CreateTerminalTicket.Output {
        throw APINotConverted(operation: "createTerminalTicket")
    }

    public func terminalWebSocket(_ input: Operations.TerminalWebSocket.Input) async throws -> Operations.TerminalWebSocket.Output {
        throw APINotConverted(operation: "terminalWebSocket")
    }

    public func shareTerminal(_ input: Operations.ShareTerminal.Input) async throws -> Operations.ShareTerminal.Output {
        throw APINotConverted(operation: "shareTerminal")
    }

    public func listTerminals(_ input: Operations.ListTerminals.Input) async throws -> Operations.ListTerminals.Output {
        throw APINotConverted(operation: "listTerminals")
    }
}
