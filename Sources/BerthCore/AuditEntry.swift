import Crypto
import Foundation

/// One entry of the audit log: who did what, to which target, from where, and how it ended.
///
/// Entries form a hash chain: each `hash` covers the entry's fields and the previous entry's
/// hash (see ``AuditChain``), so an edited, removed or reordered entry breaks every hash after it.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// Position in the chain, from 1, without gaps.
    public var sequence: Int64
    /// When it happened, in whole milliseconds since 1970 (the unit the hash covers).
    public var timeMilliseconds: Int64
    /// The acting user's id, `system` for Berth's own actions, nil when nobody authenticated.
    public var actorID: String?
    /// The acting user's name at the time.
    public var actorName: String?
    /// `admin`, `player`, `system`, or nil when nobody authenticated.
    public var actorRole: String?
    /// The client's address.
    public var clientIP: String?
    /// The client's `User-Agent`, at most 256 characters.
    public var userAgent: String?
    /// What was done: `METHOD /route/{param}` for API calls, a dotted name for Berth's own.
    public var action: String
    /// The object acted on (an instance, recording, user… id), when there is one.
    public var target: String?
    /// The HTTP status, or 0 for Berth's own actions.
    public var status: Int
    /// `ok`, or the error's stable code.
    public var result: String
    /// Free text (for instance the reason of a deletion).
    public var detail: String?
    /// The previous entry's hash; 64 zeros for the first entry.
    public var previousHash: String
    /// This entry's hash (lowercase hex SHA-256).
    public var hash: String

    /// The JSON names the API and `berth audit export` use.
    enum CodingKeys: String, CodingKey {
        case sequence, timeMilliseconds, actorID = "actorId", actorName, actorRole, clientIP = "clientIp", userAgent, action, target
        case status, result, detail, previousHash, hash
    }

    /// The time as a date.
    public var time: Date { Date(timeIntervalSince1970: Double(timeMilliseconds) / 1000) }

    /// Creates an entry; ``AuditChain/seal(_:after:)`` fills `sequence`, `previousHash` and `hash`.
    public init(
        sequence: Int64 = 0, time: Date, actorID: String?, actorName: String?, actorRole: String?, clientIP: String?,
        userAgent: String?, action: String, target: String?, status: Int, result: String, detail: String? = nil,
        previousHash: String = "", hash: String = ""
    ) {
        self.sequence = sequence
        self.timeMilliseconds = Int64((time.timeIntervalSince1970 * 1000).rounded())
        self.actorID = actorID
        self.actorName = actorName
        self.actorRole = actorRole
        self.clientIP = clientIP
        self.userAgent = userAgent.map { String($0.prefix(256)) }
        self.action = action
        self.target = target
        self.status = status
        self.result = result
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// The audit log's hash chain.
///
/// An entry's hash is the SHA-256 of `berth-audit-v1\n` followed by each field, in this order,
/// as `<UTF-8 byte count>:<value>\n` (a missing value is written `-1:\n`): previousHash,
/// sequence, timeMilliseconds, actorID, actorName, actorRole, clientIP, userAgent, action,
/// target, status, result, detail. Numbers are written in decimal. The format is plain so that a
/// third party can check an export (`berth audit export`) without Berth; docs/audit-log.md has a
/// short Python checker.
public enum AuditChain {
    /// The domain tag hashed first; recordings use a different one.
    public static let tag = "berth-audit-v1"
    /// The `previousHash` of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// The hash of `entry` as it stands (its own `hash` field is not covered).
    public static func hash(of entry: AuditEntry) -> String {
        var text = tag + "\n"
        let fields: [String?] = [
            entry.previousHash, String(entry.sequence), String(entry.timeMilliseconds), entry.actorID, entry.actorName,
            entry.actorRole, entry.clientIP, entry.userAgent, entry.action, entry.target, String(entry.status), entry.result,
            entry.detail,
        ]
        for field in fields {
            if let field {
                text += "\(field.utf8.count):\(field)\n"
            } else {
                text += "-1:\n"
            }
        }
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `entry` placed after `previous` (nil for the first entry): sequence, previous hash and hash set.
    public static func seal(_ entry: AuditEntry, after previous: AuditEntry?) -> AuditEntry {
        var sealed = entry
        sealed.sequence = (previous?.sequence ?? 0) + 1
        sealed.previousHash = previous?.hash ?? genesis
        sealed.hash = hash(of: sealed)
        return sealed
    }

    /// The first problem in `entries` (ascending, starting at `previous`'s successor), or nil
    /// when every entry follows the one before it and hashes to its `hash`.
    public static func firstProblem(in entries: [AuditEntry], after previous: AuditEntry? = nil) -> AuditProblem? {
        var last = previous
        for entry in entries {
            let expectedSequence = (last?.sequence ?? 0) + 1
            if entry.sequence != expectedSequence {
                return AuditProblem(sequence: entry.sequence, problem: "expected entry \(expectedSequence) here, found \(entry.sequence): an entry is missing or out of order")
            }
            if entry.previousHash != (last?.hash ?? genesis) {
                return AuditProblem(sequence: entry.sequence, problem: "its previous hash does not match the entry before it")
            }
            if hash(of: entry) != entry.hash {
                return AuditProblem(sequence: entry.sequence, problem: "its contents do not match its hash: it was edited")
            }
            last = entry
        }
        return nil
    }
}

/// Where and why an audit chain breaks.
public struct AuditProblem: Codable, Sendable, Equatable {
    /// The first entry that does not check.
    public var sequence: Int64
    /// What is wrong with it.
    public var problem: String

    /// Creates a finding.
    public init(sequence: Int64, problem: String) {
        self.sequence = sequence
        self.problem = problem
    }
}

/// A filter over the audit log.
public struct AuditQuery: Sendable, Equatable {
    /// Only this actor's entries.
    public var actorID: String?
    /// Only entries whose action contains this text.
    public var action: String?
    /// Only entries about this target.
    public var target: String?
    /// Only entries at or after this time.
    public var since: Date?
    /// Only entries before this time.
    public var until: Date?
    /// Only entries with a larger sequence (a cursor for paging).
    public var afterSequence: Int64?
    /// Newest first instead of oldest first.
    public var newestFirst: Bool
    /// At most this many.
    public var limit: Int

    /// Creates a query; the default returns the oldest 100 entries.
    public init(
        actorID: String? = nil, action: String? = nil, target: String? = nil, since: Date? = nil, until: Date? = nil,
        afterSequence: Int64? = nil, newestFirst: Bool = false, limit: Int = 100
    ) {
        self.actorID = actorID
        self.action = action
        self.target = target
        self.since = since
        self.until = until
        self.afterSequence = afterSequence
        self.newestFirst = newestFirst
        self.limit = limit
    }
}
