import BerthAPI
import BerthCore
import BerthEngine
import Foundation

extension BerthAPIHandler {
    public func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        let query = try Self.auditQuery(input.query)
        let entries = try await services.store.audit.auditEntries(query)
        let next = entries.count == query.limit ? entries.last?.sequence : nil
        return .ok(.init(body: .json(.init(items: try entries.map(Components.Schemas.AuditEntry.init), nextAfter: next.map(Int.init)))))
    }

    public func verifyAudit(_ input: Operations.VerifyAudit.Input) async throws -> Operations.VerifyAudit.Output {
        let result = try await services.audit.verify()
        let signer = services.recordings.signer
        var signature: String?
        if let sequence = result.headSequence, let hash = result.headHash {
            signature = try signer.sign(Data(Self.auditHeadStatement(sequence: sequence, hash: hash).utf8)).base64EncodedString()
        }
        return .ok(.init(body: .json(.init(
            valid: result.valid, entries: Int(result.entries), headSequence: result.headSequence.map(Int.init), headHash: result.headHash,
            problem: result.problem.map { .init(sequence: Int($0.sequence), problem: $0.problem) }, headSignature: signature,
            publicKey: signer.publicKeyBase64
        ))))
    }

    /// What the head signature of `GET /api/v1/audit/verify` covers.
    static func auditHeadStatement(sequence: Int64, hash: String) -> String {
        "\(AuditChain.tag) head \(sequence) \(hash)"
    }

    /// The filter from `user`, `action`, `target`, `since`, `until` (ISO-8601, fractional seconds
    /// allowed), `after`, `order` and `limit`.
    static func auditQuery(_ parameters: Operations.ListAudit.Input.Query) throws -> AuditQuery {
        var query = AuditQuery(limit: try limit(parameters.limit))
        query.actorID = parameters.user
        query.action = parameters.action
        query.target = parameters.target
        query.since = try auditDate(parameters.since, name: "since")
        query.until = try auditDate(parameters.until, name: "until")
        if let after = parameters.after {
            guard after >= 0 else {
                throw BerthError(.invalidQuery, "'after' must be a sequence number (a whole number, 0 or more).")
            }
            query.afterSequence = Int64(after)
        }
        query.newestFirst = parameters.order == .desc
        return query
    }

    static func auditDate(_ text: String?, name: String) throws -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw BerthError(.invalidQuery, "'\(name)' must be an ISO-8601 time such as 2026-11-23T10:00:00Z.")
    }
}

extension Components.Schemas.AuditEntry {
    /// An audit entry as the API shows it: its chained fields plus `time` in ISO-8601.
    init(_ entry: AuditEntry) throws {
        var role: ActorRolePayload?
        if let text = entry.actorRole {
            // Dropping a field would make the entry fail its hash check in an export, as if edited.
            guard let known = ActorRolePayload(rawValue: text) else {
                throw BerthError(.auditEntryInvalid, "Audit entry \(entry.sequence) has actor role '\(text.prefix(40))', which the API does not describe.")
            }
            role = known
        }
        self.init(
            sequence: Int(entry.sequence), time: entry.time, timeMilliseconds: Int(entry.timeMilliseconds), actorId: entry.actorID,
            actorName: entry.actorName, actorRole: role, clientIp: entry.clientIP, userAgent: entry.userAgent, action: entry.action,
            target: entry.target, status: entry.status, result: entry.result, detail: entry.detail, previousHash: entry.previousHash,
            hash: entry.hash
        )
    }
}
