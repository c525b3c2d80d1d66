import ArgumentParser
import BerthAPI
import BerthCore
import Foundation

/// `berth audit`: export the audit log and check its hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Export the audit log as JSON lines, and check its hash chain.",
        subcommands: [AuditExportCommand.self, AuditVerifyCommand.self]
    )
}

/// Filters shared by the audit commands.
struct AuditFilterOptions: ParsableArguments {
    @Option(help: "Only this actor's entries (a user id, or 'system').")
    var user: String?

    @Option(help: "Only entries whose action contains this text, e.g. 'DELETE' or 'recordings'.")
    var action: String?

    @Option(help: "Only entries about this target id.")
    var target: String?

    @Option(help: "Only entries at or after this ISO-8601 time.")
    var since: String?

    @Option(help: "Only entries before this ISO-8601 time.")
    var until: String?

    /// The query of `GET /api/v1/audit` for these filters, from entry `after` on.
    func query(after: Int, limit: Int) throws -> Operations.ListAudit.Input.Query {
        .init(
            user: user, action: action, target: target, since: try Self.time(since, option: "since"), until: try Self.time(until, option: "until"),
            after: after, limit: limit
        )
    }

    /// An ISO-8601 time, with or without fractional seconds, as the server accepts it; anything
    /// else fails as the server would fail it (`invalid_query`, status 1).
    static func time(_ text: String?, option: String) throws -> String? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        if formatter.date(from: text) != nil { return text }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if formatter.date(from: text) != nil { return text }
        throw ServerCallError(code: "invalid_query", message: "'\(option)' must be an ISO-8601 time such as 2026-11-23T10:00:00Z.")
    }
}

/// `berth audit export`.
struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print audit entries as JSON lines, oldest first.",
        discussion: """
            Each line is one entry with its sequence, time, actor, role, IP, user agent, action, \
            target, status, result, detail, previous hash and hash. Without filters the export is \
            the whole chain, which `berth audit verify --file` checks without the server.
            """
    )

    @OptionGroup var filters: AuditFilterOptions

    @Option(help: "Start after this sequence number.")
    var after = 0

    @OptionGroup var server: ServerOptions

    /// Entries per request: the most the server gives.
    static let pageSize = 1000

    func run() async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var cursor = after
        while true {
            let query = try filters.query(after: cursor, limit: Self.pageSize)
            let page = try await server.call { client in
                switch try await client.listAudit(query: query) {
                case .ok(let answer): return try answer.body.json
                case .badRequest(let answer): throw ServerCallError(try answer.body.json)
                case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
                case .forbidden(let answer): throw ServerCallError(try answer.body.json)
                case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
                }
            }
            for entry in page.items {
                print(String(decoding: try encoder.encode(entry), as: UTF8.self))
            }
            guard let next = page.nextAfter, let last = page.items.last, last.sequence > cursor else { break }
            cursor = next
        }
    }
}

/// `berth audit verify`.
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the audit log's hash chain, on the server or in an exported file.",
        discussion: """
            Without --file, asks the server to check its whole chain and prints the head, signed \
            with the server's Ed25519 key. With --file, checks a `berth audit export` file locally \
            (no server needed). Exits with status 1 when the chain is broken.
            """
    )

    @Option(help: "A JSON-lines file written by `berth audit export`.")
    var file: String?

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    /// The result of checking an export file: the server's answer without its signature and key.
    struct Report: Codable {
        var valid: Bool
        var entries: Int64
        var headSequence: Int64?
        var headHash: String?
        var problem: AuditProblem?
    }

    func run() async throws {
        if let file {
            let report = try Self.check(file: file)
            if output.json { try CLISupport.printJSON(report) }
            else {
                Self.printSummary(
                    valid: report.valid, entries: Int(report.entries), headSequence: report.headSequence.map(Int.init), headHash: report.headHash,
                    headSignature: nil, problem: report.problem.map { (Int($0.sequence), $0.problem) }
                )
            }
            if !report.valid { throw ExitCode(1) }
            return
        }
        let report = try await server.call { client in
            switch try await client.verifyAudit() {
            case .ok(let answer): return try answer.body.json
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { try CLISupport.printJSON(report) }
        else {
            Self.printSummary(
                valid: report.valid, entries: report.entries, headSequence: report.headSequence, headHash: report.headHash,
                headSignature: report.headSignature, problem: report.problem.map { ($0.sequence, $0.problem) }
            )
        }
        if !report.valid { throw ExitCode(1) }
    }

    /// The report as text: validity, the head and its signature, the first problem.
    static func printSummary(valid: Bool, entries: Int, headSequence: Int?, headHash: String?, headSignature: String?, problem: (Int?, String?)?) {
        print(valid ? "valid" : "INVALID", "(\(entries) entries read)")
        if let headSequence, let headHash { print("head: \(headSequence) \(headHash)") }
        if let headSignature { print("head signature: \(headSignature)") }
        if let problem { print("  - entry \(problem.0.map(String.init) ?? "?"): \(problem.1 ?? "")") }
    }

    /// Checks an export: every entry must follow the one before it. An export that starts after
    /// the first entry is checked from its own first entry.
    static func check(file: String) throws -> Report {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("Cannot read \(file).")
        }
        var entries: [AuditEntry] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            do {
                entries.append(try JSONDecoder().decode(AuditEntry.self, from: Data(line)))
            } catch {
                return Report(valid: false, entries: Int64(entries.count), problem: AuditProblem(sequence: Int64(number + 1), problem: "line \(number + 1) is not an audit entry"))
            }
        }
        var anchor: AuditEntry?
        if let first = entries.first, first.sequence > 1 {
            // The entry before the export's first is not in the file; trust only its hash.
            var before = first
            before.sequence -= 1
            before.hash = first.previousHash
            anchor = before
        }
        let problem = AuditChain.firstProblem(in: entries, after: anchor)
        return Report(
            valid: problem == nil, entries: Int64(entries.count), headSequence: entries.last?.sequence, headHash: entries.last?.hash,
            problem: problem
        )
    }
}
