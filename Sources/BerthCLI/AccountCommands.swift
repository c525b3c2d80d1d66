import ArgumentParser
import Foundation

/// `berth users`: create and list users through the server.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Create and list users, and change their role (admin token).",
        subcommands: [UsersCreateCommand.self, UsersListCommand.self, UsersSetRoleCommand.self, UsersSetPasswordCommand.self]
    )
}

/// `berth users create`.
struct UsersCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a user.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Unique user name.")
    var name: String

    @Option(help: "player or admin (default player).")
    var role = "player"

    struct Body: Encodable {
        var name: String
        var role: String
    }

    func run() async throws {
        let user = try await server.client().call(.POST, "/api/v1/users", body: Body(name: name, role: role), as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(user) }
        print("\(user["id"]) \(user["name"]) \(user["role"])")
    }
}

/// `berth users list`.
struct UsersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let answer = try await server.client().call(.GET, "/api/v1/users", as: Items<JSONValue>.self)
        if output.json { return try CLISupport.printJSON(answer.items) }
        CLISupport.printTable(["ID", "NAME", "ROLE", "CREATED"], answer.items.map { [$0["id"], $0["name"], $0["role"], $0["createdAt"]] })
    }
}

/// `berth users set-role`.
struct UsersSetRoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Make a user an admin or a player.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "User id (usr_…).")
    var id: String

    @Argument(help: "player or admin.")
    var role: String

    func validate() throws {
        guard ["player", "admin"].contains(role) else { throw ValidationError("The role must be player or admin.") }
    }

    func run() async throws {
        struct Body: Encodable { var role: String }
        let user = try await server.client().call(.PATCH, "/api/v1/users/\(ServerClient.pathSegment(id))", body: Body(role: role), as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(user) }
        print("\(user["name"]) is now \(user["role"])")
    }
}

/// `berth users set-password`.
struct UsersSetPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-password",
        abstract: "Set a user's password (the new password is read from standard input); their sessions end.",
        discussion: "For example: `printf '%s' 'a-long-Passphrase' | berth users set-password usr_…`. Reading it from standard input keeps it out of the shell history and the process list."
    )

    @OptionGroup var server: ServerOptions

    @Argument(help: "User id (usr_…).")
    var id: String

    func run() async throws {
        var lines: [String] = []
        while let line = readLine(strippingNewline: true) { lines.append(line) }
        let password = lines.joined(separator: "\n")
        guard !password.isEmpty else { throw ValidationError("Give the new password on standard input.") }
        struct Body: Encodable { var password: String }
        try await server.client().send(.PUT, "/api/v1/users/\(ServerClient.pathSegment(id))/password", body: Body(password: password))
        print("password set")
    }
}

/// `berth tokens`: issue API tokens through the server.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Issue API tokens (admin token).", subcommands: [TokensCreateCommand.self]
    )
}

/// `berth tokens create`.
struct TokensCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Issue a token for a user; the secret is printed once and stored only as a hash."
    )

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "The user's id (usr_…).")
    var user: String

    @Option(help: "A label for the token.")
    var name = "cli"

    struct Body: Encodable {
        var name: String
    }

    func run() async throws {
        let escaped = ServerClient.pathSegment(user)
        let token = try await server.client().call(.POST, "/api/v1/users/\(escaped)/tokens", body: Body(name: name), as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(token) }
        print(token["token"])
    }
}

/// `berth teams`: create teams and add members through the server.
struct TeamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teams", abstract: "Create teams and add members (admin token).",
        subcommands: [TeamsCreateCommand.self, TeamsListCommand.self, TeamsAddMemberCommand.self]
    )
}

/// `berth teams create`.
struct TeamsCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a team.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Unique team name.")
    var name: String

    func run() async throws {
        let team = try await server.client().call(.POST, "/api/v1/teams", body: ["name": name], as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(team) }
        print("\(team["id"]) \(team["name"])")
    }
}

/// `berth teams list`.
struct TeamsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List teams and their member counts.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let answer = try await server.client().call(.GET, "/api/v1/teams", as: Items<JSONValue>.self)
        if output.json { return try CLISupport.printJSON(answer.items) }
        CLISupport.printTable(["ID", "NAME", "MEMBERS"], answer.items.map { [$0["id"], $0["name"], $0["members"]] })
    }
}

/// `berth teams add-member`.
struct TeamsAddMemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-member", abstract: "Add a user to a team.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Team id (team_…).")
    var team: String

    @Argument(help: "User id (usr_…).")
    var user: String

    func run() async throws {
        let escaped = ServerClient.pathSegment(team)
        let answer = try await server.client().call(.POST, "/api/v1/teams/\(escaped)/members", body: ["userId": user], as: JSONValue.self)
        if output.json { return try CLISupport.printJSON(answer) }
        print("\(answer["id"]) \(answer["name"]): \(answer["members"])")
    }
}
