import ArgumentParser
import Foundation

/// `berth instances`: list, kill and purge instances through the server.
struct InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances",
        abstract: "List, kill and purge instances (through the server's API).",
        subcommands: [InstancesListCommand.self, InstancesKillCommand.self, InstancesPurgeCommand.self]
    )
}

/// `berth instances list`.
struct InstancesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List instances (all of them for an admin token).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Only active instances (requested, starting, running, stopping).")
    var active = false

    func run() async throws {
        let answer = try await server.client().call(.GET, "/api/v1/instances?active=\(active)", as: Items<JSONValue>.self)
        if output.json { return try CLISupport.printJSON(answer.items) }
        CLISupport.printTable(
            ["ID", "ENVIRONMENT", "OWNER", "STATE", "EXPIRES"],
            answer.items.map { item in
                let owner: String = if case .object(let fields) = item, let value = fields["owner"] { "\(value["kind"]):\(value["id"])" } else { "" }
                return [item["id"], item["environment"], owner, item["state"], item["expiresAt"]]
            }
        )
    }
}

/// `berth instances kill`.
struct InstancesKillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Stop an instance now and remove its container.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Instance id (inst_…).")
    var id: String

    func run() async throws {
        let escaped = ServerClient.pathSegment(id)
        let answer = try await server.client().call(.DELETE, "/api/v1/instances/\(escaped)", as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(answer) }
        print("\(answer["id"]) \(answer["state"])")
    }
}

/// `berth instances purge`.
struct InstancesPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Kill every active instance (admin token).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let answer = try await server.client().call(.POST, "/api/v1/admin/purge", as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(answer) }
        print("stopped \(answer["stopped"]) instance(s)")
    }
}
