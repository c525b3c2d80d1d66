import ArgumentParser

/// The `berth` command: server, CLI and admin tool in one binary.
public struct BerthCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Isolated Linux containers from prebuilt images, one per player, with limits and lifetimes.",
        discussion: """
            `berth serve` runs the server. The other commands either read an environments folder \
            directly (`env`) or talk to a running server's REST API (`instances`, `users`, `tokens`, \
            `teams`) with --server and --token (or BERTH_URL and BERTH_TOKEN).
            """,
        subcommands: [ServeCommand.self, EnvCommand.self, InstancesCommand.self, UsersCommand.self, TokensCommand.self, TeamsCommand.self]
    )

    /// Creates the command (ArgumentParser fills it in).
    public init() {}
}
