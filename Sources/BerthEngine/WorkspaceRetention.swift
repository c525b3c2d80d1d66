import BerthCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes workspaces not used for longer than the retention (`BERTH_WORKSPACE_RETENTION`),
/// never one an instance uses, and writes an audit entry with the reason for each.
public struct WorkspaceRetention: Service {
    let services: BerthServices
    let retentionSeconds: Int
    let interval: Duration
    let logger: Logger

    /// Creates a sweep that keeps workspaces `retentionSeconds` after their last use (0 keeps
    /// them forever) and runs every `interval`.
    public init(services: BerthServices, retentionSeconds: Int, interval: Duration, logger: Logger) {
        self.services = services
        self.retentionSeconds = retentionSeconds
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns would stop the server, so a disabled sweep waits for shutdown.
        guard retentionSeconds > 0, services.workspaces != nil else {
            try? await gracefulShutdown()
            return
        }
        await repeatUntilShutdown(every: interval) { await sweep(now: Date()) }
    }

    /// Deletes what is past retention at `now`; returns how many workspaces were deleted.
    @discardableResult
    public func sweep(now: Date) async -> Int {
        guard retentionSeconds > 0, let workspaces = services.workspaces else { return 0 }
        let cutoff = now.addingTimeInterval(-Double(retentionSeconds))
        let expired: [WorkspaceRecord]
        do {
            expired = try await workspaces.unusedSince(cutoff)
        } catch {
            logger.warning("workspace retention sweep skipped", metadata: ["error": "\(error)"])
            return 0
        }
        var deleted = 0
        for record in expired {
            do {
                try await workspaces.delete(record)
                deleted += 1
                await services.audit.appendSystem(
                    action: "workspace.deleted", target: record.id,
                    detail: "retention: last used \(ISO8601DateFormatter().string(from: record.lastUsedAt)), kept \(DurationText.format(retentionSeconds)); \(record.owner.label) in \(record.environment)"
                )
            } catch {
                logger.error("retention could not delete a workspace", metadata: ["workspace.id": "\(record.id)", "error": "\(error)"])
            }
        }
        return deleted
    }
}
