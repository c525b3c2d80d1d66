import BerthCore
import BerthStore
import Foundation
import Logging

/// The hash-chained audit log. Each append reads the head and extends it in one transaction
/// under the chain's lock, so entries get consecutive sequences and each one names the hash of
/// the entry before it, whichever replica wrote them.
///
/// Refused requests (401s) come from anyone, so one address could fill the log with them. Each
/// address gets ``refusalLimit`` entries a minute one by one; past that its refusals are counted,
/// and one summary entry with the count, the time span and the last action is written when its
/// minute is over (``writeRefusalSummaries(now:all:)``, which the server calls every few seconds
/// and at shutdown). Nothing is dropped without a trace.
public actor AuditLog {
    let store: BerthDatabase
    let logger: Logger

    /// Refused requests from one address logged one by one per ``refusalWindow``.
    public let refusalLimit: Int
    /// The window of ``refusalLimit``, in seconds.
    public let refusalWindow: TimeInterval
    private var refusals: [String: RefusalTally] = [:]

    /// One address's refusals in its current window.
    private struct RefusalTally {
        var windowStart: Date
        var logged = 0
        var counted = 0
        var firstCounted: Date?
        var lastCounted: Date?
        var lastAction = ""
        var userAgent: String?
    }

    /// Creates the log over `store`.
    public init(store: BerthDatabase, logger: Logger, refusalLimit: Int = 20, refusalWindow: TimeInterval = 60) {
        self.store = store
        self.logger = logger
        self.refusalLimit = max(1, refusalLimit)
        self.refusalWindow = refusalWindow
    }

    /// Appends the entry of a refused request (a 401), unless its address has had
    /// ``refusalLimit`` of them logged in its current window: then the refusal is only counted,
    /// for the summary written when the window is over.
    public func appendRefusal(_ entry: AuditEntry) async {
        let address = entry.clientIP ?? "-"
        if let tally = refusals[address], isOver(tally, at: entry.time) {
            refusals[address] = nil
            if let summary = summary(of: tally, address: address) { await append(summary) }
        }
        var tally = refusals[address] ?? RefusalTally(windowStart: entry.time)
        if tally.logged < refusalLimit {
            tally.logged += 1
            refusals[address] = tally
            await append(entry)
            return
        }
        if tally.counted == 0 {
            logger.warning("refused requests from one address are now counted, not logged one by one", metadata: [
                "client.ip": "\(address)", "audit.limit": "\(refusalLimit) per \(Int(refusalWindow)) s",
            ])
        }
        tally.counted += 1
        tally.firstCounted = tally.firstCounted ?? entry.time
        tally.lastCounted = entry.time
        tally.lastAction = entry.action
        tally.userAgent = entry.userAgent
        refusals[address] = tally
    }

    /// Writes the summary of every address whose window ended by `now` (of every address, with
    /// `all`), and forgets those windows. Returns how many summaries were written.
    @discardableResult
    public func writeRefusalSummaries(now: Date = Date(), all: Bool = false) async -> Int {
        let ended = refusals.filter { all || isOver($0.value, at: now) }
        for address in ended.keys { refusals[address] = nil }
        var written = 0
        for (address, tally) in ended.sorted(by: { $0.value.windowStart < $1.value.windowStart }) {
            guard let summary = summary(of: tally, address: address) else { continue }
            await append(summary)
            written += 1
        }
        return written
    }

    private func isOver(_ tally: RefusalTally, at time: Date) -> Bool {
        time.timeIntervalSince(tally.windowStart) >= refusalWindow
    }

    /// The summary entry of a window, or nil when nothing in it was only counted.
    private func summary(of tally: RefusalTally, address: String) -> AuditEntry? {
        guard tally.counted > 0, let first = tally.firstCounted, let last = tally.lastCounted else { return nil }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return AuditEntry(
            time: last, actorID: nil, actorName: nil, actorRole: nil, clientIP: address == "-" ? nil : address,
            userAgent: tally.userAgent, action: "audit.refusals_counted", target: nil, status: 401, result: "unauthorized",
            detail: "\(tally.counted) more refused requests (401) from this address between \(format.string(from: first)) and "
                + "\(format.string(from: last)) were counted, not logged one by one (at most \(refusalLimit) per \(Int(refusalWindow)) s are); the last was \(tally.lastAction)"
        )
    }

    /// Seals `entry` after the current head and stores it, in one transaction that holds the
    /// chain's lock: replicas sharing one database extend one chain, each entry naming the hash
    /// of the one before it. Appends from this process also run one after another, so they keep
    /// their order. A failure after retries is logged with the entry, so it is not lost from the
    /// operator's view.
    @discardableResult
    public func append(_ entry: AuditEntry) async -> AuditEntry? {
        let previous = queueTail
        let task = Task { () -> AuditEntry? in
            await previous?.value
            return await self.sealAndStore(entry)
        }
        queueTail = Task { _ = await task.value }
        return await task.value
    }

    private var queueTail: Task<Void, Never>?

    private func sealAndStore(_ entry: AuditEntry) async -> AuditEntry? {
        let attempts = 5
        for attempt in 1...attempts {
            do {
                return try await store.withTransaction { tx in
                    try await tx.audit.sql.lockForTransaction("berth.audit")
                    let sealed = AuditChain.seal(entry, after: try await tx.audit.lastAuditEntry())
                    try await tx.audit.appendAudit(sealed)
                    return sealed
                }
            } catch {
                if attempt == attempts {
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
            let page = try await store.audit.auditEntries(AuditQuery(afterSequence: previous?.sequence ?? 0, limit: pageSize))
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
