import BerthAPI
import BerthCore
import BerthEngine
import BerthTerminal

extension BerthAPIHandler {
    public func createTerminalTicket(_ input: Operations.CreateTerminalTicket.Input) async throws -> Operations.CreateTerminalTicket.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let id = input.path.id
        // The body is optional: `curl -X POST .../terminal/ticket` asks for the main terminal.
        var body = Components.Schemas.CreateTerminalTicketRequest()
        if case .json(let json)? = input.body { body = json }
        let terminal = body.terminal ?? "main"
        guard Self.isValidTerminalName(terminal) else {
            throw BerthError(.invalidTerminal, "A terminal name is 1-32 lowercase letters, digits or '-'.")
        }
        let access = try await terminalAccess(of: caller, to: id, share: body.share)
        let instance = try await services.runningInstance(id)
        // Only an owner's own terminal keeps the instance attended, never a share link's.
        let grant = TerminalGrant(
            instanceID: instance.id, userID: caller.id, access: access, terminal: terminal, countsAsPresence: body.share == nil && access == .write
        )
        let issued = try await services.tickets.issue(grant)
        here.logger.info("terminal ticket issued", metadata: [
            "instance.id": "\(id)", "user.id": "\(caller.id)", "client.ip": "\(here.clientIP)", "access": "\(access.rawValue)",
        ])
        let url = "/api/v1/instances/\(id)/terminal?ticket=\(issued.ticket)&terminal=\(terminal)"
        return .created(.init(body: .json(.init(
            ticket: issued.ticket, expiresIn: issued.expiresIn, access: access == .write ? .write : .read, terminal: terminal, url: url
        ))))
    }

    /// Never registered: the terminal WebSocket is opened with a ticket and served by the plain
    /// route of ``TerminalRoutes``, which upgrades the connection. A plain GET is refused there
    /// with this same error.
    public func terminalWebSocket(_ input: Operations.TerminalWebSocket.Input) async throws -> Operations.TerminalWebSocket.Output {
        throw BerthError.webSocketRequired
    }

    public func shareTerminal(_ input: Operations.ShareTerminal.Input) async throws -> Operations.ShareTerminal.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let id = input.path.id
        let requested: String
        switch input.body {
        case .json(let body): requested = body.access
        }
        guard let access = TerminalAccess(rawValue: requested) else {
            throw BerthError(.invalidAccess, "'access' must be read or write.")
        }
        let instance = try await services.lifecycle.instance(id, for: caller)
        guard try await services.lifecycle.isOwner(instance, caller) else {
            throw BerthError(.forbidden, "Only the instance's owner can share its terminal.")
        }
        guard instance.state.isActive else {
            throw BerthError(.instanceNotActive, "Instance \(id) is \(instance.state.rawValue); only an active instance can be shared.")
        }
        let share = try await services.shares.create(instanceID: id, access: access, createdBy: caller.id)
        await services.terminals.mark(instanceID: id, "share \(access.rawValue) by user \(caller.id)")
        here.logger.info("terminal shared", metadata: ["instance.id": "\(id)", "user.id": "\(caller.id)", "access": "\(access.rawValue)"])
        return .created(.init(body: .json(.init(
            share: share.id, access: access == .write ? .write : .read, url: "/instances/\(id)/terminal#share=\(share.id)"
        ))))
    }

    public func listTerminals(_ input: Operations.ListTerminals.Input) async throws -> Operations.ListTerminals.Output {
        let instance = try await services.lifecycle.instance(input.path.id, for: try APIRequest.caller())
        return .ok(.init(body: .json(.init(items: await services.terminals.terminals(of: instance.id)))))
    }

    static func isValidTerminalName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 32 && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    /// What `user` may do on instance `id`'s terminals: the owner writes, an admin watches, and a
    /// share link grants what it says. Anyone else is told the instance does not exist.
    func terminalAccess(of user: User, to id: String, share: String?) async throws -> TerminalAccess {
        if let share {
            guard let granted = try await services.shares.share(share, instanceID: id) else {
                throw BerthError(.forbidden, "The share link is not valid for this instance; ask its owner for a new one.")
            }
            return granted.access
        }
        let instance = try await services.lifecycle.instance(id, for: user)
        return try await services.lifecycle.isOwner(instance, user) ? .write : .read
    }
}
