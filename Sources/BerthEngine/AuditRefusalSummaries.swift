import Foundation
import ServiceLifecycle

/// Writes the audit log's summaries of counted refusals (see ``AuditLog/appendRefusal(_:)``)
/// every `interval`, and all that are pending when the server shuts down.
public struct AuditRefusalSummaries: Service {
    let audit: AuditLog
    let interval: Duration

    /// Creates the summaries' writer, which writes every `interval`.
    public init(audit: AuditLog, interval: Duration) {
        self.audit = audit
        self.interval = interval
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await audit.writeRefusalSummaries() }
        await audit.writeRefusalSummaries(all: true)
    }
}
