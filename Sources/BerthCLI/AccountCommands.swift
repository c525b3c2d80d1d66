import ArgumentParser
import BerthAPI
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

    func validate() throws {
        guard ["player", "admin"].contains(role) else {
            throw ValidationError("The role must be player or admin.")
        }
    }

    func run() async throws {
        let request = Components.Schemas.CreateUserRequest(name: name, role: role)
        let user = try await server.call { client in
            switch try await client.createUser(body: .json(request)) {
            case .created(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .unprocessableContent(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(user) }
        print("\(user.id) \(user.name) \(user.role.rawValue)")
    }
}

/// `berth users list`.
struct UsersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let users = try await server.call { client in
            switch try await client.listUsers() {
            case .ok(let answer): return try answer.body.json.items
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(users) }
        CLISupport.printTable(["ID", "NAME", "ROLE", "CREATED"], users.map { [$0.id, $0.name, $0.role.rawValue, CLISupport.text($0.createdAt)] })
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
        guard ["player", "admin"].contains(role) else {
            throw ValidationError("The role must be player or admin.")
        }
    }

    func run() async throws {
        let newRole = role
        let user = try await server.call { client in
            switch try await client.setUserRole(path: .init(id: id), body: .json(.init(role: newRole))) {
            case .ok(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .unprocessableContent(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(user) }
        print("\(user.name) is now \(user.role.rawValue)")
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
        try await server.call { client in
            switch try await client.setUserPassword(path: .init(id: id), body: .json(.init(password: password))) {
            case .noContent: return
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .unprocessableContent(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
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

    func run() async throws {
        let token = try await server.call { client in
            switch try await client.createToken(path: .init(id: user), body: .json(.init(name: name))) {
            case .created(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .unprocessableContent(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(token) }
        print(token.token)
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
        let team = try await server.call { client in
            switch try await client.createTeam(body: .json(.init(name: name))) {
            case .created(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .unprocessableContent(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(team) }
        print("\(team.id) \(team.name)")
    }
}

/// `berth teams list`.
struct TeamsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List teams and their member counts.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let teams = try await server.call { client in
            switch try await client.listTeams() {
            case .ok(let answer): return try answer.body.json.items
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(teams) }
        CLISupport.printTable(["ID", "NAME", "MEMBERS"], teams.map { [$0.id, $0.name, "\($0.members.count) item(s)"] })
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
        let answer = try await server.call { client in
            switch try await client.addTeamMember(path: .init(id: team), body: .json(.init(userId: user))) {
            case .created(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unsupportedMediaType(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(answer) }
        print("\(answer.id) \(answer.name): \(answer.members.count) item(s)")
    }
}
