import ArgumentParser
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

    /// The filter's query pairs.
    var queryPairs: [(String, String?)] {
        [("user", user), ("action", action), ("target", target), ("since", since), ("until", until)]
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
    var after: Int64 = 0

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let client = try server.client()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var cursor = after
        while true {
            let query = ServerClient.queryString(filters.queryPairs + [("after", String(cursor)), ("limit", "1000")])
            let page = try await client.call(.GET, "/api/v1/audit?\(query)", as: AuditPage.self)
            for item in page.items {
                print(String(decoding: try encoder.encode(item), as: UTF8.self))
            }
            guard let next = page.nextAfter, let last = page.items.last, last.sequence > cursor else { break }
            cursor = next
        }
    }

    /// One page of `GET /api/v1/audit`: entries kept as they came, with their sequence.
    struct AuditPage: Decodable {
        var items: [Line]
        var nextAfter: Int64?
    }

    /// An entry as it came, plus its sequence for paging.
    struct Line: Codable {
        var sequence: Int64
        var value: JSONValue

        init(from decoder: any Decoder) throws {
            value = try JSONValue(from: decoder)
            sequence = try AuditEntry(from: decoder).sequence
        }

        func encode(to encoder: any Encoder) throws {
            try value.encode(to: encoder)
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

    struct Report: Codable {
        var valid: Bool
        var entries: Int64
        var headSequence: Int64?
        var headHash: String?
        var problem: AuditProblem?
        var headSignature: String?
        var publicKey: String?
    }

    func run() async throws {
        let report: Report
        if let file {
            report = try Self.check(file: file)
        } else {
            report = try await server.client().call(.GET, "/api/v1/audit/verify", as: Report.self)
        }
        if output.json {
            try CLISupport.printJSON(report)
        } else {
            print(report.valid ? "valid" : "INVALID", "(\(report.entries) entries read)")
            if let sequence = report.headSequence, let hash = report.headHash { print("head: \(sequence) \(hash)") }
            if let signature = report.headSignature { print("head signature: \(signature)") }
            if let problem = report.problem { print("  - entry \(problem.sequence): \(problem.problem)") }
        }
        if !report.valid { throw ExitCode(1) }
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
