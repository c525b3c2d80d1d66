import BerthCore
import BerthStore
import Foundation
import Logging

/// A host folder bound into an instance's container.
public struct InstanceMount: Sendable, Equatable {
    /// The folder on the host (a mounted workspace).
    public var hostPath: String
    /// Where the container sees it.
    public var containerPath: String

    /// Creates a mount.
    public init(hostPath: String, containerPath: String) {
        self.hostPath = hostPath
        self.containerPath = containerPath
    }
}

/// How the lifecycle attaches workspaces to instances (``WorkspaceService`` is the real one).
public protocol WorkspaceInstanceHooks: Sendable {
    /// Before the container is created: finds or creates the owner's workspace for the
    /// environment, restores it from object storage when needed, mounts it and returns the bind.
    /// Nil when the environment has no workspace. Throws `workspace_unavailable` when it cannot.
    func attach(_ instance: Instance, environment: EnvironmentSpec) async throws -> InstanceMount?
    /// After the container is gone: unmounts the workspace when no other instance uses it, marks
    /// it used and, with object storage, starts its upload in the background.
    func release(_ instance: Instance) async
    /// After a restart of Berth: mounts again what the adopted instances use, and unmounts
    /// workspaces nobody uses (left mounted by a crash).
    func adopt(_ instances: [(Instance, EnvironmentSpec?)]) async
    /// Empties the instance's workspace (a reset asking for a clean workspace); call between
    /// ``release(_:)`` and ``attach(_:environment:)``.
    func clean(_ instance: Instance, environment: EnvironmentSpec) async throws
}

/// A workspace with what its owner and admins see: usage, and whether an instance uses it.
public struct WorkspaceView: Sendable, Equatable {
    /// The record.
    public var record: WorkspaceRecord
    /// Bytes in use, nil when Berth has not measured it since it started.
    public var usedBytes: Int64?
    /// True while an instance uses it.
    public var inUse: Bool
}

/// The instance's workspace, as the instance view shows it.
public struct InstanceWorkspace: Sendable, Equatable {
    /// `ws_…`.
    public var id: String
    /// The path in the container.
    public var path: String
    /// The quota.
    public var sizeBytes: Int64
    /// Bytes in use.
    public var usedBytes: Int64
}

/// Persistent workspaces: one per owner and environment, an ext4 image under
/// `<data-dir>/workspaces` (``WorkspaceVolumes``), mounted while an instance or Berth uses it.
///
/// One lock per workspace keeps a start, an export or import, a sync and a deletion from
/// touching one image at once. The local copy is the truth: object storage (``useSync(_:)``) is
/// uploaded in the background and never waited for when an instance stops.
public actor WorkspaceService: WorkspaceInstanceHooks, WorkspaceArchiving, WorkspaceSyncLedger {
    /// Where the images live.
    public nonisolated let volumes: WorkspaceVolumes
    private let store: BerthDatabase
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private var syncing: (any WorkspaceSyncing)?
    private let catalog: EnvironmentCatalog?
    /// Workspace id → the instances using it.
    private var users: [String: Set<String>] = [:]
    /// Instance id → its workspace id and container path.
    private var attached: [String: (workspace: String, path: String)] = [:]
    /// Last measured usage, by workspace id.
    private var measured: [String: Int64] = [:]
    private var held: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var uploads: [String: Task<Void, Never>] = [:]
    /// Largest workspace archive Berth reads into memory to check it (entries).
    public static let maxArchiveEntries = 1_000_000

    /// Creates the service over `<dataDirectory>/workspaces`; `catalog` says whom a workspace's
    /// files belong to (the terminal's user) when an import or restore makes its image.
    public init(
        store: BerthDatabase, dataDirectory: URL, catalog: EnvironmentCatalog? = nil, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.catalog = catalog
        self.volumes = WorkspaceVolumes(root: dataDirectory.appendingPathComponent("workspaces", isDirectory: true))
        self.logger = logger
        self.clock = clock
    }

    /// Uploads workspaces to object storage through `syncing` from now on.
    public func useSync(_ syncing: any WorkspaceSyncing) {
        self.syncing = syncing
    }

    /// True when object storage is configured.
    public var syncConfigured: Bool { syncing != nil }

    // MARK: - Records

    /// The owner's workspace for `environment`, created (record only) on first use.
    public func workspace(for owner: Owner, environment: EnvironmentSpec) async throws -> WorkspaceRecord {
        guard let spec = environment.berth.workspace else {
            throw BerthError(.workspaceNotFound, "'\(environment.slug)' declares no workspace.")
        }
        let key = "owner:\(owner.label)/\(environment.slug)"
        return try await withLock(key) {
            if let existing = try await store.workspaces.workspace(owner: owner, environment: environment.slug) { return existing }
            let now = clock()
            let record = WorkspaceRecord(
                id: Identifier.make("ws"), owner: owner, environment: environment.slug, sizeBytes: spec.sizeBytes, createdAt: now, lastUsedAt: now
            )
            try await store.workspaces.insertWorkspace(record)
            logger.info("workspace created", metadata: ["workspace.id": "\(record.id)", "owner": "\(owner.label)", "environment": "\(environment.slug)"])
            return record
        }
    }

    /// The workspace with this id, or `workspace_not_found`.
    public func record(_ id: String) async throws -> WorkspaceRecord {
        guard Identifier.isWellFormed(id), let record = try await store.workspaces.workspace(id: id) else {
            throw BerthError(.workspaceNotFound, "No workspace '\(id)' is visible to you.")
        }
        return record
    }

    /// Workspaces of these owners (every workspace with nil), with usage and whether they are in use.
    public func views(owners: [Owner]?) async throws -> [WorkspaceView] {
        var records: [WorkspaceRecord] = []
        if let owners {
            for owner in owners { records += try await store.workspaces.workspaces(owner: owner) }
        } else {
            records = try await store.workspaces.workspaces(owner: nil)
        }
        return records.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map { view($0) }
    }

    /// One workspace's view.
    public func view(_ record: WorkspaceRecord) -> WorkspaceView {
        let inUse = !(users[record.id] ?? []).isEmpty
        var used = measured[record.id]
        if volumes.isMounted(record.id), let now = try? volumes.usage(record.id).used {
            used = now
            measured[record.id] = now
        }
        return WorkspaceView(record: record, usedBytes: used, inUse: inUse)
    }

    /// The workspace an active instance uses, with its usage; nil when it has none.
    public func workspace(ofInstance instanceID: String) async -> InstanceWorkspace? {
        guard let (id, path) = attached[instanceID], let record = try? await store.workspaces.workspace(id: id) else { return nil }
        let used = (try? volumes.usage(id).used) ?? measured[id] ?? 0
        measured[id] = used
        return InstanceWorkspace(id: id, path: path, sizeBytes: record.sizeBytes, usedBytes: used)
    }

    /// True while an instance uses the workspace.
    public func inUse(_ id: String) -> Bool { !(users[id] ?? []).isEmpty }

    // MARK: - Lifecycle hooks

    public func attach(_ instance: Instance, environment: EnvironmentSpec) async throws -> InstanceMount? {
        guard let spec = environment.berth.workspace else { return nil }
        if let reason = volumes.unavailableReason() {
            throw BerthError(
                .workspaceUnavailable,
                "'\(environment.slug)' keeps a workspace, and this server cannot hold workspaces: \(reason). An admin runs Berth as root on a host with loop devices."
            )
        }
        let record = try await workspace(for: instance.owner, environment: environment)
        let owner = ContainerBlueprint.numericOwner(environment.berth.terminal.user)
        if let syncing {
            if !volumes.exists(record.id) {
                // The image is made first, owned by the terminal's user, so a restore fills it as theirs.
                try await withLock(record.id) {
                    try await volumes.prepare(record.id, sizeBytes: max(spec.sizeBytes, record.sizeBytes), owner: owner)
                    try await volumes.unmount(record.id)
                }
            }
            try await syncing.restoreIfNeeded(record)
        }
        return try await withLock(record.id) {
            do {
                let capacity = try await volumes.prepare(record.id, sizeBytes: max(spec.sizeBytes, record.sizeBytes), owner: owner)
                if capacity < spec.sizeBytes {
                    logger.notice("workspace larger than declared is kept", metadata: ["workspace.id": "\(record.id)"])
                }
                try await store.workspaces.markWorkspaceUsed(id: record.id, at: clock(), sizeBytes: max(spec.sizeBytes, record.sizeBytes))
            } catch let error as BerthError {
                throw BerthError(.workspaceUnavailable, "The workspace of '\(environment.slug)' could not be mounted: \(error.message)")
            }
            users[record.id, default: []].insert(instance.id)
            attached[instance.id] = (record.id, spec.path)
            logger.info("workspace attached", metadata: ["workspace.id": "\(record.id)", "instance.id": "\(instance.id)"])
            return InstanceMount(hostPath: volumes.mountPoint(record.id).path, containerPath: spec.path)
        }
    }

    public func release(_ instance: Instance) async {
        guard let (id, _) = attached.removeValue(forKey: instance.id) else { return }
        await withLock(id) {
            users[id]?.remove(instance.id)
            if users[id]?.isEmpty == true { users[id] = nil }
            if let used = try? volumes.usage(id).used { measured[id] = used }
            if users[id] == nil {
                do {
                    try await volumes.unmount(id)
                } catch {
                    logger.error("workspace not unmounted", metadata: ["workspace.id": "\(id)", "error": "\(error)"])
                }
            }
            if let record = try? await store.workspaces.workspace(id: id) {
                try? await store.workspaces.markWorkspaceUsed(id: id, at: clock(), sizeBytes: record.sizeBytes)
            }
        }
        logger.info("workspace released", metadata: ["workspace.id": "\(id)", "instance.id": "\(instance.id)"])
        await startUpload(id, reason: .instanceStopped)
    }

    public func adopt(_ instances: [(Instance, EnvironmentSpec?)]) async {
        for (instance, environment) in instances {
            guard let environment, let spec = environment.berth.workspace,
                  let record = try? await store.workspaces.workspace(owner: instance.owner, environment: environment.slug)
            else { continue }
            await withLock(record.id) {
                do {
                    try await volumes.prepare(record.id, sizeBytes: record.sizeBytes, owner: ContainerBlueprint.numericOwner(environment.berth.terminal.user))
                    users[record.id, default: []].insert(instance.id)
                    attached[instance.id] = (record.id, spec.path)
                } catch {
                    logger.error("adopted instance's workspace not mounted", metadata: ["workspace.id": "\(record.id)", "instance.id": "\(instance.id)", "error": "\(error)"])
                }
            }
        }
        for id in volumes.mountedIDs() where users[id] == nil {
            await withLock(id) {
                do {
                    try await volumes.unmount(id)
                    logger.notice("stale workspace mount removed", metadata: ["workspace.id": "\(id)"])
                } catch {
                    logger.error("stale workspace mount not removed", metadata: ["workspace.id": "\(id)", "error": "\(error)"])
                }
            }
        }
    }

    public func clean(_ instance: Instance, environment: EnvironmentSpec) async throws {
        guard environment.berth.workspace != nil else { return }
        let record = try await workspace(for: instance.owner, environment: environment)
        try await withLock(record.id) {
            guard users[record.id] == nil else {
                throw BerthError(.workspaceInUse, "Workspace \(record.id) is used by another instance; stop it before asking for a clean workspace.")
            }
            guard volumes.exists(record.id) else { return }
            try await volumes.prepare(record.id, sizeBytes: record.sizeBytes, owner: ContainerBlueprint.numericOwner(environment.berth.terminal.user))
            defer { measured[record.id] = 0 }
            do {
                try await volumes.wipe(record.id)
            } catch {
                try? await volumes.unmount(record.id)
                throw error
            }
            try await volumes.unmount(record.id)
        }
    }

    // MARK: - Export, import, sync, delete

    /// Writes the workspace's files as a tar to `file` (the export download and the upload to
    /// object storage). Mounts it for the time it takes when no instance uses it.
    public func writeArchive(of workspace: WorkspaceRecord, to file: URL) async throws {
        try await withMounted(workspace) {
            try await volumes.writeArchive(workspace.id, to: file)
        }
    }

    /// Replaces the workspace's files with those of the tar at `file`: refused while an instance
    /// uses it (`workspace_in_use`), checked entry by entry first (`workspace_invalid_archive`).
    public func restoreArchive(from file: URL, into workspace: WorkspaceRecord, version: Int) async throws {
        try await replaceFiles(of: workspace, from: file)
        try volumes.setLocalVersion(version, workspace.id)
    }

    /// Imports a tar (`PUT …/archive`): like ``restoreArchive(from:into:version:)``, keeping the version.
    public func importArchive(from file: URL, into workspace: WorkspaceRecord) async throws {
        try await replaceFiles(of: workspace, from: file)
        try? await store.workspaces.markWorkspaceUsed(id: workspace.id, at: clock(), sizeBytes: workspace.sizeBytes)
        await startUpload(workspace.id, reason: .requested)
    }

    public func localVersion(of workspace: WorkspaceRecord) async -> Int? {
        volumes.localVersion(workspace.id)
    }

    public func markLocalVersion(_ version: Int, of workspace: WorkspaceRecord) async throws {
        guard volumes.exists(workspace.id) else { return }
        try volumes.setLocalVersion(version, workspace.id)
    }

    /// Uploads now (`POST …/sync`); `object_storage_unavailable` without object storage.
    public func syncNow(_ workspace: WorkspaceRecord) async throws -> WorkspaceSyncStatus {
        guard let syncing else {
            throw BerthError(.objectStorageUnavailable, "No object storage is configured (BERTH_S3_ENDPOINT); the workspace is kept on this server only.")
        }
        return await syncing.sync(workspace, reason: .requested)
    }

    /// Deletes the workspace: its image and, with object storage, its remote copy. Refused while
    /// an instance uses it (`workspace_in_use`).
    public func delete(_ workspace: WorkspaceRecord) async throws {
        try await withLock(workspace.id) {
            guard users[workspace.id] == nil else {
                throw BerthError(.workspaceInUse, "Workspace \(workspace.id) is used by a running instance; stop the instance first.")
            }
            uploads.removeValue(forKey: workspace.id)?.cancel()
            if let syncing { try await syncing.deleteRemote(workspace) }
            try await volumes.delete(workspace.id)
            try await store.workspaces.deleteWorkspace(id: workspace.id)
            measured[workspace.id] = nil
        }
        logger.info("workspace deleted", metadata: ["workspace.id": "\(workspace.id)"])
    }

    /// Workspaces not used since `cutoff` and not in use now (for retention).
    public func unusedSince(_ cutoff: Date) async throws -> [WorkspaceRecord] {
        try await store.workspaces.workspaces(owner: nil).filter { $0.lastUsedAt < cutoff && users[$0.id] == nil }
    }

    /// Waits for background uploads started so far (tests and shutdown).
    public func drainUploads() async {
        while let (id, task) = uploads.first {
            await task.value
            if uploads[id] == task { uploads[id] = nil }
        }
    }

    /// Unmounts every workspace no instance uses, or with `all` every one (after the engine
    /// removed the containers: shutdown of a test, or of a server whose instances are gone).
    public func unmountIdle(all: Bool = false) async {
        for id in volumes.mountedIDs() where all || users[id] == nil {
            try? await withLock(id) { try await volumes.unmount(id) }
        }
    }

    // MARK: - Ledger

    public func workspace(id: String) async throws -> WorkspaceRecord? {
        try await store.workspaces.workspace(id: id)
    }

    public func workspacesInUse() async throws -> [WorkspaceRecord] {
        var records: [WorkspaceRecord] = []
        for id in users.keys.sorted() {
            if let record = try await store.workspaces.workspace(id: id) { records.append(record) }
        }
        return records
    }

    public func workspacesAwaitingSync() async throws -> [WorkspaceRecord] {
        try await store.workspaces.workspaces(owner: nil).filter { $0.sync.state == .pending || $0.sync.state == .failed }
    }

    public func saveSyncStatus(_ status: WorkspaceSyncStatus, workspaceID: String) async throws {
        try await store.workspaces.saveWorkspaceSyncStatus(status, workspaceID: workspaceID)
    }

    // MARK: - Internals

    private func startUpload(_ id: String, reason: WorkspaceSyncReason) async {
        guard let syncing, var record = try? await store.workspaces.workspace(id: id) else { return }
        record.sync.state = .pending
        try? await store.workspaces.saveWorkspaceSyncStatus(record.sync, workspaceID: id)
        let previous = uploads[id]
        uploads[id] = Task { [record] in
            await previous?.value
            await syncing.sync(record, reason: reason)
        }
    }

    private func replaceFiles(of workspace: WorkspaceRecord, from file: URL) async throws {
        let archive: CheckedArchive
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
            guard size <= workspace.sizeBytes + (16 << 20) else {
                throw BerthError(.bodyTooLarge, "The archive is larger than the workspace's quota (\(workspace.sizeBytes) bytes).")
            }
            archive = try CheckedArchive(tar: Array(try Data(contentsOf: file)), maxEntries: Self.maxArchiveEntries, wholeWorkspace: true)
        } catch let error as BerthError where [.invalidBody, .pathNotAllowed, .fileTooLarge].contains(error.code) {
            throw BerthError(.workspaceInvalidArchive, error.message)
        }
        if let reason = volumes.unavailableReason() {
            throw BerthError(.workspaceUnavailable, "This server cannot hold workspaces: \(reason).")
        }
        try await withLock(workspace.id) {
            guard users[workspace.id] == nil else {
                throw BerthError(.workspaceInUse, "Workspace \(workspace.id) is used by a running instance; stop it before replacing its files.")
            }
            let terminalUser = await catalog?.environment(workspace.environment)?.berth.terminal.user
            try await volumes.prepare(workspace.id, sizeBytes: workspace.sizeBytes, owner: ContainerBlueprint.numericOwner(terminalUser))
            do {
                var stats = stat()
                // Files go to the root folder's owner: the terminal's user, set when the image was made.
                let owner: (uid: Int, gid: Int)? = lstat(volumes.mountPoint(workspace.id).path, &stats) == 0 && stats.st_uid != 0
                    ? (Int(stats.st_uid), Int(stats.st_gid)) : nil
                try await volumes.wipe(workspace.id)
                try await volumes.extract(archive, into: workspace.id, owner: owner)
                measured[workspace.id] = try? volumes.usage(workspace.id).used
            } catch {
                try? await volumes.unmount(workspace.id)
                throw error
            }
            try await volumes.unmount(workspace.id)
        }
    }

    /// Runs `body` with the workspace mounted, under its lock; unmounts afterwards unless an instance uses it.
    private func withMounted<T: Sendable>(_ workspace: WorkspaceRecord, _ body: () async throws -> T) async throws -> T {
        if let reason = volumes.unavailableReason() {
            throw BerthError(.workspaceUnavailable, "This server cannot hold workspaces: \(reason).")
        }
        return try await withLock(workspace.id) {
            guard volumes.exists(workspace.id) || users[workspace.id] != nil else {
                throw BerthError(.workspaceNotFound, "Workspace \(workspace.id) has no files on this server yet.")
            }
            try await volumes.prepare(workspace.id, sizeBytes: workspace.sizeBytes, owner: nil)
            let result: T
            do {
                result = try await body()
            } catch {
                if users[workspace.id] == nil { try? await volumes.unmount(workspace.id) }
                throw error
            }
            if users[workspace.id] == nil { try await volumes.unmount(workspace.id) }
            return result
        }
    }

    private func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await lock(key)
        defer { unlock(key) }
        return try await body()
    }

    private func withLock(_ key: String, _ body: () async -> Void) async {
        await lock(key)
        defer { unlock(key) }
        await body()
    }

    private func lock(_ key: String) async {
        guard held.contains(key) else {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func unlock(_ key: String) {
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            held.remove(key)
        }
    }
}
