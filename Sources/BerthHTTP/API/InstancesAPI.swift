import BerthAPI
import BerthCore
import BerthEngine
import Foundation

extension BerthAPIHandler {
    public func listInstances(_ input: Operations.ListInstances.Input) async throws -> Operations.ListInstances.Output {
        let caller = try APIRequest.caller()
        let instances = try await services.lifecycle.instances(
            for: caller, activeOnly: input.query.active ?? false, ownOnly: input.query.mine ?? false
        )
        var items: [Components.Schemas.Instance] = []
        for instance in instances { items.append(await schema(of: instance)) }
        return .ok(.init(body: .json(.init(items: items))))
    }

    public func createInstance(_ input: Operations.CreateInstance.Input) async throws -> Operations.CreateInstance.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let environment: String
        switch input.body {
        case .json(let body): environment = body.environment
        }
        // Hidden and locked environments cannot be started by players (ctfcli `state`, `requirements`).
        _ = try await services.scores.playable(environment, by: caller)
        let instance = try await services.lifecycle.request(environment: environment, by: caller)
        here.facts.target = instance.id
        here.facts.detail = "environment \(instance.environment)"
        here.logger.info("instance created", metadata: [
            "instance.id": "\(instance.id)", "user.id": "\(caller.id)", "client.ip": "\(here.clientIP)",
        ])
        return .created(.init(body: .json(await schema(of: instance))))
    }

    public func getInstance(_ input: Operations.GetInstance.Input) async throws -> Operations.GetInstance.Output {
        let instance = try await services.lifecycle.instance(input.path.id, for: try APIRequest.caller())
        return .ok(.init(body: .json(await schema(of: instance))))
    }

    public func deleteInstance(_ input: Operations.DeleteInstance.Input) async throws -> Operations.DeleteInstance.Output {
        let caller = try APIRequest.caller()
        let id = input.path.id
        if caller.role == .admin { await services.terminals.mark(instanceID: id, "admin stop by user \(caller.id)") }
        let instance = try await services.lifecycle.stop(id, by: caller)
        return .ok(.init(body: .json(await schema(of: instance))))
    }

    public func renewInstance(_ input: Operations.RenewInstance.Input) async throws -> Operations.RenewInstance.Output {
        let instance = try await services.lifecycle.renew(input.path.id, by: try APIRequest.caller())
        return .ok(.init(body: .json(await schema(of: instance))))
    }

    public func resetInstance(_ input: Operations.ResetInstance.Input) async throws -> Operations.ResetInstance.Output {
        var clean = false
        if case .json(let request)? = input.body { clean = request.cleanWorkspace ?? false }
        if clean { try APIRequest.here().facts.detail = "clean workspace" }
        let instance = try await services.lifecycle.reset(input.path.id, by: try APIRequest.caller(), cleanWorkspace: clean)
        return .ok(.init(body: .json(await schema(of: instance))))
    }

    public func listInstanceEvents(_ input: Operations.ListInstanceEvents.Input) async throws -> Operations.ListInstanceEvents.Output {
        let instance = try await services.lifecycle.instance(input.path.id, for: try APIRequest.caller())
        let events = try await services.store.instances.events(instanceID: instance.id, limit: try Self.limit(input.query.limit))
        return .ok(.init(body: .json(.init(items: events.map(Components.Schemas.Event.init)))))
    }

    public func purge(_ input: Operations.Purge.Input) async throws -> Operations.Purge.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        for instance in try await services.lifecycle.activeInstances() {
            await services.terminals.mark(instanceID: instance.id, "admin purge by user \(admin.id)")
        }
        let stopped = try await services.lifecycle.purge(by: admin)
        here.logger.notice("purged", metadata: ["user.id": "\(admin.id)", "stopped": "\(stopped)"])
        return .ok(.init(body: .json(.init(stopped: stopped))))
    }

    public func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        let events = try await services.store.instances.events(instanceID: nil, limit: try Self.limit(input.query.limit))
        return .ok(.init(body: .json(.init(items: events.map(Components.Schemas.Event.init)))))
    }

    /// `instance` as the API shows it, with its environment's terminal, when Renew opens and when
    /// it stops for nobody being connected.
    func schema(of instance: Instance) async -> Components.Schemas.Instance {
        var schema = Components.Schemas.Instance(
            instance, environment: await services.catalog.environment(instance.environment),
            renewableAt: await services.lifecycle.renewableAt(instance),
            disconnectStopAt: await disconnectStopAt(of: instance)
        )
        if instance.state.isActive, let workspace = await services.workspaces?.workspace(ofInstance: instance.id) {
            schema.workspace = .init(workspace)
        }
        return schema
    }

    /// When `instance` stops for nobody being connected; nil, with a warning, when presence could
    /// not be read: a request that succeeded (a start, a renew) still answers, without the time.
    private func disconnectStopAt(of instance: Instance) async -> Date? {
        do {
            return try await services.disconnectStopAt(instance, now: Date())
        } catch {
            (try? APIRequest.here())?.logger.warning("disconnect stop time unknown", metadata: ["instance.id": "\(instance.id)", "error": "\(error)"])
            return nil
        }
    }
}

extension Components.Schemas.Instance {
    /// `instance` as the API shows it: endpoints while it is active, the terminal of `environment`
    /// when that is still in the catalog, and the environment's `connection_info` filled from the
    /// first endpoint.
    init(_ instance: BerthCore.Instance, environment: EnvironmentSpec?, renewableAt: Date?, disconnectStopAt: Date? = nil) {
        let endpoints = instance.state.isActive ? instance.endpoints : []
        let terminal = environment.map {
            TerminalPayload(command: $0.berth.terminal.command, user: $0.berth.terminal.user, workdir: $0.berth.terminal.workdir)
        }
        var connectionInfo: String?
        if let template = environment?.connectionInfo, let first = endpoints.first {
            connectionInfo = ConnectionInfo.fill(template, with: first)
        }
        self.init(
            id: instance.id, environment: instance.environment, owner: OwnerPayload(instance.owner), requestedBy: instance.requestedBy,
            state: StatePayload(instance.state), createdAt: instance.createdAt, updatedAt: instance.updatedAt, expiresAt: instance.expiresAt,
            maxExpiresAt: instance.maxExpiresAt, renewalsLeft: instance.renewalsLeft, endpoints: endpoints.map(Components.Schemas.Endpoint.init),
            terminal: terminal, reason: instance.reason, connectionInfo: connectionInfo, renewableAt: renewableAt,
            disconnectStopAt: disconnectStopAt
        )
    }
}

extension Components.Schemas.Instance.OwnerPayload {
    /// `owner` as the API shows it.
    init(_ owner: Owner) {
        switch owner.kind {
        case .user: self.init(kind: .user, id: owner.id)
        case .team: self.init(kind: .team, id: owner.id)
        }
    }
}

extension Components.Schemas.Instance.StatePayload {
    /// `state` as the API shows it.
    init(_ state: InstanceState) {
        switch state {
        case .requested: self = .requested
        case .starting: self = .starting
        case .running: self = .running
        case .stopping: self = .stopping
        case .stopped: self = .stopped
        case .failed: self = .failed
        case .expired: self = .expired
        }
    }
}

extension Components.Schemas.Endpoint {
    /// `endpoint` as the API shows it.
    init(_ endpoint: BerthCore.Endpoint) {
        let kind: _ProtocolPayload
        switch endpoint.protocol {
        case .http: kind = .http
        case .tcp: kind = .tcp
        }
        self.init(port: endpoint.port, _protocol: kind, host: endpoint.host, hostPort: endpoint.hostPort, url: endpoint.url)
    }
}

extension Components.Schemas.Event {
    /// One line of the event log as the API shows it.
    init(_ event: EventRecord) {
        self.init(
            sequence: Int(event.sequence), time: event.time, kind: event.kind, instanceId: event.instanceID, userId: event.userID,
            detail: event.detail
        )
    }
}
