import ArgumentParser

/// The `berth` command: server, CLI and admin tool in one binary.
public struct BerthCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Isolated Linux containers from prebuilt images, one per player, with limits and lifetimes.",
        discussion: """
            `berth serve` runs the server. The other commands either read an environments folder \
            directly (`env`) or talk to a running server's REST API (`instances`, `users`, `tokens`, \
            `teams`, `recordings`, `audit`, `workspaces`) with --server and --token (or BERTH_URL and BERTH_TOKEN).
            """,
        subcommands: [
            ServeCommand.self, EnvCommand.self, InstancesCommand.self, UsersCommand.self, TokensCommand.self, TeamsCommand.self,
            RecordingsCommand.self, AuditCommand.self, WorkspacesCommand.self,
        ]
    )

    /// Creates the command (ArgumentParser fills it in).
    public init() {}
}

extension BerthCommand {
    /// Parses `arguments`, runs the chosen command (async or not) and exits with its status.
    public static func run(_ arguments: [String]) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
