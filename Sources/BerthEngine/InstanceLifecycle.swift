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

    /// This server among the replicas sharing the database: the holder of its claims.
    public nonisolated let replica: ReplicaIdentity
    /// Instances whose claim this replica holds right now; the claim itself is a row of the store
    /// (``InstanceRepository/claim(_:purpose:terms:)``), which is what other replicas respect.
    private var busy: Set<String> = []
    /// Where the next host-port scan starts; only a hint, the leases are in the store.
    private var portCursor: Int

    /// How long a claim lasts unless renewed; the expiry reaper renews this replica's claims on
    /// every pass, and a replica whose heartbeat stops loses them after
    /// ``ReplicaLiveness/deadAfterSeconds`` anyway.
    public static let claimLeaseSeconds = 15.0

    /// Creates a lifecycle; call ``reconcile()`` before serving requests.
    public init(
        store: BerthDatabase, runtime: any InstanceRuntime, catalog: EnvironmentCatalog, policy: LifecyclePolicy,
        logger: Logger = Logger(label: "berth.lifecycle"), clock: @escaping @Sendable () -> Date = { Date() },
        metrics: BerthMetrics = BerthMetrics(), replica: ReplicaIdentity = ReplicaIdentity(internalURL: "http://127.0.0.1")
    ) {
        self.replica = replica
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

    /// Number of active instances, of every replica.
    public func activeCount() async throws -> Int {
        try await store.instances.activeCountsByState().values.reduce(0, +)
    }

    /// The active instance with this id, whichever replica started it, without an access check
    /// (for the terminal hub).
    public func activeInstance(_ id: String) async throws -> Instance? {
        guard let instance = try await store.instances.instance(id: id), instance.state.isActive else { return nil }
        return instance
    }

    /// Every active instance, of every replica, without an access check (for background sweeps).
    public func activeInstances() async throws -> [Instance] {
        try await store.instances.instances(InstanceQuery(activeOnly: true, limit: 1_000_000))
    }

    /// How many active instances are in each active state (every active state present, 0 included).
    public func activeCountsByState() async throws -> [InstanceState: Int] {
        try await store.instances.activeCountsByState()
    }

    /// Stops an instance on Berth's own behalf (for example when its terminal's shell exits and
    /// the environment says so). Does nothing when it is not active or another replica or
    /// request holds its claim.
    public func end(_ id: String, reason: String) async {
        do {
            try await withActiveClaim(id, purpose: "stop") { instance in
                try await finish(&instance, state: .stopped, reason: reason, user: nil)
            }
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
        try await store.instances.admit(instance, claim: claimTerms(now)) { counts in
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
        // Admitted with this replica's claim: it is released once the start succeeded or failed.
        busy.insert(instance.id)
        await record("instance.requested", instance, user: user.id, detail: slug)
        do {
            let running = try await launch(&instance, environment: environment, user: user.id)
            await relinquish(instance.id)
            return running
        } catch {
            await relinquish(instance.id)
            throw error
        }
    }

    /// Extends the expiry to now + TTL (never past the maximum lifetime), at most `renewals` times.
    public func renew(_ id: String, by user: User) async throws -> Instance {
        try await withClaim(id, for: user, purpose: "renew") { instance in try await renew(&instance, by: user) }
    }

    private func renew(_ instance: inout Instance, by user: User) async throws -> Instance {
        let id = instance.id
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
        try await withClaim(id, for: user, purpose: "reset") { instance in
            try await reset(&instance, by: user, cleanWorkspace: cleanWorkspace)
        }
    }

    private func reset(_ instance: inout Instance, by user: User, cleanWorkspace: Bool) async throws -> Instance {
        let id = instance.id
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
        try await withClaim(id, for: user, purpose: "stop") { instance in
            let ownsIt = try await isOwner(instance, user)
            let killed = user.role == .admin && !ownsIt
            try await finish(&instance, state: .stopped, reason: killed ? EndReason.stoppedByOrganiser : EndReason.stoppedByOwner, user: user.id)
            return instance
        }
    }

    /// Kills every active instance (admin only) and returns how many were stopped.
    public func purge(by admin: User) async throws -> Int {
        guard admin.role == .admin else { throw BerthError(.forbidden, "Only an admin can purge instances.") }
        var count = 0
        for id in try await activeInstances().map(\.id).sorted() {
            do {
                let stopped = try await withActiveClaim(id, purpose: "stop") { instance in
                    try await finish(&instance, state: .stopped, reason: EndReason.stoppedByOrganiser, user: admin.id)
                }
                if stopped { count += 1 }
            } catch {
                logger.error("purge failed", metadata: ["instance.id": "\(id)", "user.id": "\(admin.id)", "error": "\(error)"])
            }
        }
        return count
    }

    /// Removes every running instance whose expiry has passed, and retries stops that failed
    /// earlier, of any replica: each due instance is claimed by exactly one replica
    /// (``InstanceRepository/claimDue(limit:terms:)``). Renews this replica's claims first.
    /// Returns how many instances it ended.
    @discardableResult
    public func reapExpired() async -> Int {
        let now = clock()
        let due: [String]
        do {
            try await store.instances.renewClaims(holder: replica.id, until: now.addingTimeInterval(Self.claimLeaseSeconds))
            due = try await store.instances.claimDue(limit: 100, terms: claimTerms(now))
        } catch {
            logger.warning("reaping failed; will retry", metadata: ["error": "\(error)"])
            return 0
        }
        var ended = 0
        for id in due {
            busy.insert(id)
            do {
                if var instance = try await store.instances.instance(id: id) {
                    let expired = instance.expiresAt <= now && (instance.state == .running || instance.state == .starting)
                    if expired {
                        try await finish(&instance, state: .expired, reason: EndReason.expired, user: nil)
                        ended += 1
                    } else if instance.state == .stopping {
                        // An end cut short (a shutdown, a crash): an expiry still ends as expired.
                        let end: InstanceState = instance.reason == EndReason.expired ? .expired : .stopped
                        try await finish(&instance, state: end, reason: instance.reason ?? "stopped", user: nil)
                        ended += 1
                    }
                }
            } catch {
                logger.warning("reaping failed; will retry", metadata: ["instance.id": "\(id)", "error": "\(error)"])
            }
            await relinquish(id)
        }
        return ended
    }

    /// Called when a managed container's main process ends outside Berth's own stops; `oomKilled`
    /// is the engine's word that the kernel killed it for memory.
    /// Every replica watching the engine hears the exit; the one that claims the instance acts.
    /// An end of another container than the instance's current one (the one a reset replaced,
    /// whose event came late) is ignored.
    public func containerExited(instanceID: String, exitCode: Int, oomKilled: Bool = false, containerID: String? = nil, reason: String? = nil) async {
        func current(_ instance: Instance?) -> Bool {
            guard let instance, instance.state == .running else { return false }
            return containerID == nil || instance.containerID == containerID
        }
        do {
            guard current(try await activeInstance(instanceID)) else { return }
            try await withActiveClaim(instanceID, purpose: "exited") { instance in
                guard current(instance) else { return }
                let memory = await catalog.environment(instance.environment)?.berth.resources.memoryBytes
                let told = reason ?? (oomKilled ? EndReason.outOfMemory(limitBytes: memory) : EndReason.exited(code: exitCode))
                try await finish(&instance, state: .failed, reason: told, user: nil)
            }
        } catch {
            logger.warning("cleanup after exit failed", metadata: ["instance.id": "\(instanceID)", "error": "\(error)"])
        }
    }

    /// Brings store and engine into agreement after a start or crash: adopts running instances,
    /// fails half-done ones whose starter is gone, closes those whose container vanished, and
    /// removes labelled orphans. Instances another live replica holds the claim of are its own
    /// business and are left alone.
    @discardableResult
    public func reconcile() async throws -> ReconcileReport {
        let report = try await reconcilePass(serving: false)
        if let workspaces {
            // After the orphans are gone, so no removed container still holds a workspace's mount.
            var adopted: [(Instance, EnvironmentSpec?)] = []
            for instance in try await activeInstances() where instance.state == .running {
                adopted.append((instance, await catalog.environment(instance.environment)))
            }
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
    /// engine's event stream was down, say), fails starts whose replica died, and removes labelled
    /// containers and networks that no active instance owns. Instances changing state right now
    /// are left to whoever changes them.
    @discardableResult
    public func sweep() async throws -> ReconcileReport {
        let report = try await reconcilePass(serving: true)
        if report.closed > 0 || report.orphansRemoved > 0 || report.orphanRemovalsFailed > 0 {
            logger.notice("reconciled store and engine", metadata: [
                "closed": "\(report.closed)", "orphans.removed": "\(report.orphansRemoved)", "orphans.failed": "\(report.orphanRemovalsFailed)",
            ])
        }
        return report
    }

    /// One pass of ``reconcile()`` (at start-up) or ``sweep()`` (`serving`). The engine is listed
    /// first and the store read after, so every container listed belongs to an instance the store
    /// already knows; an instance whose state changed after the listing is left for the next pass.
    private func reconcilePass(serving: Bool) async throws -> ReconcileReport {
        var report = ReconcileReport()
        let listedAt = clock()
        let containers = try await runtime.managedContainers()
        let networks = try await runtime.managedNetworks()
        let stored = try await activeInstances()
        var keep = Set(stored.map(\.id))
        for candidate in stored {
            let container = containers.first { $0.instanceID == candidate.id }
            if candidate.state == .running, let container, container.running {
                if !serving { try await adopt(candidate, into: &report) }
                continue
            }
            // A stop in progress is the reaper's (it retries failed stops); while serving, so is
            // everything changed since the listing.
            if serving && candidate.state == .stopping { continue }
            guard candidate.updatedAt < listedAt, !busy.contains(candidate.id) else { continue }
            do {
                let closed = try await withActiveClaim(candidate.id, purpose: "reconcile") { instance in
                    guard instance.updatedAt < listedAt else { return }
                    try await close(&instance, container: container, serving: serving)
                }
                if closed {
                    report.closed += 1
                    keep.remove(candidate.id)
                }
            } catch {
                logger.warning("ending an instance whose container died failed; will retry", metadata: ["instance.id": "\(candidate.id)", "error": "\(error)"])
            }
        }
        // Every container listed was created for an instance already in the store, so one whose
        // instance is not active now belongs to no live instance.
        await removeOrphans(containers: containers, networks: networks, keep: { keep.contains($0) || self.busy.contains($0) }, into: &report)
        return report
    }

    /// Counts a running instance whose container runs as adopted, and leases its host ports
    /// (instances started before port leases were kept in the store lease theirs now).
    private func adopt(_ instance: Instance, into report: inout ReconcileReport) async throws {
        report.adopted += 1
        // A swarm's ports are the nodes', never leased.
        guard !runtime.choosesHostPorts else { return }
        let conflicting = try await store.instances.holdPorts(instance.endpoints.map(\.hostPort), for: instance.id, at: clock())
        if !conflicting.isEmpty {
            logger.warning("adopted instance's host ports are leased to another instance", metadata: [
                "instance.id": "\(instance.id)", "ports": "\(conflicting)",
            ])
        }
    }

    /// Ends an active instance that is not running as it should: its container died or
    /// vanished, or the replica starting or stopping it is gone (its claim could be taken).
    private func close(_ instance: inout Instance, container: ManagedResource?, serving: Bool) async throws {
        let (state, reason): (InstanceState, String) = switch instance.state {
        case .requested, .starting: (.failed, serving ? "interrupted: the Berth server starting it stopped" : "interrupted by a restart of Berth before it was running")
        case .stopping: (.stopped, instance.reason ?? "stopped")
        default: container == nil ? (.stopped, "its container vanished") : (.failed, "its container was no longer running")
        }
        if serving && instance.state == .running {
            // Its container and workspace are released as on any stop.
            try await finish(&instance, state: .failed, reason: reason, user: nil)
            return
        }
        instance.state = state
        instance.reason = reason
        instance.updatedAt = clock()
        try await store.instances.updateInstance(instance)
        await releasePorts(of: instance.id)
        await record("instance.reconciled", instance, user: nil, detail: reason)
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
                // A swarm publishes on a port of the node it picks: nothing to lease, endpoints come after.
                let ports = runtime.choosesHostPorts ? [] : try await leasePorts(environment.berth.ports.count, for: instance.id)
                instance.endpoints = zip(environment.berth.ports, ports).map { declared, hostPort in
                    Self.endpoint(declared, host: policy.endpointHost, hostPort: hostPort)
                }
                if attempt == 1, let workspaces, environment.berth.workspace != nil {
                    mounts = try await workspaces.attach(instance, environment: environment).map { [$0] } ?? []
                }
                let placement = try await runtime.launch(instance: instance, environment: environment, hostPorts: ports, mounts: mounts)
                if runtime.choosesHostPorts {
                    instance.endpoints = environment.berth.ports.compactMap { declared in
                        placement.endpoints.first { $0.containerPort == declared.port }.map { Self.endpoint(declared, host: $0.host, hostPort: $0.hostPort) }
                    }
                }
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
                try? await save(&instance, "instance.failed", user: user, detail: failure.message)
                logger.error("instance failed to start", metadata: ["instance.id": "\(instance.id)", "user.id": "\(user)", "error": "\(error)"])
                throw failure
            }
        }
    }

    /// Where players reach `declared`.
    static func endpoint(_ declared: PortSpec, host: String, hostPort: Int) -> Endpoint {
        Endpoint(
            port: declared.port, protocol: declared.protocol, host: host, hostPort: hostPort,
            url: declared.protocol == .http ? "http://\(urlHost(host)):\(hostPort)/" : nil
        )
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
            // Rows of terminals whose replica died with them; live ones release theirs as their PTY ends.
            try await store.terminalHolders.releaseAll(instanceID: instance.id)
        } catch {
            // The links open nothing once the instance has ended; only their rows stay behind.
            logger.warning("share links or terminal holders not cleared", metadata: ["instance.id": "\(instance.id)", "error": "\(error)"])
        }
        instance.state = state
        instance.reason = reason
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

    /// The terms of this replica's claims made at `now`.
    private func claimTerms(_ now: Date) -> ClaimTerms {
        ClaimTerms(
            holder: replica.id, now: now, leaseSeconds: Self.claimLeaseSeconds,
            deadBefore: now.addingTimeInterval(-ReplicaLiveness.deadAfterSeconds)
        )
    }

    /// Runs `body` with the claim of `id` held and the instance as the store has it once claimed
    /// (nil when it is gone); answers nil without running `body` when another holder, of this
    /// replica or another, has the claim.
    private func holdingClaim<R>(_ id: String, purpose: String, _ body: (Instance?) async throws -> R) async throws -> R? {
        guard !busy.contains(id) else { return nil }
        busy.insert(id)
        let claimed: Bool
        do {
            claimed = try await store.instances.claim(id, purpose: purpose, terms: claimTerms(clock()))
        } catch {
            busy.remove(id)
            throw error
        }
        guard claimed else {
            busy.remove(id)
            return nil
        }
        do {
            let result = try await body(try await store.instances.instance(id: id))
            await relinquish(id)
            return result
        } catch {
            await relinquish(id)
            throw error
        }
    }

    /// Gives back this replica's claim of `id`; a failure only leaves the claim to expire.
    private func relinquish(_ id: String) async {
        busy.remove(id)
        do {
            try await store.instances.releaseClaim(id, holder: replica.id)
        } catch {
            logger.warning("claim not released; its lease runs out", metadata: ["instance.id": "\(id)", "error": "\(error)"])
        }
    }

    /// Berth's own work on active instance `id` under its claim; false, without running `body`,
    /// when the instance has ended or someone else holds the claim.
    @discardableResult
    private func withActiveClaim(_ id: String, purpose: String, _ body: (inout Instance) async throws -> Void) async throws -> Bool {
        try await holdingClaim(id, purpose: purpose) { stored -> Bool in
            guard var instance = stored, instance.state.isActive else { return false }
            try await body(&instance)
            return true
        } ?? false
    }

    /// A user's verb on active instance `id` under its claim: `instance_not_found` when the user
    /// may not see it, `instance_not_active` when it has ended and `instance_busy` while another
    /// request or replica holds the claim.
    private func withClaim<R>(_ id: String, for user: User, purpose: String, _ body: (inout Instance) async throws -> R) async throws -> R {
        let seen = try await instance(id, for: user)
        guard seen.state.isActive else { throw Self.notActive(seen) }
        let result = try await holdingClaim(id, purpose: purpose) { stored -> R in
            guard var instance = stored, instance.state.isActive else { throw Self.notActive(stored ?? seen) }
            return try await body(&instance)
        }
        guard let result else {
            throw BerthError(.instanceBusy, "Instance \(id) is changing state right now; try again in a moment.")
        }
        return result
    }

    private static func notActive(_ instance: Instance) -> BerthError {
        BerthError(.instanceNotActive, "Instance \(instance.id) is \(instance.state.rawValue); request a new one.")
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
        case LaunchFailure.noCapacity(let message):
            return BerthError(.noCapacity, message)
        case LaunchFailure.refused(let message):
            return BerthError(.instanceStartFailed, message)
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

    /// The swarm node that ran the instance went down.
    public static func nodeDown(_ node: String) -> String {
        "the server running your environment (swarm node \(node)) went down; press Start for a fresh one"
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
