import ArgumentParser
import BerthAPI
import BerthCore
import Foundation

/// `berth workspaces`: list and delete owners' persistent workspaces (admin token).
struct WorkspacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspaces",
        abstract: "List and delete owners' persistent workspaces (admin token). Export and import go through the API (docs/workspaces.md).",
        subcommands: [WorkspacesListCommand.self, WorkspacesDeleteCommand.self]
    )
}

/// `berth workspaces list`.
struct WorkspacesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every workspace, oldest first (admin token).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let workspaces = try await server.call { client in
            switch try await client.listAllWorkspaces() {
            case .ok(let answer): return try answer.body.json.items
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .serviceUnavailable(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(workspaces) }
        CLISupport.printTable(
            ["ID", "OWNER", "ENVIRONMENT", "USED", "SIZE", "LAST USED", "IN USE", "SYNC"],
            workspaces.map { workspace in
                [
                    workspace.id, workspace.ownerName ?? workspace.owner.id, workspace.environment,
                    workspace.usedBytes.map { String($0) } ?? "-", String(workspace.sizeBytes), CLISupport.text(workspace.lastUsedAt),
                    workspace.inUse ? "yes" : "no", workspace.sync.state.rawValue,
                ]
            }
        )
    }
}

/// `berth workspaces delete`.
struct WorkspacesDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a workspace's files (locally and in object storage); refused while an instance uses it. Audited."
    )

    @Argument(help: "A workspace id (ws_…).")
    var id: String

    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await server.call { client in
            switch try await client.deleteWorkspace(path: .init(id: id)) {
            case .noContent: return
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .serviceUnavailable(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        print("deleted \(id)")
    }
}
