import Foundation
import NIOCore

/// The Swarm API of a manager engine: services, tasks and nodes; and the engine facts Berth checks
/// on every node (`/info`, the default bridge network).
extension DockerClient {
    // MARK: - Services

    /// `POST /services/create`: the new service's id. A name already in use is a ``DockerError``
    /// with ``DockerError/isConflict``.
    public func createService(_ spec: ServiceSpec) async throws -> String {
        struct Created: Decodable {
            var ID: String
        }
        let created: Created = try await decode(call(.POST, "/services/create", json: spec, operation: "create service"))
        return created.ID
    }

    /// `GET /services/{id or name}`; a missing service is ``DockerError/isNotFound``.
    public func inspectService(_ idOrName: String) async throws -> ServiceInspect {
        try await decode(call(.GET, "/services/\(Self.escape(idOrName))?insertDefaults=false", operation: "inspect service"))
    }

    /// `DELETE /services/{id or name}`; a missing service is ``DockerError/isNotFound`` (callers
    /// removing one count that as done).
    public func removeService(_ idOrName: String) async throws {
        _ = try await call(.DELETE, "/services/\(Self.escape(idOrName))", operation: "remove service")
    }

    /// `GET /services` filtered by labels (`key` or `key=value`, all must match).
    public func listServices(labels: [String]) async throws -> [ServiceInspect] {
        let filters = try Self.filters(["label": labels])
        return try await decode(call(.GET, "/services?filters=\(filters)", operation: "list services"))
    }

    // MARK: - Tasks

    /// `GET /tasks?filters=…`, with filter keys such as `service`, `label`, `desired-state`, `node`.
    ///
    /// The engine matches `label` against the labels of each task's **service** (not the task's
    /// own, usually empty `Labels`), so `["label": ["berth.namespace=ns"]]` lists the tasks of a
    /// namespace's services. It resolves `service` and `node` names to ids first, and a name that
    /// does not exist fails the whole call (``DockerError/isNotFound``) instead of matching nothing.
    public func listTasks(filters: [String: [String]]) async throws -> [SwarmTask] {
        try await decode(call(.GET, "/tasks?filters=\(try Self.filters(filters))", operation: "list tasks"))
    }

    // MARK: - Nodes

    /// `GET /nodes`: every node of the swarm.
    public func listNodes() async throws -> [SwarmNode] {
        try await decode(call(.GET, "/nodes", operation: "list nodes"))
    }

    /// `GET /nodes/{id}`.
    public func inspectNode(_ id: String) async throws -> SwarmNode {
        try await decode(call(.GET, "/nodes/\(Self.escape(id))", operation: "inspect node"))
    }

    // MARK: - Engine facts

    /// `GET /info`: the engine's id, version, security options and swarm membership.
    public func info() async throws -> EngineInfo {
        try await decode(call(.GET, "/info", operation: "info"))
    }

    /// `GET /networks/{id or name}`: e.g. `bridge`, whose `com.docker.network.bridge.enable_icc`
    /// option is `false` on an engine started with `--icc=false`.
    public func inspectNetwork(_ idOrName: String) async throws -> NetworkInspect {
        try await decode(call(.GET, "/networks/\(Self.escape(idOrName))", operation: "inspect network"))
    }
}

extension DockerError {
    /// True when the engine is not a Swarm manager (not in a swarm, or a worker): it answers the
    /// Swarm API with 503 and says so.
    public var isNotSwarmManager: Bool {
        status == 503 && message.localizedCaseInsensitiveContains("not a swarm manager")
    }
}
