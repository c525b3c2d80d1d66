import BerthCore
import BerthMetrics
import BerthStore
import DockerEngine
import Foundation
import Logging

/// Policy settings the lifecycle enforces.
public struct LifecyclePolicy: Sendable {
    /// How owners are assigned.
    public var assignment: AssignmentMode
    /// Most active instances per owner.
    public var ownerCap: Int
    /// Most active instances overall.
    public var globalCap: Int
    /// Host ports to publish service ports from.
    public var portRange: ClosedRange<Int>
    /// Host name endpoints show.
    public var endpointHost: String
    /// Environments players may not start.
    public var disabledEnvironments: Set<String> = []
    /// The TTL of environments that do not declare one, nil for their own default.
    public var defaultTTLSeconds: Int?
    /// The most renewals any instance gets, nil for no cap beyond the environment's.
    public var renewalCap: Int?

    /// The TTL an instance of an environment with `lifetime` gets.
    public func ttlSeconds(_ lifetime: LifetimeSpec) -> Int {
        lifetime.ttlDeclared ? lifetime.ttlSeconds : (defaultTTLSeconds ?? lifetime.ttlSeconds)
    }

    /// The renewals an instance of an environment with `lifetime` gets.
    public func renewals(_ lifetime: LifetimeSpec) -> Int {
        min(lifetime.renewals, renewalCap ?? Int.max)
    }

    /// Creates a policy.
    public init(assignment: AssignmentMode, ownerCap: Int, globalCap: Int, portRange: ClosedRange<Int>, endpointHost: String) {
        self.assignment = assignment
        self.ownerCap = ownerCap
        self.globalCap = globalCap
        self.portRange = portRange
        self.endpointHost = endpointHost
    }

    /// The policy a server configuration describes.
    public init(_ configuration: BerthConfiguration) {
        self.init(
            assignment: configuration.assignment, ownerCap: configuration.ownerCap, globalCap: configuration.globalCap,
            portRange: configuration.portRange, endpointHost: configuration.endpointHost
        )
    }
}

/// What start-up reconciliation found and did.
public struct ReconcileReport: Sendable, Equatable {
    /// Instances still running and adopted.
    public var adopted = 0
    /// Instances marked failed or stopped because their work was half-done or their container vanished.
    public var closed = 0
    /// Labelled containers and networks removed because no active instance owns them.
    public var orphansRemoved = 0
    /// Orphans whose removal failed (logged; the next pass tries again).
    public var orphanRemovalsFailed = 0
}

/// The brain of Berth: requests, renews, resets, stops and reaps instances, enforcing the
/// assignment policy and caps. The intent is always written to the store before the engine is called.
public actor InstanceLifecycle {
    private let store: BerthDatabase
    private let runtime: any InstanceRuntime
    private let catalog: EnvironmentCatalog
    private var policy: LifecyclePolicy
    private var flagSecret: FlagSecret?
    private var labs: (any LabInstanceHooks)?
    private var workspaces: (any WorkspaceInstanceHooks)?
    private let logger: Logger
    private let clock: @Sendable () -> Date
    /// Where starts, start failures and start latency are counted.
    public nonisolated let metrics: BerthMetrics

    private var active: [String: Instance] = [:]
    private var busy: Set<String> = []
    private var portCursor: Int

    /// Creates a lifecycle; call ``reconcile()`` before serving requests.
    public init(
        store: BerthDatabase, runtime: any InstanceRuntime, catalog: EnvironmentCatalog, policy: LifecyclePolicy,
        logger: Logger = Logger(label: "berth.lifecycle"), clock: @escaping @Sendable () -> Date = { Date() },
        metrics: BerthMetrics = BerthMetrics()
    ) {
        self.metrics = metrics
        self.store = store
        self.runtime = runtime
        self.catalog = catalog
        self.policy = policy
        self.logger = logger
        self.clock = clock
        self.portCursor = policy.portRange.lowerBound
    }

    /// Runs labs' scripts when their instances start (install, `setup`) and stop (`cleanup`).
    public func useLabHooks(_ hooks: any LabInstanceHooks) {
        labs = hooks
    }

    /// Mounts owners' persistent workspaces into instances of environments that declare one.
    public func useWorkspaceHooks(_ hooks: any WorkspaceInstanceHooks) {
        workspaces = hooks
    }

    /// Applies new settings; instances already running keep their expiry and renewals.
    public func updatePolicy(_ newPolicy: LifecyclePolicy) {
        policy = newPolicy
        if !policy.portRange.contains(portCursor) { portCursor = policy.portRange.lowerBound }
    }

    /// The policy in force.
    public var currentPolicy: LifecyclePolicy { policy }

    /// Uses `secret` to write each instance's own flag into environments with `berth.flag`.
    public func useFlagSecret(_ secret: FlagSecret) {
        flagSecret = secret
    }

    // MARK: - Queries

    /// Number of active instances.
    public var activeCount: Int { active.count }

    /// The active instance with this id, without an access check (for the terminal hub).
    public func activeInstance(_ id: String) -> Instance? { active[id] }

    /// Every active instance, from memory, without an access check (for background sweeps).
    public func activeInstances() -> [Instance] { Array(active.values) }

    /// How many active instances are in each active state (every active state present, 0 included).
    public func activeCountsByState() -> [InstanceState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: InstanceState.allCases.filter(\.isActive).map { ($0, 0) })
        for instance in active.values { counts[instance.state, default: 0] += 1 }
        return counts
    }

    /// Stops an instance on Berth's own behalf (for example when its terminal's shell exits and
    /// the environment says so). Does nothing when it is not active or busy.
    public func end(_ id: String, reason: String) async {
        guard var instance = active[id], !busy.contains(id) else { return }
        busy.insert(id)
        defer { busy.remove(id) }
        do {
            try await finish(&instance, state: .stopped, reason: reason, user: nil)
        } catch {
            logger.warning("stopping failed; the reaper retries", metadata: ["instance.id": "\(id)", "error": "\(error)"])
        }
    }

    /// The instance, if `user` may see it; otherwise `instance_not_found`.
    public func instance(_ id: String, for user: User) async throws -> Instance {
        guard Identifier.isWellFormed(id), let instance = try await store.instances.instance(id: id) else { throw Self.notFound(id) }
        guard try await canAccess(instance, user) else { throw Self.notFound(id) }
        return instance
    }

    /// The instances `user` may see (all of them for an admin unless `ownOnly`), newest first.
    /// `ownOnly` gives the caller's own and their team's, as personal pages show them.
    public func instances(for user: User, activeOnly: Bool = false, ownOnly: Bool = false) async throws -> [Instance] {
        if user.role == .admin && !ownOnly { return try await store.instances.instances(InstanceQuery(activeOnly: activeOnly)) }
        var result = try await store.instances.instances(InstanceQuery(activeOnly: activeOnly, owner: Owner(kind: .user, id: user.id)))
        if let team = try await store.teams.team(ofUser: user.id) {
            result += try await store.instances.instances(InstanceQuery(activeOnly: activeOnly, owner: Owner(kind: .team, id: team.id)))
        }
        return result.sorted { $0.createdAt > $1.createdAt }
    }

    // MARK: - Verbs

    /// Starts a new instance of `slug` for `user` and returns it once it is running.
    public func request(environment slug: String, by user: User) async throws -> Instance {
        guard let environment = await catalog.environment(slug) else {
            throw BerthError(.environmentNotFound, "No environment is called '\(slug)'; GET /api/v1/environments lists them.")
        }
        if policy.disabledEnvironments.contains(slug) && user.role != .admin {
            throw BerthError(.environmentDisabled, "'\(slug)' is switched off by the organisers for now.")
        }
        guard environment.hasInstance else {
            throw BerthError(.noInstance, "'\(slug)' has no instance to start: it is a challenge with a description, files and a flag only.")
        }
        let owner = try await owner(for: user)
        let now = clock()
        let lifetime = environment.berth.lifetime
        let maxExpiry = now.addingTimeInterval(TimeInterval(lifetime.maxLifetimeSeconds))
        var instance = Instance(
            id: Identifier.make("inst"), environment: slug, owner: owner, requestedBy: user.id, state: .requested,
            createdAt: now, updatedAt: now, expiresAt: min(now.addingTimeInterval(TimeInterval(policy.ttlSeconds(lifetime))), maxExpiry),
            maxExpiresAt: maxExpiry, renewalsLeft: policy.renewals(lifetime)
        )
        // The caps are counted and the instance recorded in one transaction under the admission
        // lock, so they hold for every server sharing the database, not only this one.
        let policy = policy
        try await store.instances.admit(instance) { counts in
            if policy.assignment != .unlimited, let existing = counts.instanceOfEnvironment {
                return BerthError(.instanceExists, "\(owner.kind == .team ? "Your team" : "You") already \(owner.kind == .team ? "has" : "have") an instance of '\(slug)': \(existing). Stop or reset it instead.")
            }
            guard counts.owner < policy.ownerCap else {
                return BerthError(.ownerCapReached, "\(owner.kind == .team ? "Your team has" : "You have") \(counts.owner) active instances, the most allowed; stop one first.")
            }
            guard counts.global < policy.globalCap else {
                return BerthError(.globalCapReached, "Berth is running its maximum of \(policy.globalCap) instances; try again in a few minutes.")
            }
            return nil
        }
        active[instance.id] = instance
        busy.insert(instance.id)
        defer { busy.remove(instance.id) }
        await record("instance.requested", instance, user: user.id, detail: slug)
        return try await launch(&instance, environment: environment, user: user.id)
    }

    /// Extends the expiry to now + TTL (never past the maximum lifetime), at most `renewals` times.
    public func renew(_ id: String, by user: User) async throws -> Instance {
        var instance = try await claim(id, for: user)
        defer { busy.remove(id) }
        guard instance.state == .running else {
            throw BerthError(.instanceNotRunning, "Instance \(id) is \(instance.state.rawValue); only a running instance can be renewed.")
        }
        guard instance.renewalsLeft > 0 else {
            throw BerthError(.renewalLimitReached, "Instance \(id) has no renewals left; it expires at \(Self.iso(instance.expiresAt)).")
        }
        guard let environment = await catalog.environment(instance.environment) else { throw Self.environmentGone(instance.environment) }
        let now = clock()
        let ttl = policy.ttlSeconds(environment.berth.lifetime)
        guard instance.expiresAt < instance.maxExpiresAt else { throw Self.atMaximumLifetime(instance) }
        let opens = Self.renewalOpens(expiresAt: instance.expiresAt, ttlSeconds: ttl)
        guard now >= opens else {
            throw BerthError(
                .renewTooEarly,
                "Instance \(id) still has more than half of its \(Self.minutes(ttl)) left; renew it after \(Self.iso(opens)), when a renewal adds time."
            )
        }
        let extended = min(now.addingTimeInterval(TimeInterval(ttl)), instance.maxExpiresAt)
        guard extended > instance.expiresAt else { throw Self.atMaximumLifetime(instance) }
        instance.expiresAt = extended
        instance.renewalsLeft -= 1
        try await save(&instance, "instance.renewed", user: user.id, detail: "until \(Self.iso(extended))")
        return instance
    }

    /// When a renewal of `instance` opens (less than half of the TTL left, so that a renewal adds
    /// time), or nil when it cannot be renewed at all: not running, no renewals left, at its
    /// maximum lifetime, or its environment left the catalog.
    public func renewableAt(_ instance: Instance) async -> Date? {
        guard instance.state == .running, instance.renewalsLeft > 0, instance.expiresAt < instance.maxExpiresAt,
              let environment = await catalog.environment(instance.environment)
        else { return nil }
        return Self.renewalOpens(expiresAt: instance.expiresAt, ttlSeconds: policy.ttlSeconds(environment.berth.lifetime))
    }

    /// The renew rule: a renewal is allowed once at most half of the TTL remains.
    public static func renewalOpens(expiresAt: Date, ttlSeconds: Int) -> Date {
        expiresAt.addingTimeInterval(-TimeInterval(ttlSeconds) / 2)
    }

    /// Replaces the instance's container with a fresh one; the id, expiry and renewals stay, and so
    /// does the owner's workspace unless `cleanWorkspace` asks for it to be emptied.
    public func reset(_ id: String, by user: User, cleanWorkspace: Bool = false) async throws -> Instance {
        var instance = try await claim(id, for: user)
        defer { busy.remove(id) }
        guard instance.state == .running || instance.state == .starting else {
            throw BerthError(.instanceNotRunning, "Instance \(id) is \(instance.state.rawValue); only a running instance can be reset.")
        }
        guard let environment = await catalog.environment(instance.environment) else { throw Self.environmentGone(instance.environment) }
        // The state stays as it is until the old container is gone: if the engine fails to remove
        // it, the instance (and the player's work in it) is left exactly as it was, and a restart
        // of Berth in between adopts it instead of failing it.
        await record("instance.reset", instance, user: user.id, detail: cleanWorkspace ? "clean workspace" : "")
        do {
            try await destroyResources(of: &instance)
            await workspaces?.release(instance)
        } catch {
            let reason = (error as? DockerError)?.message ?? "\(error)"
            await record("instance.reset_failed", instance, user: user.id, detail: reason)
            logger.warning("reset failed; the instance is unchanged", metadata: ["instance.id": "\(id)", "user.id": "\(user.id)", "error": "\(error)"])
            let unchanged = "Instance \(id) was not reset: the engine could not remove its old container (\(reason)). It is unchanged and still \(instance.state.rawValue); try again in a moment."
            if let docker = error as? DockerError, !docker.isUnreachable {
                throw BerthError(.instanceResetFailed, unchanged)
            }
            throw BerthError(.engineUnavailable, unchanged)
        }
        do {
            if cleanWorkspace, let workspaces, environment.berth.workspace != nil {
                try await workspaces.clean(instance, environment: environment)
                await record("workspace.cleaned", instance, user: user.id, detail: "reset with a clean workspace")
            }
            return try await launch(&instance, environment: environment, user: user.id)
        } catch let failure as BerthError {
            // The old container is gone and the new one did not start: the instance has ended.
            throw BerthError(
                failure.code, "\(failure.message) Instance \(id) was reset but could not start again, so it has ended (failed); request a new one."
            )
        }
    }

    /// Stops an instance: the owner's stop, or an admin's kill. Returns it in state `stopped`.
    public func stop(_ id: String, by user: User) async throws -> Instance {
        var instance = try await claim(id, for: user)
        defer { busy.remove(id) }
        let ownsIt = try await isOwner(instance, user)
        let killed = user.role == .admin && !ownsIt
        try await finish(&instance, state: .stopped, reason: killed ? EndReason.stoppedByOrganiser : EndReason.stoppedByOwner, user: user.id)
        return instance
    }

    /// Kills every active instance (admin only) and returns how many were stopped.
    public func purge(by admin: User) async throws -> Int {
        guard admin.role == .admin else { throw BerthError(.forbidden, "Only an admin can purge instances.") }
        var count = 0
        for id in active.keys.sorted() where !busy.contains(id) {
            guard var instance = active[id] else { continue }
            busy.insert(id)
            do {
                try await finish(&instance, state: .stopped, reason: EndReason.stoppedByOrganiser, user: admin.id)
                count += 1
            } catch {
                logger.error("purge failed", metadata: ["instance.id": "\(id)", "user.id": "\(admin.id)", "error": "\(error)"])
            }
            busy.remove(id)
        }
        return count
    }

    /// Removes every running instance whose expiry has passed, and retries stops that failed
    /// earlier. Returns how many instances it ended.
    @discardableResult
    public func reapExpired() async -> Int {
        let now = clock()
        var ended = 0
        for (id, candidate) in active where !busy.contains(id) {
            let expired = candidate.expiresAt <= now && (candidate.state == .running || candidate.state == .starting)
            guard expired || candidate.state == .stopping else { continue }
            busy.insert(id)
            var instance = candidate
            do {
                if expired {
                    try await finish(&instance, state: .expired, reason: EndReason.expired, user: nil)
                } else {
                    try await finish(&instance, state: .stopped, reason: instance.reason ?? "stopped", user: nil)
                }
                ended += 1
            } catch {
                logger.warning("reaping failed; will retry", metadata: ["instance.id": "\(id)", "error": "\(error)"])
            }
            busy.remove(id)
        }
        return ended
    }

    /// Called when a managed container's main process ends outside Berth's own stops; `oomKilled`
    /// is the engine's word that the kernel killed it for memory.
    public func containerExited(instanceID: String, exitCode: Int, oomKilled: Bool = false) async {
        guard var instance = active[instanceID], instance.state == .running, !busy.contains(instanceID) else { return }
        busy.insert(instanceID)
        defer { busy.remove(instanceID) }
        let memory = await catalog.environment(instance.environment)?.berth.resources.memoryBytes
        let reason = oomKilled ? EndReason.outOfMemory(limitBytes: memory) : EndReason.exited(code: exitCode)
        do {
            try await finish(&instance, state: .failed, reason: reason, user: nil)
        } catch {
            logger.warning("cleanup after exit failed", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
        }
    }

    /// Brings store and engine into agreement after a start or crash: adopts running instances,
    /// fails half-done ones, closes those whose container vanished, and removes labelled orphans.
    @discardableResult
    public func reconcile() async throws -> ReconcileReport {
        var report = ReconcileReport()
        let stored = try await store.instances.instances(InstanceQuery(activeOnly: true, limit: 1_000_000))
        let containers = try await runtime.managedContainers()
        let networks = try await runtime.managedNetworks()
        var keep: Set<String> = []
        for var instance in stored {
            let container = containers.first { $0.instanceID == instance.id }
            if instance.state == .running, let container, container.running {
                active[instance.id] = instance
                keep.insert(instance.id)
                report.adopted += 1
                // Instances started before port leases were kept in the store lease theirs now.
                let conflicting = try await store.instances.holdPorts(instance.endpoints.map(\.hostPort), for: instance.id, at: clock())
                if !conflicting.isEmpty {
                    logger.warning("adopted instance's host ports are leased to another instance", metadata: [
                        "instance.id": "\(instance.id)", "ports": "\(conflicting)",
                    ])
                }
                continue
            }
            let (state, reason): (InstanceState, String) = switch instance.state {
            case .requested, .starting: (.failed, "interrupted by a restart of Berth before it was running")
            case .stopping: (.stopped, instance.reason ?? "stopped")
            default: container == nil ? (.stopped, "its container vanished") : (.failed, "its container was no longer running")
            }
            instance.state = state
            instance.reason = reason
            instance.updatedAt = clock()
            try await store.instances.updateInstance(instance)
            await releasePorts(of: instance.id)
            await record("instance.reconciled", instance, user: nil, detail: reason)
            report.closed += 1
        }
        await removeOrphans(containers: containers, networks: networks, keep: { keep.contains($0) }, into: &report)
        if let workspaces {
            // After the orphans are gone, so no removed container still holds a workspace's mount.
            var adopted: [(Instance, EnvironmentSpec?)] = []
            for instance in active.values { adopted.append((instance, await catalog.environment(instance.environment))) }
            await workspaces.adopt(adopted)
        }
        logger.info("reconciled store and engine", metadata: [
            "adopted": "\(report.adopted)", "closed": "\(report.closed)", "orphans.removed": "\(report.orphansRemoved)",
            "orphans.failed": "\(report.orphanRemovalsFailed)",
        ])
        return report
    }

    /// Reconciliation while serving, every few seconds (``ReconcileLoop``): ends running
    /// instances whose container died or vanished without an event reaching Berth (while the
    /// engine's event stream was down, say), and removes labelled containers and networks that no
    /// active instance owns. Instances changing state right now are left to whoever changes them.
    @discardableResult
    public func sweep() async throws -> ReconcileReport {
        var report = ReconcileReport()
        let containers = try await runtime.managedContainers()
        let networks = try await runtime.managedNetworks()
        for (id, candidate) in active where candidate.state == .running && !busy.contains(id) {
            let container = containers.first { $0.instanceID == id }
            if let container, container.running { continue }
            // The engine was asked while other work went on: check again now.
            guard var instance = active[id], instance.state == .running, !busy.contains(id) else { continue }
            busy.insert(id)
            let reason = container == nil ? "its container vanished" : "its container was no longer running"
            do {
                try await finish(&instance, state: .failed, reason: reason, user: nil)
                report.closed += 1
            } catch {
                logger.warning("ending an instance whose container died failed; will retry", metadata: ["instance.id": "\(id)", "error": "\(error)"])
            }
            busy.remove(id)
        }
        // A container is only created for an instance already in `active` (or busy), so one whose
        // instance is in neither now belongs to no live instance.
        await removeOrphans(containers: containers, networks: networks, keep: { self.active[$0] != nil || self.busy.contains($0) }, into: &report)
        if report.closed > 0 || report.orphansRemoved > 0 || report.orphanRemovalsFailed > 0 {
            logger.notice("reconciled store and engine", metadata: [
                "closed": "\(report.closed)", "orphans.removed": "\(report.orphansRemoved)", "orphans.failed": "\(report.orphanRemovalsFailed)",
            ])
        }
        return report
    }

    /// Removes labelled containers and networks whose instance `keep` rejects. A removal that
    /// fails is logged and counted, and the next pass tries again: it never stops the others.
    private func removeOrphans(
        containers: [ManagedResource], networks: [ManagedResource], keep: (String) -> Bool, into report: inout ReconcileReport
    ) async {
        for container in containers where !keep(container.instanceID) {
            do {
                try await runtime.destroy(containerID: container.id, networkID: nil)
                report.orphansRemoved += 1
            } catch {
                report.orphanRemovalsFailed += 1
                logger.warning("orphan removal failed; retrying next pass", metadata: [
                    "instance.id": "\(container.instanceID)", "container.id": "\(container.id)", "error": "\(error)",
                ])
            }
        }
        for network in networks where !keep(network.instanceID) {
            do {
                try await runtime.destroy(containerID: nil, networkID: network.id)
                report.orphansRemoved += 1
            } catch {
                report.orphanRemovalsFailed += 1
                logger.warning("orphan removal failed; retrying next pass", metadata: [
                    "instance.id": "\(network.instanceID)", "network.id": "\(network.id)", "error": "\(error)",
                ])
            }
        }
    }

    // MARK: - Internals

    private func launch(_ instance: inout Instance, environment: EnvironmentSpec, user: String) async throws -> Instance {
        instance.state = .starting
        instance.reason = nil
        try await save(&instance, "instance.starting", user: user)
        let started = ContinuousClock.now
        var attempt = 0
        var mounts: [InstanceMount] = []
        while true {
            attempt += 1
            do {
                let ports = try await leasePorts(environment.berth.ports.count, for: instance.id)
                instance.endpoints = zip(environment.berth.ports, ports).map { declared, hostPort in
                    Endpoint(
                        port: declared.port, protocol: declared.protocol, host: policy.endpointHost, hostPort: hostPort,
                        url: declared.protocol == .http ? "http://\(Self.urlHost(policy.endpointHost)):\(hostPort)/" : nil
                    )
                }
                active[instance.id] = instance
                if attempt == 1, let workspaces, environment.berth.workspace != nil {
                    mounts = try await workspaces.attach(instance, environment: environment).map { [$0] } ?? []
                }
                let placement = try await runtime.launch(instance: instance, environment: environment, hostPorts: ports, mounts: mounts)
                if let flag = environment.berth.flag, let secret = flagSecret {
                    do {
                        try await runtime.writeFile(
                            containerID: placement.containerID, path: flag.path,
                            contents: flag.flag(instanceID: instance.id, secret: secret), user: environment.berth.terminal.user
                        )
                    } catch {
                        try? await runtime.destroy(containerID: placement.containerID, networkID: placement.networkID)
                        throw error
                    }
                }
                if let labs, environment.lab != nil {
                    // The learner is told the instance is ready only once the lab's setup passed.
                    do {
                        try await labs.prepare(instance, containerID: placement.containerID, environment: environment)
                    } catch {
                        try? await runtime.destroy(containerID: placement.containerID, networkID: placement.networkID)
                        guard let failure = error as? LabSetupFailure else { throw error }
                        await record("lab.setup_failed", instance, user: user, detail: failure.operatorDetail)
                        throw BerthError(.instanceStartFailed, LabSetupFailure.learnerMessage)
                    }
                }
                instance.containerID = placement.containerID
                instance.networkID = placement.networkID
                instance.state = .running
                try await save(&instance, "instance.running", user: user)
                metrics.instanceStarted(environment: environment.slug, after: ContinuousClock.now - started)
                logger.info("instance running", metadata: ["instance.id": "\(instance.id)", "user.id": "\(user)", "environment": "\(environment.slug)"])
                return instance
            } catch LaunchFailure.portTaken(let message) where attempt < 3 {
                logger.notice("host port taken, retrying", metadata: ["instance.id": "\(instance.id)", "error": "\(message)"])
                continue
            } catch {
                let failure = Self.launchError(error, environment: environment)
                await workspaces?.release(instance)
                metrics.instanceStartFailed(environment: environment.slug, code: failure.code.rawValue)
                instance.state = .failed
                instance.reason = failure.message
                active[instance.id] = nil
                try? await save(&instance, "instance.failed", user: user, detail: failure.message)
                logger.error("instance failed to start", metadata: ["instance.id": "\(instance.id)", "user.id": "\(user)", "error": "\(error)"])
                throw failure
            }
        }
    }

    private func finish(_ instance: inout Instance, state: InstanceState, reason: String, user: String?) async throws {
        if instance.state != .stopping {
            instance.state = .stopping
            instance.reason = reason
            try await save(&instance, "instance.stopping", user: user, detail: reason)
        }
        if let labs, instance.containerID != nil, let environment = await catalog.environment(instance.environment), environment.lab != nil {
            await labs.cleanup(instance, environment: environment)
        }
        do {
            try await destroyResources(of: &instance)
        } catch {
            throw BerthError(.engineUnavailable, "The engine could not remove instance \(instance.id): \(error). Berth retries automatically.")
        }
        await workspaces?.release(instance)
        do {
            try await store.sharedState.revokeShares(instanceID: instance.id)
        } catch {
            // The links open nothing once the instance has ended; only their rows stay behind.
            logger.warning("share links not revoked", metadata: ["instance.id": "\(instance.id)", "error": "\(error)"])
        }
        instance.state = state
        instance.reason = reason
        active[instance.id] = nil
        try await save(&instance, "instance.\(state.rawValue)", user: user, detail: reason)
        logger.info("instance ended", metadata: ["instance.id": "\(instance.id)", "user.id": "\(user ?? "-")", "state": "\(state.rawValue)"])
    }

    private func destroyResources(of instance: inout Instance) async throws {
        try await runtime.destroy(containerID: instance.containerID ?? "berth-\(instance.id)", networkID: instance.networkID)
        instance.containerID = nil
        instance.networkID = nil
    }

    private func save(_ instance: inout Instance, _ event: String, user: String?, detail: String = "") async throws {
        instance.updatedAt = clock()
        if instance.state.isActive { active[instance.id] = instance }
        try await store.instances.updateInstance(instance)
        if !instance.state.isActive { await releasePorts(of: instance.id) }
        await record(event, instance, user: user, detail: detail)
    }

    /// Gives an ended instance's host ports back; a failure is logged, and the lease stays until
    /// the next reconciliation gives it back.
    private func releasePorts(of instanceID: String) async {
        do {
            try await store.instances.releasePorts(of: instanceID)
        } catch {
            logger.warning("host ports not released", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
        }
    }

    private func record(_ kind: String, _ instance: Instance, user: String?, detail: String) async {
        do {
            try await store.instances.appendEvent(EventRecord(time: clock(), kind: kind, instanceID: instance.id, userID: user, detail: detail))
        } catch {
            logger.error("event not recorded", metadata: ["instance.id": "\(instance.id)", "event": "\(kind)", "error": "\(error)"])
        }
    }

    /// Loads an active instance the user may act on and marks it busy; the caller must un-mark it.
    private func claim(_ id: String, for user: User) async throws -> Instance {
        guard Identifier.isWellFormed(id) else { throw Self.notFound(id) }
        guard let instance = active[id] else {
            let stored = try await self.instance(id, for: user)
            throw BerthError(.instanceNotActive, "Instance \(id) is \(stored.state.rawValue); request a new one.")
        }
        guard try await canAccess(instance, user) else { throw Self.notFound(id) }
        guard !busy.contains(id) else {
            throw BerthError(.instanceBusy, "Instance \(id) is changing state right now; try again in a moment.")
        }
        busy.insert(id)
        return active[id] ?? instance
    }

    private func owner(for user: User) async throws -> Owner {
        guard policy.assignment == .team else { return Owner(kind: .user, id: user.id) }
        guard let team = try await store.teams.team(ofUser: user.id) else {
            // An organiser tests environments without joining a team.
            if user.role == .admin { return Owner(kind: .user, id: user.id) }
            throw BerthError(.teamRequired, "Instances are assigned per team; join a team first.")
        }
        return Owner(kind: .team, id: team.id)
    }

    /// True when `user` owns the instance, directly or through their team.
    public func isOwner(_ instance: Instance, _ user: User) async throws -> Bool {
        switch instance.owner.kind {
        case .user: return instance.owner.id == user.id
        case .team: return try await store.teams.team(ofUser: user.id)?.id == instance.owner.id
        }
    }

    private func canAccess(_ instance: Instance, _ user: User) async throws -> Bool {
        if user.role == .admin { return true }
        return try await isOwner(instance, user)
    }

    /// Leases host ports in the store, so no two instances, of this server or another one on
    /// the same database, publish the same port; the cursor spreads them over the range.
    private func leasePorts(_ count: Int, for instanceID: String) async throws -> [Int] {
        guard count > 0 else { return [] }
        let (ports, next) = try await store.instances.leasePorts(count, in: policy.portRange, from: portCursor, for: instanceID, at: clock())
        portCursor = next
        guard ports.count == count else {
            try await store.instances.releasePorts(of: instanceID)
            throw BerthError(.portsExhausted, "Every host port of \(policy.portRange.lowerBound)-\(policy.portRange.upperBound) is in use; try again when an instance has stopped.")
        }
        return ports
    }

    private static func launchError(_ error: any Error, environment: EnvironmentSpec) -> BerthError {
        switch error {
        case LaunchFailure.imageMissing(let image) where !environment.buildsFromFolder:
            return BerthError(.imageNotFound, "The image \(image) of '\(environment.slug)' is not on the engine, and Berth never pulls; an admin loads it there (docker pull or docker load).")
        case LaunchFailure.imageMissing(let image):
            return BerthError(.imageNotBuilt, "The image \(image) of '\(environment.slug)' is not built yet; an admin runs `berth env build`.")
        case LaunchFailure.portTaken(let message):
            return BerthError(.portsExhausted, "No free host port could be published: \(message)")
        case LaunchFailure.engine(let docker) where docker.isUnreachable:
            return BerthError(.engineUnavailable, "The container engine cannot be reached: \(docker.message)")
        case LaunchFailure.engine(let docker):
            return BerthError(.instanceStartFailed, "The engine refused to start the instance: \(docker.message)")
        case let berth as BerthError:
            return berth
        default:
            return BerthError(.instanceStartFailed, "The instance could not start: \(error)")
        }
    }

    private static func notFound(_ id: String) -> BerthError {
        BerthError(.instanceNotFound, "No instance '\(id)' is visible to you.")
    }

    private static func atMaximumLifetime(_ instance: Instance) -> BerthError {
        BerthError(.maxLifetimeReached, "Instance \(instance.id) already runs until its maximum lifetime, \(iso(instance.maxExpiresAt)).")
    }

    private static func environmentGone(_ slug: String) -> BerthError {
        BerthError(.environmentRemoved, "Environment '\(slug)' is no longer in the catalog; stop this instance instead.")
    }

    static func urlHost(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    static func minutes(_ seconds: Int) -> String {
        seconds % 60 == 0 && seconds >= 60 ? "\(seconds / 60) minutes" : "\(seconds) seconds"
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

/// Why an instance ended, in the words a player reads on the environment and terminal pages:
/// what happened and what to do next, never engine jargon such as exit codes 137 or admin names.
public enum EndReason {
    /// The owner pressed Stop.
    public static let stoppedByOwner = "stopped by its owner; press Start for a fresh one"
    /// An admin stopped or purged it.
    public static let stoppedByOrganiser = "stopped by an organiser; press Start for a fresh one"
    /// Its time ran out.
    public static let expired = "its time ran out; press Start for a fresh one"

    /// The kernel killed the container for memory (the engine's `OOMKilled`).
    public static func outOfMemory(limitBytes: Int64?) -> String {
        let limit = limitBytes.map { " (limit \(mebibytes($0)))" } ?? ""
        return "your environment ran out of memory\(limit); press Start for a fresh one"
    }

    /// The container's main process ended on its own.
    public static func exited(code: Int) -> String {
        switch code {
        case 0: "your environment's main program finished; press Start for a fresh one"
        case 137: "your environment was killed (signal 9); press Start for a fresh one"
        default: "your environment's main program stopped with an error (exit code \(code)); press Start for a fresh one"
        }
    }

    static func mebibytes(_ bytes: Int64) -> String {
        bytes % (1 << 30) == 0 && bytes >= (1 << 30) ? "\(bytes >> 30) GiB" : "\(bytes >> 20) MiB"
    }
}
