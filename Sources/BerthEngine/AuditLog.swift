import BerthCore
import BerthStore
import Foundation
import Logging

/// The hash-chained audit log. One actor appends, so entries get consecutive sequences and each
/// one names the hash of the entry before it.
public actor AuditLog {
    let store: any BerthStore
    let logger: Logger
    private var last: AuditEntry?
    private var loaded = false

    /// Creates the log over `store`; the chain's head is read on first use.
    public init(store: any BerthStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Seals `entry` after the current head and stores it. When the store refuses (another
    /// writer took the sequence), the head is read again and the append retried once; a failure
    /// after that is logged with the entry, so it is not lost from the operator's view.
    @discardableResult
    public func append(_ entry: AuditEntry) async -> AuditEntry? {
        for attempt in 1...2 {
            do {
                if !loaded || attempt > 1 {
                    last = try await store.lastAuditEntry()
                    loaded = true
                }
                let sealed = AuditChain.seal(entry, after: last)
                try await store.appendAudit(sealed)
                last = sealed
                return sealed
            } catch {
                if attempt == 2 {
                    logger.error("audit entry not stored", metadata: [
                        "audit.action": "\(entry.action)", "audit.target": "\(entry.target ?? "-")", "user.id": "\(entry.actorID ?? "-")",
                        "client.ip": "\(entry.clientIP ?? "-")", "http.status": "\(entry.status)", "error": "\(error)",
                    ])
                }
            }
        }
        return nil
    }

    /// Records an action Berth took by itself (retention, for instance).
    @discardableResult
    public func appendSystem(action: String, target: String?, detail: String?) async -> AuditEntry? {
        await append(AuditEntry(
            time: Date(), actorID: "system", actorName: "berth", actorRole: "system", clientIP: nil, userAgent: nil,
            action: action, target: target, status: 0, result: "ok", detail: detail
        ))
    }

    /// The outcome of checking the whole chain.
    public struct Verification: Codable, Sendable {
        /// True when every entry checks.
        public var valid: Bool
        /// How many entries were read.
        public var entries: Int64
        /// The last entry's sequence and hash, when there is one.
        public var headSequence: Int64?
        /// The last entry's hash.
        public var headHash: String?
        /// The first broken entry.
        public var problem: AuditProblem?
    }

    /// Reads the chain from the start in pages and checks every link.
    public func verify(pageSize: Int = 2000) async throws -> Verification {
        var previous: AuditEntry?
        var count: Int64 = 0
        while true {
            let page = try await store.auditEntries(AuditQuery(afterSequence: previous?.sequence ?? 0, limit: pageSize))
            if let problem = AuditChain.firstProblem(in: page, after: previous) {
                return Verification(valid: false, entries: count, headSequence: previous?.sequence, headHash: previous?.hash, problem: problem)
            }
            count += Int64(page.count)
            guard let tail = page.last else { break }
            previous = tail
            if page.count < pageSize { break }
        }
        return Verification(valid: true, entries: count, headSequence: previous?.sequence, headHash: previous?.hash, problem: nil)
    }
}
