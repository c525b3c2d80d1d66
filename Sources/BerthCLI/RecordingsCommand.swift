import ArgumentParser
import BerthAPI
import BerthCore
import BerthRecording
import Foundation

/// `berth recordings`: verify recordings and export the key that signs them.
struct RecordingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "List, verify, analyse and delete terminal recordings; export the public key that signs them.",
        subcommands: [
            RecordingsListCommand.self, RecordingsVerifyCommand.self, RecordingsAnalyseCommand.self, RecordingsDeleteCommand.self,
            RecordingsExportKeyCommand.self,
        ]
    )
}

/// `berth recordings list`.
struct RecordingsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List recordings, newest first (admin token).")

    @Option(help: "Only this instance's recordings.")
    var instance: String?

    @Option(help: "Only recordings of this user's instances.")
    var user: String?

    @Option(help: "Only recordings of this environment.")
    var environment: String?

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let query = Operations.ListRecordings.Input.Query(instance: instance, user: user, environment: environment)
        let recordings = try await server.call { client in
            switch try await client.listRecordings(query: query) {
            case .ok(let answer): return try answer.body.json.items ?? []
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(recordings) }
        CLISupport.printTable(
            ["ID", "INSTANCE", "ENVIRONMENT", "TERMINAL", "STARTED", "ENDED", "BYTES"],
            recordings.map { recording in
                [
                    recording.id, recording.instanceId, recording.environment, recording.terminal, CLISupport.text(recording.startedAt),
                    recording.endedAt.map(CLISupport.text) ?? "", String(recording.bytes),
                ]
            }
        )
    }
}

/// `berth recordings analyse`.
struct RecordingsAnalyseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyse",
        abstract: "Show a recording's signals: commands, pastes, typing cadence, idle periods and active time.",
        discussion: "Signals are evidence with their time in the recording, not verdicts. The player at /recordings/<id> links each one to its moment."
    )

    @Argument(help: "A recording id (rec_…).")
    var id: String

    @Option(name: .customLong("paste-chars"), help: "Characters within 100 ms that count as a paste (default: the server's, 20).")
    var pasteChars: Int?

    @Option(name: .customLong("idle-seconds"), help: "Seconds without activity that count as idle (default: the server's, 30).")
    var idleSeconds: Double?

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let analysis = try await server.call { client in
            switch try await client.analyseRecording(path: .init(id: id), query: .init(pasteChars: pasteChars, idleSeconds: idleSeconds)) {
            case .ok(let answer): return try answer.body.json
            case .badRequest(let answer): throw ServerCallError(try answer.body.json)
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        if output.json { return try CLISupport.printJSON(analysis) }
        func at(_ seconds: Double) -> String { String(format: "%8.2fs", seconds) }
        print("duration \(at(analysis.duration)), active \(at(analysis.activeSeconds)); input recorded: \(analysis.inputRecorded ? "yes" : "no")")
        let cadence = analysis.cadence
        print("cadence: \(cadence.keystrokes) keystrokes, median \(cadence.medianIntervalMs.map { "\($0) ms" } ?? "-"), p90 \(cadence.p90IntervalMs.map { "\($0) ms" } ?? "-"), \(cadence.keysPerMinute.map { "\($0)/min" } ?? "-")")
        for command in analysis.commands { print("\(at(command.time))  command  \(command.text.debugDescription)\(command.approximate ? " (edited)" : "")") }
        for paste in analysis.pastes { print("\(at(paste.time))  paste    \(paste.kind.rawValue), \(paste.chars) chars: \(paste.text.debugDescription)") }
        for idle in analysis.idle { print("\(at(idle.start))  idle     \(String(format: "%.1f", idle.seconds)) s") }
        for marker in analysis.markers { print("\(at(marker.time))  marker   \(marker.label.debugDescription)") }
    }
}

/// `berth recordings delete`.
struct RecordingsDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an ended recording and its files; the deletion is written to the audit log."
    )

    @Argument(help: "A recording id (rec_…).")
    var id: String

    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await server.call { client in
            switch try await client.deleteRecording(path: .init(id: id)) {
            case .noContent: return
            case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
            case .forbidden(let answer): throw ServerCallError(try answer.body.json)
            case .notFound(let answer): throw ServerCallError(try answer.body.json)
            case .conflict(let answer): throw ServerCallError(try answer.body.json)
            case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
            }
        }
        print("deleted \(id)")
    }
}

/// `berth recordings verify`.
struct RecordingsVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a recording's hash chain and signatures.",
        discussion: """
            Given a .cast file, verifies it locally against its .cast.chain file, with --public-key \
            (base64, as `berth recordings export-key` prints it) or the key in --data-dir: no server \
            or database is needed. Given a recording id (rec_…), asks the server. Exits with status 1 \
            when the recording fails verification.
            """
    )

    @Argument(help: "A recording id (rec_…) or a .cast file.")
    var recording: String

    @Option(name: .customLong("public-key"), help: "The Ed25519 public key in base64 (for a .cast file).")
    var publicKey: String?

    @Option(name: .customLong("data-dir"), help: "The server's data directory, to read its key (default: BERTH_DATA_DIR or ./data).")
    var dataDir: String?

    @OptionGroup var server: ServerOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let report: Components.Schemas.VerificationReport
        if FileManager.default.fileExists(atPath: recording) {
            let key: String
            if let publicKey {
                key = publicKey
            } else {
                key = try RecordingKeyFile.signer(dataDir: dataDir).publicKeyBase64
            }
            let cast = URL(fileURLWithPath: recording)
            let local = RecordingVerifier().verify(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: try RecordingVerifier.publicKey(base64: key)
            )
            // The same report as the server's, so --json reads alike for a file and an id.
            report = Components.Schemas.VerificationReport(
                valid: local.valid, segments: local.segments, bytesVerified: local.bytesVerified, finalized: local.finalized,
                unverifiedTailBytes: local.unverifiedTailBytes, problems: local.problems
            )
        } else {
            guard recording.hasPrefix("rec_") else {
                throw ValidationError("'\(recording)' is neither a file nor a recording id (rec_…).")
            }
            report = try await server.call { client in
                switch try await client.verifyRecording(path: .init(id: recording)) {
                case .ok(let answer): return try answer.body.json
                case .unauthorized(let answer): throw ServerCallError(try answer.body.json)
                case .forbidden(let answer): throw ServerCallError(try answer.body.json)
                case .notFound(let answer): throw ServerCallError(try answer.body.json)
                case .undocumented(let status, let payload): throw await ServerCallError.undocumented(status, payload)
                }
            }
        }
        if output.json {
            try CLISupport.printJSON(report)
        } else {
            print(report.valid ? "valid" : "INVALID", report.finalized ? "(finalized)" : "(not finalized: live, or its writer stopped)")
            print("\(report.segments) segment(s), \(report.bytesVerified) byte(s) verified, \(report.unverifiedTailBytes) unverified byte(s) at the end")
            for problem in report.problems { print("  - \(problem)") }
        }
        if !report.valid { throw ExitCode(1) }
    }
}

/// `berth recordings export-key`.
struct RecordingsExportKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-key",
        abstract: "Print the public key that signs recordings (base64 Ed25519), for third-party verification."
    )

    @Option(name: .customLong("data-dir"), help: "The server's data directory (default: BERTH_DATA_DIR or ./data).")
    var dataDir: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let signer = try RecordingKeyFile.signer(dataDir: dataDir)
        if output.json {
            try CLISupport.printJSON(["algorithm": "ed25519", "publicKey": signer.publicKeyBase64])
        } else {
            print(signer.publicKeyBase64)
        }
    }
}

/// The server's recording key in a data directory.
enum RecordingKeyFile {
    static func signer(dataDir: String?) throws -> RecordingSigner {
        let directory = dataDir ?? ProcessInfo.processInfo.environment["BERTH_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        let url = URL(fileURLWithPath: directory).appendingPathComponent("keys/recording-ed25519.key")
        guard let signer = try RecordingSigner.load(at: url) else {
            throw BerthError(.recordingKeyNotFound, "No recording key at \(url.path); pass --data-dir, or --public-key for a file.")
        }
        return signer
    }
}
