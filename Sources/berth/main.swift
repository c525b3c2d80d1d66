import BerthCLI

await BerthCommand.run(CommandLine.arguments.dropFirst().map { $0 })
