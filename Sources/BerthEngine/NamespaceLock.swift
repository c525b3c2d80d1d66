import BerthCore
import DockerEngine
import Foundation
import Logging
import ServiceLifecycle

/// Who a server is on a shared engine: a random id stored in `<data-dir>/server-id` the first
/// time, and the namespace it uses unless `BERTH_NAMESPACE` names one.
///
/// A stored id rather than a hash of the folder's path: it survives moving or renaming the data
/// directory (a hash would change and orphan every running instance), it does not depend on the
/// host name (containers move with a data directory restored on another host), and an operator
/// can read it. Two data directories never share one, so two servers started with defaults on
/// one engine get different namespaces.
public enum ServerIdentity {
    /// The file under the data directory.
    public static let fileName = "server-id"

    /// The id stored in `dataDirectory`, created (24 hex digits, mode 0600) when missing.
    public static func loadOrCreate(in dataDirectory: URL) throws -> String {
        let file = dataDirectory.appendingPathComponent(fileName)
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard id.count >= 12, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isHexDigit) }) else {
                throw BerthError(
                    .serverIdInvalid,
                    "\(file.path) does not hold a server id (hex digits); remove it to get a new one, which also gives a new default namespace."
                )
            }
            return id.lowercased()
        }
        let id = (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        // O_EXCL: when two servers race on one new folder, the second reads the first's id.
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return try loadOrCreate(in: dataDirectory) }
            throw BerthError(.serverIdUnavailable, "Cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let line = Array((id + "\n").utf8)
        guard write(descriptor, line, line.count) == line.count else {
            throw BerthError(.serverIdUnavailable, "Cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
        return id
    }

    /// The namespace of a server with this id when none is configured: `d-` and its first 12 digits.
    public static func defaultNamespace(serverID: String) -> String {
        "d-" + serverID.prefix(12)
    }
}

/// A liveness lock on a namespace, held in the engine itself so that it works for servers on
/// different hosts sharing one engine: a container named `berth-lock-<namespace>` that is created
/// but never started, from a tiny image imported from an empty archive. Creating a container by
/// name is atomic, so only one holder wins. The holder is a cluster id (``ClusterRepository/clusterID()``):
/// every replica of one database holds the lock together, while a server on another database is
/// refused. Each holder writes the engine's current time into the container's `/heartbeat` file
/// every `staleAfter / 6`; a server that finds the lock's last heartbeat older than `staleAfter`
/// (on the engine's clock, so hosts' clocks do not matter) removes it and takes over. A replica
/// that starts, or restarts, while its cluster holds the lock joins it at once.
public actor NamespaceLock {
    /// The image of lock containers; imported on first use, with no registry.
    public static let image = (repository: "berth/namespace-lock", tag: "1")
    /// Label carrying the namespace a lock container holds.
    public static let lockLabel = "berth.lock"
    /// Label carrying the holder's cluster id.
    public static let holderLabel = "berth.lock.holder"
    /// Label carrying the engine time (Unix seconds) the lock was created.
    public static let createdLabel = "berth.lock.created"

    /// The namespace locked.
    public nonisolated let namespace: String
    /// This server's cluster id, shared by the replicas of its database.
    public nonisolated let holder: String
    /// How long without a heartbeat before another server may take the lock.
    public nonisolated let staleAfter: Duration
    private let docker: DockerClient
    private let logger: Logger
    private var containerID: String?

    /// Creates a lock for `namespace` held as `holder`; nothing happens until ``acquire()``.
    public init(docker: DockerClient, namespace: String, holder: String, staleAfter: Duration = .seconds(30), logger: Logger) {
        self.docker = docker
        self.namespace = namespace
        self.holder = holder
        self.staleAfter = staleAfter
        self.logger = logger
    }

    /// The name of the lock container.
    public nonisolated var containerName: String { "berth-lock-\(namespace)" }

    /// How often the holder writes its heartbeat.
    public nonisolated var heartbeatInterval: Duration { staleAfter / 6 }

    /// True while this server holds the lock.
    public var isHeld: Bool { containerID != nil }

    /// Takes the lock (or joins it, when this server's cluster holds it), or fails with
    /// `namespace_in_use` when a live server of another cluster holds it.
    public func acquire() async throws {
        let imageReference = try await lockImage()
        for _ in 0..<3 {
            let now = try await engineSeconds()
            var request = ContainerCreateRequest(image: imageReference, hostConfig: HostConfig())
            request.command = ["/berth-namespace-lock"]
            request.labels = [
                Self.lockLabel: namespace, Self.holderLabel: holder, Self.createdLabel: String(now),
                BerthLabel.namespace: namespace,
            ]
            request.hostConfig.networkMode = "none"
            do {
                let id = try await docker.createContainer(name: containerName, request)
                containerID = id
                try await writeHeartbeat(id, time: now)
                logger.info("namespace lock taken", metadata: ["namespace": "\(namespace)", "cluster.id": "\(holder)"])
                return
            } catch let error as DockerError where error.isConflict {
                // Someone holds it: see who, and whether they are alive.
            }
            let existing: ContainerInspect
            do {
                existing = try await docker.inspectContainer(containerName)
            } catch let error as DockerError where error.isNotFound {
                continue
            }
            let labels = existing.config.labels ?? [:]
            if labels[Self.holderLabel] == holder {
                containerID = existing.id
                try await writeHeartbeat(existing.id, time: now)
                logger.info("namespace lock joined: this server's cluster holds it", metadata: ["namespace": "\(namespace)", "cluster.id": "\(holder)"])
                return
            }
            let last = try await lastHeartbeat(existing.id) ?? Int(labels[Self.createdLabel] ?? "") ?? 0
            let silentFor = now - last
            if silentFor <= Int(staleAfter.components.seconds) {
                throw BerthError(
                    .namespaceInUse,
                    "The namespace '\(namespace)' is in use by another Berth server on this Docker Engine (cluster \(labels[Self.holderLabel] ?? "?"), last heartbeat \(max(silentFor, 0)) s ago); this server's database is another cluster's (\(holder)). Replicas sharing one database share a namespace, but a server on another database needs its own: set BERTH_NAMESPACE (or `namespace:` in the config file) to another name, or leave it unset to use this data directory's own. If that server has crashed, its lock is taken over \(staleAfter.components.seconds) s after its last heartbeat."
                )
            }
            logger.warning("taking over a stale namespace lock", metadata: [
                "namespace": "\(namespace)", "cluster.id": "\(holder)", "previous.holder": "\(labels[Self.holderLabel] ?? "?")",
                "silent.seconds": "\(silentFor)",
            ])
            // By id, not name: if another server took it over meanwhile, its fresh lock stays.
            do { try await docker.removeContainer(existing.id, force: true) } catch let error as DockerError where error.isNotFound {}
        }
        throw BerthError(
            .namespaceInUse,
            "The namespace '\(namespace)' changed hands several times while Berth tried to take it; another server is starting with the same namespace. Set BERTH_NAMESPACE to another name."
        )
    }

    /// Writes a heartbeat; takes the lock again when it vanished, and logs loudly when another
    /// server holds it now.
    public func beat() async {
        do {
            guard let containerID else { return try await acquire() }
            try await writeHeartbeat(containerID, time: try await engineSeconds())
        } catch let error as DockerError where error.isNotFound {
            containerID = nil
            do {
                try await acquire()
            } catch {
                logger.critical("namespace lock lost to another server", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
            }
        } catch {
            logger.warning("namespace heartbeat failed; retrying", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
        }
    }

    /// Stops holding the lock without removing it: the other replicas of this cluster still hold
    /// it (and keep it alive).
    public func leave() {
        guard containerID != nil else { return }
        containerID = nil
        logger.info("namespace lock left to the cluster's other replicas", metadata: ["namespace": "\(namespace)"])
    }

    /// Removes the lock, so another server may take the namespace at once.
    public func release() async {
        guard let id = containerID else { return }
        containerID = nil
        do {
            try await docker.removeContainer(id, force: true)
            logger.info("namespace lock released", metadata: ["namespace": "\(namespace)"])
        } catch let error as DockerError where error.isNotFound {
        } catch {
            logger.warning("namespace lock not released; it goes stale", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
        }
    }

    private func lockImage() async throws -> String {
        let reference = "\(Self.image.repository):\(Self.image.tag)"
        do {
            return try await docker.inspectImage(reference).id
        } catch let error as DockerError where error.isNotFound {
            // An empty root file system: the container only ever holds the heartbeat file.
            return try await docker.importImage(rootfsTar: try TarArchive().encoded(), repository: Self.image.repository, tag: Self.image.tag)
        }
    }

    private func engineSeconds() async throws -> Int {
        Int(try await docker.engineTime().timeIntervalSince1970)
    }

    private func writeHeartbeat(_ id: String, time: Int) async throws {
        var archive = TarArchive()
        archive.append(TarArchive.Entry(path: "heartbeat", contents: Array("\(time) \(holder)\n".utf8)))
        try await docker.putArchive(id, path: "/", tar: try archive.encoded())
    }

    private func lastHeartbeat(_ id: String) async throws -> Int? {
        let bytes: [UInt8]
        do {
            bytes = try await docker.getArchive(id, path: "/heartbeat")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
        guard let entry = try TarArchive.decode(bytes).entries.first(where: { !$0.isDirectory }) else { return nil }
        return String(decoding: entry.contents, as: UTF8.self).split(separator: " ").first.flatMap { Int($0) }
    }
}

/// Keeps this server's namespace lock alive while the server runs, and at shutdown releases it,
/// or leaves it to the other replicas of its cluster when `othersHold` says some are alive.
public struct NamespaceLockService: Service {
    let lock: NamespaceLock
    let othersHold: @Sendable () async -> Bool

    /// Creates the service for a lock already acquired.
    public init(lock: NamespaceLock, othersHold: @escaping @Sendable () async -> Bool = { false }) {
        self.lock = lock
        self.othersHold = othersHold
    }

    public func run() async throws {
        await repeatUntilShutdown(every: lock.heartbeatInterval) { await lock.beat() }
        if await othersHold() {
            await lock.leave()
        } else {
            await lock.release()
        }
    }
}
