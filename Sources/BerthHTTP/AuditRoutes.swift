import BerthCore
import BerthEngine
import Foundation
import Hummingbird

/// The audit log, for admins: filtered listing and a check of the whole chain.
struct AuditRoutes {
    let services: BerthServices

    /// An audit entry as the API shows it: its chained fields plus `time` in ISO-8601.
    struct EntryView: Encodable, Sendable {
        var entry: AuditEntry

        enum Key: String, CodingKey { case time }

        func encode(to encoder: any Encoder) throws {
            try entry.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(entry.time, forKey: .time)
        }
    }

    /// A page of entries and the cursor for the next one.
    struct PageView: Encodable, Sendable {
        var items: [EntryView]
        /// Pass as `after` to read on; nil when this page was not full.
        var nextAfter: Int64?
    }

    /// The chain check, with the head signed by the server's key.
    struct VerificationView: Codable, Sendable {
        var valid: Bool
        var entries: Int64
        var headSequence: Int64?
        var headHash: String?
        var problem: AuditProblem?
        /// Ed25519 signature (base64) of `berth-audit-v1 head <sequence> <hash>`, when there is a head.
        var headSignature: String?
        var publicKey: String
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/audit") { request, context in
            _ = try context.requireAdmin()
            let query = try Self.query(request.uri.queryParameters)
            let entries = try await services.store.auditEntries(query)
            let next = entries.count == query.limit ? entries.last?.sequence : nil
            return try JSONResponse.make(PageView(items: entries.map { EntryView(entry: $0) }, nextAfter: next))
        }
        table.on(.get, "/api/v1/audit/verify") { _, context in
            _ = try context.requireAdmin()
            let result = try await services.audit.verify()
            var signature: String?
            if let sequence = result.headSequence, let hash = result.headHash {
                signature = try services.recordings.signer.sign(Data(Self.headStatement(sequence: sequence, hash: hash).utf8)).base64EncodedString()
            }
            return try JSONResponse.make(VerificationView(
                valid: result.valid, entries: result.entries, headSequence: result.headSequence, headHash: result.headHash,
                problem: result.problem, headSignature: signature, publicKey: services.recordings.signer.publicKeyBase64
            ))
        }
    }

    /// What the head signature covers.
    static func headStatement(sequence: Int64, hash: String) -> String {
        "\(AuditChain.tag) head \(sequence) \(hash)"
    }

    /// The filter from `user`, `action`, `target`, `since`, `until` (ISO-8601), `after`, `order` and `limit`.
    static func query(_ parameters: Parameters) throws -> AuditQuery {
        var query = AuditQuery(limit: try InstanceRoutes.limit(parameters.get("limit")))
        query.actorID = parameters.get("user")
        query.action = parameters.get("action")
        query.target = parameters.get("target")
        query.since = try date(parameters.get("since"), name: "since")
        query.until = try date(parameters.get("until"), name: "until")
        if let after = parameters.get("after") {
            guard let sequence = Int64(after), sequence >= 0 else {
                throw BerthError.badRequest("invalid_query", "'after' must be a sequence number (a whole number, 0 or more).")
            }
            query.afterSequence = sequence
        }
        switch parameters.get("order") {
        case nil, "asc": query.newestFirst = false
        case "desc": query.newestFirst = true
        case let other?: throw BerthError.badRequest("invalid_query", "'order' must be asc or desc, not '\(other.prefix(40))'.")
        }
        return query
    }

    static func date(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw BerthError.badRequest("invalid_query", "'\(name)' must be an ISO-8601 time such as 2026-11-23T10:00:00Z.")
    }
}
