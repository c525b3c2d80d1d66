import BerthCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes recordings that ended more than `days` ago, and writes an audit entry for each.
public struct RecordingRetention: Service {
    let services: BerthServices
    let days: Int
    let interval: Duration
    let logger: Logger

    /// Creates a sweep that keeps recordings `days` days (0 keeps them forever) and runs every `interval`.
    public init(services: BerthServices, days: Int, interval: Duration, logger: Logger) {
        self.services = services
        self.days = days
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns would stop the server, so a disabled sweep waits for shutdown.
        guard days > 0 else {
            try? await gracefulShutdown()
            return
        }
        await repeatUntilShutdown(every: interval) { await sweep(now: Date()) }
    }

    /// Deletes what is past retention at `now`; returns how many recordings were deleted.
    @discardableResult
    public func sweep(now: Date) async -> Int {
        guard days > 0 else { return 0 }
        let cutoff = now.addingTimeInterval(-Double(days) * 86400)
        let expired: [RecordingRecord]
        do {
            expired = try await services.store.recordings.recordings(RecordingQuery(endedBefore: cutoff, limit: 500))
        } catch {
            logger.warning("retention sweep skipped", metadata: ["error": "\(error)"])
            return 0
        }
        var deleted = 0
        for record in expired {
            do {
                try await services.recordings.delete(record)
                deleted += 1
                await services.audit.appendSystem(
                    action: "recording.delete", target: record.id,
                    detail: "retention: ended \(ISO8601DateFormatter().string(from: record.endedAt ?? now)), kept \(days) days; instance \(record.instanceID)"
                )
            } catch {
                logger.error("retention could not delete a recording", metadata: ["recording.id": "\(record.id)", "error": "\(error)"])
            }
        }
        return deleted
    }
}
