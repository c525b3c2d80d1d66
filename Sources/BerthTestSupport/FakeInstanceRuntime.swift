import BerthCore
import BerthEngine
import DockerEngine
import Foundation

/// An ``InstanceRuntime`` in memory, for API and lifecycle tests that are not about the engine.
///
/// It keeps the contract of ``DockerRuntime``: a launch creates a network (unless the
/// environment's network is `none`) and a running container named `berth-<instance>`; a name or
/// host port already in use fails as the engine does; an environment without an image, or whose
/// image a test removed, fails with ``LaunchFailure/imageMissing(_:)``; `destroy` ignores what is
/// already gone and, like `docker rm -f`, reports a running container's end (exit 137) to the
/// event watchers; engine failures are ``DockerError``s (wrapped in ``LaunchFailure/engine(_:)``
/// where the real runtime wraps them), unreachable ones with status 0.
///
/// A test drives the engine's side: ``exit(instanceID:code:oomKilled:)`` ends a container's main
/// process, ``setMode(_:)`` takes the engine down or wedges it, ``failNextLaunch(_:)`` and
/// ``setLaunchesHang(_:)`` break starts, and ``calls`` lists what Berth asked for.
public actor FakeInstanceRuntime: InstanceRuntime {
    /// How the fake engine answers.
    public enum Mode: Sendable, Equatable {
        /// Answers every call.
        case up
        /// Refuses connections: every call fails at once as unreachable, and event streams drop.
        case down
        /// Accepts but never answers: calls wait until the mode changes, the caller is cancelled,
        /// or the runtime's `callTimeout` (or a ping's own limit) passes.
        case wedged
    }

    /// A host port published by a container (always TCP, as ``ContainerBlueprint`` publishes).
    public struct PublishedPort: Sendable, Equatable {
        /// The port inside the container.
        public var containerPort: Int
        /// The host port.
        public var hostPort: Int
        /// The host address the port is bound to.
        public var hostAddress: String

        /// Creates a published port.
        public init(containerPort: Int, hostPort: Int, hostAddress: String) {
            self.containerPort = containerPort
            self.hostPort = hostPort
            self.hostAddress = hostAddress
        }
    }

    /// A container the fake engine holds.
    public struct Container: Sendable {
        /// The engine id (64 hex digits, like Docker's).
        public var id: String
        /// `berth-<instance id>`.
        public var name: String
        /// The `berth.instance` label.
        public var instanceID: String
        /// The `berth.environment` label.
        public var environment: String
        /// The per-instance network, if any.
        public var networkID: String?
        /// True until the main process ends.
        public var running: Bool
        /// The main process's exit code once it ended.
        public var exitCode: Int?
        /// True when the test ended it as killed for memory.
        public var oomKilled: Bool
        /// The published service ports, in the order of the environment's ports.
        public var ports: [PublishedPort]
        /// What ``DockerRuntime`` would have sent to the engine for this container.
        public var request: ContainerCreateRequest
        /// Files written with ``FakeInstanceRuntime/writeFile(containerID:path:contents:user:)``: path → contents.
        public var files: [String: String]
    }

    /// A call Berth made, in order.
    public enum Call: Sendable, Equatable {
        case ping
        case launch(instanceID: String, environment: String, hostPorts: [Int])
        case writeFile(containerID: String, path: String, user: String?)
        case destroy(containerID: String?, networkID: String?)
        case managedContainers
        case managedNetworks
        case watchEnds
    }

    /// The address errors name, as a Docker client names its socket.
    public nonisolated let address: String
    /// Host address service ports are published on.
    public nonisolated let publishAddress: String
    /// The hardening rules, used to record what would have been created.
    public nonisolated let blueprint: ContainerBlueprint
    /// The limit of each call while the engine is wedged; nil waits until cancelled.
    public nonisolated let callTimeout: Duration?

    public private(set) var mode: Mode = .up
    /// Every call so far, oldest first.
    public private(set) var calls: [Call] = []
    private var containersByID: [String: Container] = [:]
    private var networks: [String: String] = [:]  // network id → instance id
    private var missingImages: Set<String> = []
    private var foreignPorts: Set<Int> = []
    private var launchFailures: [any Error] = []
    private var launchesHang = false
    private var launchDelay: Duration = .zero
    private var watchers: [UUID: AsyncThrowingStream<ContainerEnd, any Error>.Continuation] = [:]

    /// Creates a fake engine that is up, holds every environment's image and has no containers.
    public init(
        address: String = "unix:///fake/docker.sock", publishAddress: String = "127.0.0.1", blueprint: ContainerBlueprint = ContainerBlueprint(),
        callTimeout: Duration? = nil
    ) {
        self.address = address
        self.publishAddress = publishAddress
        self.blueprint = blueprint
        self.callTimeout = callTimeout
    }

    // MARK: - What a test controls

    /// Takes the engine down, wedges it, or brings it back. Going down drops every event stream,
    /// as a closed socket does.
    public func setMode(_ mode: Mode) {
        self.mode = mode
        if mode == .down {
            let error = unreachable("events")
            for watcher in watchers.values { watcher.finish(throwing: error) }
            watchers.removeAll()
        }
    }

    /// Removes the image of environment `slug`: its next launches fail with ``LaunchFailure/imageMissing(_:)``.
    public func removeImage(of slug: String) {
        missingImages.insert(slug)
    }

    /// Puts the image of environment `slug` back.
    public func restoreImage(of slug: String) {
        missingImages.remove(slug)
    }

    /// Marks host ports as taken by something outside Berth, so a launch publishing them fails
    /// with ``LaunchFailure/portTaken(_:)``.
    public func occupyHostPorts(_ ports: [Int]) {
        foreignPorts.formUnion(ports)
    }

    /// Makes the next launch fail with `error` (thrown as it is; use ``LaunchFailure`` values to
    /// mimic the real runtime). Several calls queue several failures.
    public func failNextLaunch(_ error: any Error) {
        launchFailures.append(error)
    }

    /// While true, launches wait until their task is cancelled (then throw `CancellationError`),
    /// as a start on an engine that accepted the request and never answered.
    public func setLaunchesHang(_ hang: Bool) {
        launchesHang = hang
    }

    /// Makes every launch take `delay` before it answers.
    public func setLaunchDelay(_ delay: Duration) {
        launchDelay = delay
    }

    /// Ends the main process of `instanceID`'s running container with `code`, as when the
    /// process exits or the kernel kills it, and tells the event watchers. False when the
    /// instance has no running container.
    @discardableResult
    public func exit(instanceID: String, code: Int, oomKilled: Bool = false) -> Bool {
        guard let container = containersByID.values.first(where: { $0.instanceID == instanceID && $0.running }) else { return false }
        stop(container.id, code: code, oomKilled: oomKilled)
        return true
    }

    // MARK: - What a test reads

    /// The containers the engine holds (running or exited), by id.
    public var containers: [Container] {
        containersByID.values.sorted { $0.name < $1.name }
    }

    /// The container of `instanceID`, if the engine holds one.
    public func container(ofInstance instanceID: String) -> Container? {
        containersByID.values.first { $0.instanceID == instanceID }
    }

    /// The container with engine id `id`, if the engine holds it.
    public func container(id: String) -> Container? {
        containersByID[id]
    }

    /// True while container `id` exists and its main process runs.
    public func isRunning(_ id: String) -> Bool {
        containersByID[id]?.running ?? false
    }

    /// The number of per-instance networks the engine holds.
    public var networkCount: Int { networks.count }

    /// How many launches Berth asked for.
    public var launchCount: Int {
        calls.filter { if case .launch = $0 { true } else { false } }.count
    }

    /// The number of event streams currently open.
    public var watcherCount: Int { watchers.count }

    /// Returns once container `id` no longer runs (or never existed), or when the task is cancelled.
    public func waitUntilStopped(_ id: String) async {
        while isRunning(id) {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
        }
    }

    // MARK: - InstanceRuntime

    public func ping() async throws {
        calls.append(.ping)
        try await answer("ping", limit: callTimeout)
    }

    public func ping(timeout: Duration) async throws {
        calls.append(.ping)
        try await answer("ping", limit: callTimeout.map { min($0, timeout) } ?? timeout)
    }

    public func launch(instance: Instance, environment: EnvironmentSpec, hostPorts: [Int], mounts: [InstanceMount]) async throws -> RuntimePlacement {
        calls.append(.launch(instanceID: instance.id, environment: environment.slug, hostPorts: hostPorts))
        do {
            try await answer("create container", limit: callTimeout)
        } catch let error as DockerError {
            throw LaunchFailure.engine(error)
        }
        if launchDelay > .zero { try await Task.sleep(for: launchDelay) }
        if launchesHang {
            // Until cancelled: the caller's own limit is what ends it.
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        if !launchFailures.isEmpty { throw launchFailures.removeFirst() }
        guard environment.hasInstance, !missingImages.contains(environment.slug) else {
            throw LaunchFailure.imageMissing(environment.imageReference ?? environment.slug)
        }
        let name = "berth-\(instance.id)"
        if containersByID.values.contains(where: { $0.name == name }) {
            // The engine refuses a second container of the same name, and the real runtime
            // removes the one in the way before it reports the conflict.
            if let existing = containersByID.values.first(where: { $0.name == name }) { remove(existing.id) }
            throw LaunchFailure.engine(DockerError(status: 409, message: "Conflict. The container name \"/\(name)\" is already in use", operation: "create container"))
        }
        let published = Set(containersByID.values.filter(\.running).flatMap { $0.ports.map(\.hostPort) }).union(foreignPorts)
        if let taken = hostPorts.first(where: published.contains) {
            throw LaunchFailure.portTaken("Bind for \(publishAddress):\(taken) failed: port is already allocated")
        }
        let networkID = environment.berth.network == .none ? nil : Self.engineID()
        if let networkID { networks[networkID] = instance.id }
        var request = blueprint.request(
            instance: instance, environment: environment, hostPorts: hostPorts, publishAddress: publishAddress,
            networkName: networkID == nil ? nil : name, mounts: mounts
        )
        request.labels[BerthLabel.instance] = instance.id
        let ports = zip(environment.berth.ports, hostPorts).map { declared, hostPort in
            PublishedPort(containerPort: declared.port, hostPort: hostPort, hostAddress: publishAddress)
        }
        let container = Container(
            id: Self.engineID(), name: name, instanceID: instance.id, environment: environment.slug, networkID: networkID, running: true,
            exitCode: nil, oomKilled: false, ports: ports, request: request, files: [:]
        )
        containersByID[container.id] = container
        return RuntimePlacement(containerID: container.id, networkID: networkID)
    }

    public func writeFile(containerID: String, path: String, contents: String, user: String?) async throws {
        calls.append(.writeFile(containerID: containerID, path: path, user: user))
        do {
            try await answer("exec", limit: callTimeout)
        } catch let error as DockerError {
            throw LaunchFailure.engine(error)
        }
        guard var container = containersByID[containerID] else {
            throw LaunchFailure.engine(DockerError(status: 404, message: "No such container: \(containerID)", operation: "create exec"))
        }
        guard container.running else {
            throw LaunchFailure.engine(DockerError(status: 409, message: "Container \(containerID) is not running", operation: "create exec"))
        }
        container.files[path] = contents + "\n"
        containersByID[containerID] = container
    }

    public func destroy(containerID: String?, networkID: String?) async throws {
        calls.append(.destroy(containerID: containerID, networkID: networkID))
        try await answer("remove container", limit: callTimeout)
        if let containerID {
            // Docker accepts a name where it takes an id; the lifecycle removes by name when it lost the id.
            if let container = containersByID[containerID] ?? containersByID.values.first(where: { $0.name == containerID }) {
                remove(container.id)
            }
        }
        if let networkID { networks[networkID] = nil }
    }

    public func managedContainers() async throws -> [ManagedResource] {
        calls.append(.managedContainers)
        try await answer("list containers", limit: callTimeout)
        return containers.map { ManagedResource(id: $0.id, instanceID: $0.instanceID, running: $0.running) }
    }

    public func managedNetworks() async throws -> [ManagedResource] {
        calls.append(.managedNetworks)
        try await answer("list networks", limit: callTimeout)
        return networks.sorted { $0.key < $1.key }.map { ManagedResource(id: $0.key, instanceID: $0.value, running: false) }
    }

    public func watchExits(_ died: @escaping @Sendable (String, Int) async -> Void) async throws {
        try await watchEnds { end in await died(end.instanceID, end.exitCode) }
    }

    public func watchEnds(_ died: @escaping @Sendable (ContainerEnd) async -> Void) async throws {
        calls.append(.watchEnds)
        try await answer("events", limit: nil)
        let (stream, continuation) = AsyncThrowingStream<ContainerEnd, any Error>.makeStream()
        let id = UUID()
        watchers[id] = continuation
        defer { watchers[id] = nil }
        try await withTaskCancellationHandler {
            for try await end in stream { await died(end) }
        } onCancel: {
            continuation.finish()
        }
    }

    // MARK: - Internals

    /// Answers as the engine would in the current mode: at once when up, with an unreachable
    /// error when down, and not until the mode changes (or `limit` passes) when wedged.
    private func answer(_ operation: String, limit: Duration?) async throws {
        let started = ContinuousClock.now
        while mode == .wedged {
            if let limit, ContinuousClock.now - started >= limit {
                throw DockerError(status: 0, message: "\(address) did not answer within \(Self.text(limit))", operation: operation)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        if mode == .down { throw unreachable(operation) }
    }

    private func unreachable(_ operation: String) -> DockerError {
        DockerError(status: 0, message: "cannot connect to \(address): connection refused", operation: operation)
    }

    private func stop(_ id: String, code: Int, oomKilled: Bool) {
        guard var container = containersByID[id], container.running else { return }
        container.running = false
        container.exitCode = code
        container.oomKilled = oomKilled
        containersByID[id] = container
        let end = ContainerEnd(instanceID: container.instanceID, exitCode: code, oomKilled: oomKilled)
        for watcher in watchers.values { watcher.yield(end) }
    }

    private func remove(_ id: String) {
        // `docker rm -f` kills a running container first, which the engine reports as a die event.
        stop(id, code: 137, oomKilled: false)
        containersByID[id] = nil
    }

    private static func engineID() -> String {
        (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
    }

    /// A limit as the transport words it: `30 s`, `1.5 s` or `250 ms`.
    private static func text(_ limit: Duration) -> String {
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
