import ArgumentParser
import BerthAPI
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
        let instances = try await server.call { client in
            switch try await client.listInstances(query: .init(active: active)) {
            case .ok(let answer): return try answer.body.json.items
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(instances) }
        CLISupport.printTable(
            ["ID", "ENVIRONMENT", "OWNER", "STATE", "EXPIRES"],
            instances.map { instance in
                let owner = "\(instance.owner.kind.rawValue):\(instance.owner.id ?? "")"
                return [instance.id, instance.environment, owner, instance.state.rawValue, CLISupport.text(instance.expiresAt)]
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
        let instance = try await server.call { client in
            switch try await client.deleteInstance(path: .init(id: id)) {
            case .ok(let answer): return try answer.body.json
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .serviceUnavailable(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(instance) }
        print("\(instance.id) \(instance.state.rawValue)")
    }
}

/// `berth instances purge`.
struct InstancesPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Kill every active instance (admin token).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let answer = try await server.call { client in
            switch try await client.purge() {
            case .ok(let answer): return try answer.body.json
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(answer) }
        print("stopped \(answer.stopped) instance(s)")
    }
}
