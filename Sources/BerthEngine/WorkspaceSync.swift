import BerthCore
import Foundation
import Logging
import ObjectStorage
import ServiceLifecycle

/// Keeps workspaces in S3-compatible object storage: one object per workspace, a plain tar of its
/// files at `<prefix><workspace id>.tar`, its upload number in `x-amz-meta-berth-version`.
///
/// - ``sync(_:reason:)`` archives the local copy to a temporary file and uploads it as version
///   `remoteVersion + 1`. On success the status becomes `synced`; on failure it becomes `failed`
///   with a retry time (10 s doubling, capped at 10 min, with jitter) and the reason in words, and
///   the local copy is left exactly as it was.
/// - ``restoreIfNeeded(_:)`` downloads and restores the object when this host has no local copy
///   or an older one, and refuses the start (`workspace_unavailable`) when it must and cannot.
/// - ``Scheduler`` uploads the workspaces in use every interval and retries due failures.
///
/// One operation at a time per workspace: a sync, a restore or a delete waits for the one before.
public actor WorkspaceSync: WorkspaceSyncing {
    /// The retry delays after failures.
    public struct Backoff: Sendable, Equatable {
        /// The delay after the first failure, in seconds.
        public var first: TimeInterval
        /// The longest delay, in seconds.
        public var cap: TimeInterval
        /// The share of the delay drawn at random and added (0.2: up to 20 % more).
        public var jitter: Double

        /// 10 s doubling, capped at 10 min, with up to 20 % jitter.
        public static let standard = Backoff(first: 10, cap: 600, jitter: 0.2)

        /// Creates a backoff.
        public init(first: TimeInterval, cap: TimeInterval, jitter: Double) {
            self.first = first
            self.cap = cap
            self.jitter = jitter
        }

        /// The delay before retrying after `attempts` failures in a row (1 for the first), with
        /// `random` in 0..<1 drawing the jitter.
        public func delay(afterAttempts attempts: Int, random: Double) -> TimeInterval {
            let doublings = Double(max(0, min(attempts - 1, 30)))
            let base = min(cap, first * pow(2, doublings))
            return base * (1 + jitter * min(max(random, 0), 1))
        }
    }

    let client: S3Client
    /// Prepended to `<workspace id>.tar`, e.g. `workspaces/`.
    public let prefix: String
    let archiving: any WorkspaceArchiving
    let ledger: any WorkspaceSyncLedger
    /// How often workspaces in use are uploaded.
    public let interval: Duration
    let clock: @Sendable () -> Date
    let logger: Logger
    let temporaryDirectory: URL
    let backoff: Backoff
    private var held: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Creates the sync. Archives are written to `temporaryDirectory` (made when missing) and
    /// removed after each upload or restore.
    public init(
        client: S3Client, prefix: String, archiving: any WorkspaceArchiving, ledger: any WorkspaceSyncLedger, interval: Duration,
        temporaryDirectory: URL, backoff: Backoff = .standard, clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "berth.workspace-sync")
    ) {
        self.client = client
        self.prefix = prefix
        self.archiving = archiving
        self.ledger = ledger
        self.interval = interval
        self.temporaryDirectory = temporaryDirectory
        self.backoff = backoff
        self.clock = clock
        self.logger = logger
    }

    /// The object key of a workspace: `<prefix><id>.tar`.
    public nonisolated func key(of workspace: WorkspaceRecord) -> String {
        "\(prefix)\(workspace.id).tar"
    }

    // MARK: WorkspaceSyncing

    @discardableResult
    public func sync(_ workspace: WorkspaceRecord, reason: WorkspaceSyncReason) async -> WorkspaceSyncStatus {
        await acquire(workspace.id)
        defer { release(workspace.id) }
        let current: WorkspaceRecord
        do {
            guard let fresh = try await ledger.workspace(id: workspace.id) else {
                logger.info("workspace deleted before its upload", metadata: ["workspace.id": "\(workspace.id)"])
                return workspace.sync
            }
            current = fresh
        } catch {
            current = workspace
        }
        let version = current.sync.remoteVersion + 1
        let started = clock()
        var status = current.sync
        do {
            let file = try temporaryFile(for: current)
            defer { try? FileManager.default.removeItem(at: file) }
            do {
                try await archiving.writeArchive(of: current, to: file)
            } catch {
                throw SyncFailure("the workspace could not be archived for upload: \(Self.words(error))")
            }
            do {
                try await client.putObject(
                    key: key(of: current), fromFile: file, metadata: ["berth-version": "\(version)"], contentType: "application/x-tar"
                )
            } catch {
                throw SyncFailure("upload to \(client.configuration.endpoint)/\(client.configuration.bucket) failed: \(Self.words(error))")
            }
            try await archiving.markLocalVersion(version, of: current)
            status = WorkspaceSyncStatus(state: .synced, syncedAt: clock(), remoteVersion: version, attempts: 0)
            logger.info(
                "workspace uploaded",
                metadata: [
                    "workspace.id": "\(current.id)", "sync.reason": "\(reason.rawValue)", "sync.version": "\(version)",
                    "sync.seconds": "\(String(format: "%.2f", clock().timeIntervalSince(started)))",
                ]
            )
        } catch {
            status.state = .failed
            status.attempts = current.sync.attempts + 1
            let delay = backoff.delay(afterAttempts: status.attempts, random: Double.random(in: 0..<1))
            status.nextAttemptAt = clock().addingTimeInterval(delay)
            status.lastError = Self.words(error)
            logger.warning(
                "workspace upload failed; the local copy is kept and the upload retried",
                metadata: [
                    "workspace.id": "\(current.id)", "sync.reason": "\(reason.rawValue)", "sync.attempts": "\(status.attempts)",
                    "sync.retry.seconds": "\(Int(delay))", "error": "\(status.lastError ?? "")",
                ]
            )
        }
        do {
            try await ledger.saveSyncStatus(status, workspaceID: current.id)
        } catch {
            logger.error("cannot save a workspace's sync status", metadata: ["workspace.id": "\(current.id)", "error": "\(error)"])
        }
        return status
    }

    public func restoreIfNeeded(_ workspace: WorkspaceRecord) async throws {
        await acquire(workspace.id)
        defer { release(workspace.id) }
        let current = (try? await ledger.workspace(id: workspace.id)) ?? workspace
        let remote = current.sync.remoteVersion
        let local = await archiving.localVersion(of: current)
        if let local, local >= remote { return }
        // Never uploaded: there is nothing to restore (the workspace service makes an empty one).
        if remote == 0 { return }
        let localText = local.map { "is older (version \($0) of \(remote))" } ?? "is missing"
        let file: URL
        do { file = try temporaryFile(for: current) } catch {
            throw BerthError(.workspaceUnavailable, "the workspace cannot be restored: \(Self.words(error))")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let downloaded: S3ObjectInfo
        do {
            downloaded = try await client.getObject(key: key(of: current), toFile: file)
        } catch {
            logger.warning("workspace restore failed", metadata: ["workspace.id": "\(current.id)", "error": "\(Self.words(error))"])
            throw BerthError(
                .workspaceUnavailable,
                "this host's copy of the workspace \(localText) and the copy in object storage cannot be downloaded: \(Self.words(error)). Nothing was changed; try again when object storage is reachable."
            )
        }
        let version = downloaded.metadata["berth-version"].flatMap { Int($0) } ?? remote
        do {
            try await archiving.restoreArchive(from: file, into: current, version: version)
        } catch {
            throw BerthError(.workspaceUnavailable, "the workspace's copy from object storage could not be restored: \(Self.words(error))")
        }
        logger.info(
            "workspace restored from object storage",
            metadata: ["workspace.id": "\(current.id)", "sync.version": "\(version)", "sync.bytes": "\(downloaded.size)"]
        )
    }

    public func deleteRemote(_ workspace: WorkspaceRecord) async throws {
        await acquire(workspace.id)
        defer { release(workspace.id) }
        do {
            try await client.deleteObject(key: key(of: workspace))
        } catch {
            throw BerthError(.objectStorageUnavailable, "the workspace's copy in object storage could not be deleted: \(Self.words(error))")
        }
        logger.info("workspace deleted from object storage", metadata: ["workspace.id": "\(workspace.id)"])
    }

    // MARK: Periodic work

    /// Uploads every workspace an instance uses now (the interval's work).
    public func syncWorkspacesInUse() async {
        let inUse: [WorkspaceRecord]
        do { inUse = try await ledger.workspacesInUse() } catch {
            logger.error("cannot list the workspaces in use", metadata: ["error": "\(error)"])
            return
        }
        for workspace in inUse { await sync(workspace, reason: .interval) }
    }

    /// Uploads the `pending` workspaces and the `failed` ones whose retry is due at `now`.
    /// Returns how many it tried.
    @discardableResult
    public func retryDue(now: Date) async -> Int {
        let awaiting: [WorkspaceRecord]
        do { awaiting = try await ledger.workspacesAwaitingSync() } catch {
            logger.error("cannot list the workspaces awaiting upload", metadata: ["error": "\(error)"])
            return 0
        }
        var tried = 0
        for workspace in awaiting {
            switch workspace.sync.state {
            case .pending: break
            case .failed: guard (workspace.sync.nextAttemptAt ?? .distantPast) <= now else { continue }
            case .localOnly, .synced: continue
            }
            // An upload of it is running or queued (the one that made it pending): no second one.
            if held.contains(workspace.id) { continue }
            tried += 1
            await sync(workspace, reason: .retry)
        }
        return tried
    }

    /// Runs the periodic uploads (every `interval`) and the retries (every `retryTick`) until
    /// graceful shutdown: `BERTH_S3_SYNC_INTERVAL`'s work.
    public struct Scheduler: Service {
        let sync: WorkspaceSync
        let retryTick: Duration

        /// Creates the scheduler.
        public init(sync: WorkspaceSync, retryTick: Duration = .seconds(5)) {
            self.sync = sync
            self.retryTick = retryTick
        }

        public func run() async throws {
            let sync = sync
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    // The first round waits one interval: nothing changed at start.
                    await repeatUntilShutdown(every: sync.interval, waitingFirst: true) { await sync.syncWorkspacesInUse() }
                }
                group.addTask {
                    await repeatUntilShutdown(every: retryTick) { await sync.retryDue(now: sync.clock()) }
                }
            }
        }
    }

    // MARK: Plumbing

    private func acquire(_ id: String) async {
        if held.contains(id) {
            await withCheckedContinuation { waiting[id, default: []].append($0) }
        } else {
            held.insert(id)
        }
    }

    /// Hands the workspace to the next waiter, or frees it.
    private func release(_ id: String) {
        if var queue = waiting[id], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[id] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            held.remove(id)
        }
    }

    private func temporaryFile(for workspace: WorkspaceRecord) throws -> URL {
        try FileManager.default.createDirectory(at: temporaryDirectory, withIntermediateDirectories: true)
        return temporaryDirectory.appendingPathComponent("\(workspace.id)-\(UUID().uuidString).tar")
    }

    /// An error in words an admin can act on.
    static func words(_ error: any Error) -> String {
        switch error {
        case let error as SyncFailure: error.message
        case let error as S3Error: error.description
        case let error as BerthError: error.message
        default: "\(error)"
        }
    }

    struct SyncFailure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}

// MARK: From the settings

extension WorkspaceSync {
    /// The S3 client the `BERTH_S3_*` settings describe, nil when `BERTH_S3_ENDPOINT` is unset.
    /// Reads `BERTH_S3_SECRET_ACCESS_KEY_FILE`; an unreadable or empty file is `invalid_config`
    /// (naming the file, never its content).
    public static func client(for configuration: BerthConfiguration) throws -> S3Client? {
        guard let endpoint = configuration.s3Endpoint else { return nil }
        guard let bucket = configuration.s3Bucket, let accessKeyID = configuration.s3AccessKeyID else {
            throw BerthError(.invalidConfig, "BERTH_S3_ENDPOINT is set but BERTH_S3_BUCKET or BERTH_S3_ACCESS_KEY_ID is not")
        }
        var secret = configuration.s3SecretAccessKey
        if let file = configuration.s3SecretAccessKeyFile {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw BerthError(.invalidConfig, "BERTH_S3_SECRET_ACCESS_KEY_FILE: cannot read \(file): \(error.localizedDescription)")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.contains(where: \.isNewline) else {
                throw BerthError(.invalidConfig, "BERTH_S3_SECRET_ACCESS_KEY_FILE: \(file) must hold the secret on one line")
            }
            secret = trimmed
        }
        guard let secret else {
            throw BerthError(.invalidConfig, "BERTH_S3_ENDPOINT is set but neither BERTH_S3_SECRET_ACCESS_KEY nor BERTH_S3_SECRET_ACCESS_KEY_FILE is")
        }
        do {
            return try S3Client(
                S3Configuration(
                    endpoint: endpoint, bucket: bucket, region: configuration.s3Region,
                    credentials: S3Credentials(accessKeyID: accessKeyID, secretAccessKey: secret)
                )
            )
        } catch {
            throw BerthError(.invalidConfig, "BERTH_S3_ENDPOINT: \(error)")
        }
    }

    /// The sync the settings describe, over the workspace service's local copies and records; nil
    /// when `BERTH_S3_ENDPOINT` is unset. Temporary archives go to `<data-dir>/workspace-sync/`
    /// (emptied here: leftovers of a crash), on the data disk since they are as large as a workspace.
    public static func fromSettings(
        _ configuration: BerthConfiguration, archiving: any WorkspaceArchiving, ledger: any WorkspaceSyncLedger, logger: Logger
    ) throws -> WorkspaceSync? {
        guard let client = try client(for: configuration) else { return nil }
        let temporary = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true).appendingPathComponent("workspace-sync", isDirectory: true)
        try? FileManager.default.removeItem(at: temporary)
        logger.info(
            "workspaces sync to object storage",
            metadata: [
                "s3.endpoint": "\(client.configuration.endpoint)", "s3.bucket": "\(client.configuration.bucket)",
                "s3.prefix": "\(configuration.s3Prefix)", "s3.interval.seconds": "\(configuration.s3SyncIntervalSeconds)",
            ]
        )
        return WorkspaceSync(
            client: client, prefix: configuration.s3Prefix, archiving: archiving, ledger: ledger,
            interval: .seconds(configuration.s3SyncIntervalSeconds), temporaryDirectory: temporary, logger: logger
        )
    }
}
