import ArgumentParser
import BerthCore
import BerthRecording
import Foundation

/// `berth recordings`: verify recordings and export the key that signs them.
struct RecordingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "Verify terminal recordings and export the public key that signs them.",
        subcommands: [RecordingsVerifyCommand.self, RecordingsExportKeyCommand.self]
    )
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
        let report: VerificationReport
        if FileManager.default.fileExists(atPath: recording) {
            let key: String
            if let publicKey {
                key = publicKey
            } else {
                key = try RecordingKeyFile.signer(dataDir: dataDir).publicKeyBase64
            }
            let cast = URL(fileURLWithPath: recording)
            report = RecordingVerifier().verify(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: try RecordingVerifier.publicKey(base64: key)
            )
        } else {
            guard recording.hasPrefix("rec_") else {
                throw ValidationError("'\(recording)' is neither a file nor a recording id (rec_…).")
            }
            report = try await server.client().call(.GET, "/api/v1/recordings/\(ServerClient.pathSegment(recording))/verify", as: VerificationReport.self)
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
            throw BerthError.notFound("recording_key_not_found", "No recording key at \(url.path); pass --data-dir, or --public-key for a file.")
        }
        return signer
    }
}
