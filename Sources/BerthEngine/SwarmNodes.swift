import BerthCore
import DockerEngine
import Logging

/// A swarm's nodes as Berth sees them: the engine of each (over TCP with mutual TLS), which node
/// runs which container, and which nodes may run instances.
///
/// The manager does not proxy `exec` or `attach` to tasks on other nodes (moby#27552), so Berth
/// goes to the engine of the node itself for terminals, checks, flags and files.
public actor SwarmNodes: ContainerEngineResolver {
    /// What Berth knows of one node.
    public struct Node: Sendable, Equatable {
        /// Swarm node id.
        public var id: String
        /// Its host name.
        public var hostname: String
        /// The address of its engine, from the Swarm API.
        public var address: String
        /// Where players reach its published ports: the `berth.address` node label, else ``address``.
        public var endpointHost: String
        /// Why Berth places no instance there, nil when it does.
        public var refusal: String?
    }

    /// The node label naming the address players reach a node's ports at.
    public static let endpointLabel = "berth.address"

    let manager: DockerClient
    let tls: EngineTLS?
    let settings: SwarmSettings
    let timeout: Duration
    let recheckInterval: Duration
    let logger: Logger
    private var nodes: [String: Node] = [:]
    private var clients: [String: DockerClient] = [:]
    private var containerNodes: [String: String] = [:]
    /// When the node check last looked at each node (a node down then is checked when it is back).
    private var checkedAt: [String: ContinuousClock.Instant] = [:]
    /// Nodes whose daemon defaults a started container showed.
    private var defaultsSeen: Set<String> = []
    /// Nodes an instance showed to lack a daemon default: the node check cannot see it, so they
    /// stay refused until Berth restarts.
    private var refusedByInstance: Set<String> = []
    /// Images (by id) each node's engine holds; an id names the same content for good.
    private var imagesHeld: [String: Set<String>] = [:]
    /// Images each node's engine lacked, and when it was asked: asked again after the re-check
    /// interval, since the operator loads what a node lacks.
    private var imagesLacked: [String: [String: ContinuousClock.Instant]] = [:]

    /// Nodes reached through `manager`'s Swarm API; their engines at `settings.enginePort` with `tls`.
    /// A node the check refused is checked again after `recheckInterval`: its operator may fix it.
    public init(manager: DockerClient, tls: EngineTLS?, settings: SwarmSettings, recheckInterval: Duration = .seconds(60), logger: Logger) {
        self.manager = manager
        self.tls = tls
        self.settings = settings
        self.timeout = manager.timeout
        self.recheckInterval = recheckInterval
        self.logger = logger
    }

    // MARK: - Engines

    public func engine(forContainer containerID: String) async throws -> DockerClient {
        if containerNodes[containerID] == nil {
            for task in try await manager.listTasks(filters: ["desired-state": ["running"]]) {
                if let container = task.status.containerStatus?.containerID, !container.isEmpty, let node = task.nodeID, !node.isEmpty {
                    containerNodes[container] = node
                }
            }
        }
        guard let nodeID = containerNodes[containerID] else {
            throw DockerError(status: 404, message: "no swarm task runs container \(containerID)", operation: "find container")
        }
        return try await engine(ofNode: nodeID)
    }

    /// The engine of node `nodeID`.
    public func engine(ofNode nodeID: String) async throws -> DockerClient {
        if let client = clients[nodeID] { return client }
        return client(for: try await node(nodeID))
    }

    /// The engine of `node`, made once.
    private func client(for node: Node) -> DockerClient {
        if let client = clients[node.id] { return client }
        let client = DockerClient(address: .tcp(host: node.address, port: settings.enginePort), tls: tls, timeout: timeout)
        clients[node.id] = client
        return client
    }

    /// Records that `containerID` runs on `nodeID` (a task Berth just saw start).
    public func remember(container containerID: String, on nodeID: String) {
        containerNodes[containerID] = nodeID
    }

    /// Forgets a removed container.
    public func forget(container containerID: String) {
        containerNodes[containerID] = nil
    }

    /// Node `nodeID`, asked of the manager the first time.
    public func node(_ nodeID: String) async throws -> Node {
        if let node = nodes[nodeID] { return node }
        let node = Self.describe(try await manager.inspectNode(nodeID))
        nodes[nodeID] = node
        return node
    }

    static func describe(_ node: SwarmNode) -> Node {
        // A manager may report 0.0.0.0 (moby#35437): its manager address names the host then.
        var address = node.status.addr ?? ""
        if address.isEmpty || address == "0.0.0.0", let manager = node.managerStatus?.addr, let host = manager.split(separator: ":").first {
            address = String(host)
        }
        let endpoint = node.spec.labels[endpointLabel].flatMap { $0.isEmpty ? nil : $0 } ?? address
        return Node(id: node.id, hostname: node.description.hostname ?? node.id, address: address, endpointHost: endpoint, refusal: nil)
    }

    // MARK: - Fitness

    /// Placement constraints of every instance: the pool, and no node that failed a check or was
    /// not checked yet (down when listed, it may be back before the task is placed).
    public func constraints() async throws -> [String] {
        try await checkNewNodes()
        var constraints = settings.pool.map { ["node.labels.berth.pool==\($0)"] } ?? []
        for node in nodes.values.sorted(by: { $0.id < $1.id }) where node.refusal != nil || checkedAt[node.id] == nil {
            constraints.append("node.id!=\(node.id)")
        }
        return constraints
    }

    /// Checks every node not checked yet, and again every refused one whose check is older than
    /// the re-check interval; returns every known node. A node that lacks a setting is refused
    /// (logged with its name and the setting, and again only when that changes).
    @discardableResult
    public func checkNewNodes() async throws -> [Node] {
        let listed = try await manager.listNodes()
        let now = ContinuousClock.now
        for swarmNode in listed where isDue(swarmNode.id, now: now) {
            let before = checkedAt[swarmNode.id] == nil ? nil : nodes[swarmNode.id]
            var node = Self.describe(swarmNode)
            if let pool = settings.pool, swarmNode.spec.labels["berth.pool"] != pool {
                node.refusal = "not in pool \(pool) (node label berth.pool)"
            } else if swarmNode.status.state == "ready" {
                node.refusal = await refusal(of: node)
            } else {
                // Unchecked, so kept out, until it comes back and passes.
                nodes[node.id] = node
                checkedAt[node.id] = nil
                continue
            }
            nodes[node.id] = node
            checkedAt[node.id] = now
            if let before, before.refusal == node.refusal { continue }
            if let refusal = node.refusal {
                logger.warning("swarm node refused for instances", metadata: ["node.id": "\(node.id)", "node.hostname": "\(node.hostname)", "reason": "\(refusal)"])
            } else {
                logger.info("swarm node accepted for instances", metadata: ["node.id": "\(node.id)", "node.hostname": "\(node.hostname)", "node.address": "\(node.address)"])
            }
        }
        return nodes.values.sorted { $0.hostname < $1.hostname }
    }

    /// True when node `id` was never checked, or the check refused it (not an instance) at least
    /// ``recheckInterval`` ago.
    private func isDue(_ id: String, now: ContinuousClock.Instant) -> Bool {
        guard let checked = checkedAt[id] else { return true }
        guard nodes[id]?.refusal != nil, !refusedByInstance.contains(id) else { return false }
        return now - checked >= recheckInterval
    }

    // MARK: - Images

    /// Placement constraints of an instance of `image` (an id): ``constraints()``, and no node
    /// whose engine lacks the image, since a worker never pulls an image named by id. Each node is
    /// asked once per image, and again a re-check interval after it lacked it. When no node that
    /// may run instances holds it, the start fails with `image_not_found` naming the nodes.
    public func constraints(image: String, environment: String) async throws -> [String] {
        var constraints = try await constraints()
        let candidates = nodes.values.filter { $0.refusal == nil && checkedAt[$0.id] != nil }.sorted { $0.hostname < $1.hostname }
        let lacking = await nodes(lacking: image, among: candidates)
        guard lacking.count < candidates.count || candidates.isEmpty else {
            throw BerthError(
                .imageNotFound,
                "No swarm node that may run instances holds the image \(image) of '\(environment)' (\(lacking.map(\.hostname).joined(separator: ", ")) lack it), and Berth never pulls; an admin loads it into each node (docker save on the manager, docker load on the node)."
            )
        }
        constraints += lacking.map { "node.id!=\($0.id)" }
        return constraints
    }

    /// Records that `nodeID`'s engine lacks `image` (its task could not start for want of it).
    public func lacks(_ image: String, on nodeID: String) {
        imagesHeld[nodeID]?.remove(image)
        imagesLacked[nodeID, default: [:]][image] = .now
    }

    /// Which of `candidates` lack `image`: cached answers, and the engines of the others asked at
    /// once. A node whose engine does not answer is left to the swarm.
    private func nodes(lacking image: String, among candidates: [Node]) async -> [Node] {
        let now = ContinuousClock.now
        var lacking: [Node] = []
        var unknown: [(Node, DockerClient)] = []
        for node in candidates where imagesHeld[node.id]?.contains(image) != true {
            if let asked = imagesLacked[node.id]?[image], now - asked < recheckInterval {
                lacking.append(node)
            } else {
                unknown.append((node, client(for: node)))
            }
        }
        let answers = await withTaskGroup(of: (Node, Bool?).self) { group in
            for (node, engine) in unknown {
                group.addTask {
                    do {
                        _ = try await engine.inspectImage(image)
                        return (node, true)
                    } catch let error as DockerError where error.isNotFound {
                        return (node, false)
                    } catch {
                        return (node, nil)
                    }
                }
            }
            var answers: [(Node, Bool?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        for (node, holds) in answers {
            switch holds {
            case true?:
                imagesHeld[node.id, default: []].insert(image)
                imagesLacked[node.id]?[image] = nil
            case false?:
                if imagesLacked[node.id]?[image] == nil {
                    logger.warning("swarm node lacks an image; its instances go to other nodes", metadata: [
                        "node.id": "\(node.id)", "node.hostname": "\(node.hostname)", "image": "\(image)",
                        "fix": "docker save on the manager, docker load on the node",
                    ])
                }
                imagesLacked[node.id, default: [:]][image] = now
                lacking.append(node)
            case nil:
                break
            }
        }
        return lacking.sorted { $0.hostname < $1.hostname }
    }

    // MARK: - Refusals

    /// Refuses `nodeID` until Berth restarts (a started instance showed it lacks a setting).
    public func refuse(_ nodeID: String, reason: String) {
        refusedByInstance.insert(nodeID)
        nodes[nodeID]?.refusal = reason
        logger.warning("swarm node refused for instances", metadata: ["node.id": "\(nodeID)", "reason": "\(reason)"])
    }

    /// Why `node` cannot run instances, nil when it can: its engine must answer over TLS, with
    /// seccomp on and inter-container traffic off on its default bridge.
    private func refusal(of node: Node) async -> String? {
        let engine = client(for: node)
        let info: EngineInfo
        do {
            info = try await engine.info()
        } catch {
            return "its engine at tcp://\(node.address):\(settings.enginePort) does not answer over TLS (\(error)); start dockerd with -H tcp://0.0.0.0:\(settings.enginePort) --tlsverify and give Berth a client certificate (BERTH_SWARM_TLS_DIR)"
        }
        if !info.hasSeccompProfile {
            return "seccomp is off; start dockerd without --seccomp-profile=unconfined"
        }
        do {
            let bridge = try await engine.inspectNetwork("bridge")
            if bridge.options["com.docker.network.bridge.enable_icc"] != "false" {
                return "containers on its default bridge can reach each other; start dockerd with --icc=false"
            }
        } catch {
            return "its default bridge network could not be read (\(error))"
        }
        return nil
    }

    /// Removes, on every node Berth reached, the volumes labelled `namespace` that no container
    /// uses: the tmpfs-backed writable folders of tasks that ended. Errors are left for the next sweep.
    public func removeDanglingVolumes(namespace: String) async {
        for (nodeID, engine) in clients.sorted(by: { $0.key < $1.key }) where nodes[nodeID]?.refusal == nil {
            do {
                let names = try await engine.listVolumeNames(filters: ["label": ["\(BerthLabel.namespace)=\(namespace)"], "dangling": ["true"]])
                for name in names { try? await engine.removeVolume(name) }
            } catch {
                logger.debug("listing a node's volumes failed", metadata: ["node.id": "\(nodeID)", "error": "\(error)"])
            }
        }
    }

    /// Reads `/proc/1/status` of the first container started on a node: the daemon must have given
    /// it `no-new-privileges` and seccomp, which a service cannot ask for. Nil when it did (or the
    /// node showed it before).
    func missingDaemonDefaults(container containerID: String, on nodeID: String) async -> String? {
        guard !defaultsSeen.contains(nodeID) else { return nil }
        let status: String
        do {
            let result = try await engine(ofNode: nodeID).exec(containerID, command: ["cat", "/proc/1/status"], user: "0", outputTimeout: timeout)
            guard result.exitCode == 0 else { return nil }
            status = result.stdout
        } catch {
            // An image without `cat` cannot be read; the start-up check stands.
            return nil
        }
        var missing: [String] = []
        if !status.contains("NoNewPrivs:\t1") { missing.append("no-new-privileges (start dockerd with --no-new-privileges)") }
        if !status.contains("Seccomp:\t2") { missing.append("seccomp filtering") }
        guard missing.isEmpty else { return "its containers run without " + missing.joined(separator: " and ") }
        defaultsSeen.insert(nodeID)
        return nil
    }
}
