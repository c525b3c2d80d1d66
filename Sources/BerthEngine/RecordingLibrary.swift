import BerthCore
import BerthRecording
import BerthStore
import BerthTerminal
import Crypto
import Foundation
import Logging
import NIOCore

/// Records each terminal as a signed asciicast file under `<data-dir>/recordings/`, which no
/// instance can see, and lists it in the store.
public struct RecordingLibrary: Sendable {
    /// The data directory recordings live under.
    public let dataDirectory: URL
    /// The server's signing key.
    public let signer: RecordingSigner
    let store: BerthDatabase
    let logger: Logger

    /// Opens the library, creating the server's Ed25519 key on first use (`<data-dir>/keys/`).
    public init(dataDirectory: URL, store: BerthDatabase, logger: Logger) throws {
        self.dataDirectory = dataDirectory
        self.store = store
        self.logger = logger
        self.signer = try RecordingSigner.loadOrCreate(at: dataDirectory.appendingPathComponent("keys/recording-ed25519.key"))
    }

    /// The `.cast` file of a recording.
    public func castURL(_ record: RecordingRecord) -> URL {
        dataDirectory.appendingPathComponent(record.path)
    }

    /// Verifies a recording with the server's public key. A chain cannot prove its own end, so a
    /// session the store knows has ended must also carry its final record.
    public func verify(_ record: RecordingRecord) -> VerificationReport {
        let cast = castURL(record)
        var report = RecordingVerifier().verify(castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: signer.publicKey)
        if record.endedAt != nil && !report.finalized {
            report.valid = false
            report.problems.append("the session ended but the recording has no final record: it was cut short or its end was removed")
        }
        return report
    }

    /// Removes a recording's files and its row. The caller writes the audit entry.
    public func delete(_ record: RecordingRecord) async throws {
        let cast = castURL(record)
        for file in [cast, RecordingChain.chainURL(for: cast)] where FileManager.default.fileExists(atPath: file.path) {
            do {
                try FileManager.default.removeItem(at: file)
            } catch {
                throw BerthError(.recordingDeleteFailed, "Cannot remove \(file.lastPathComponent): \(error.localizedDescription)")
            }
        }
        _ = try await store.recordings.deleteRecording(id: record.id)
        logger.info("recording deleted", metadata: ["recording.id": "\(record.id)", "instance.id": "\(record.instanceID)"])
    }

    /// The analysis of a recording with `thresholds`.
    public func analyse(_ record: RecordingRecord, thresholds: AnalysisThresholds) throws -> RecordingAnalysis {
        guard let data = FileManager.default.contents(atPath: castURL(record).path) else {
            throw BerthError(.recordingFileMissing, "The file of recording \(record.id) is missing from the data directory.")
        }
        return RecordingAnalysis.analyse(cast: data, thresholds: thresholds, recordingId: record.id)
    }

    /// Starts recording a new terminal of `instance`, or nil when its environment records nothing
    /// or the files cannot be made (which is logged; the terminal still works).
    func start(instance: Instance, environment: EnvironmentSpec?, terminal: String, size: TerminalSize) async -> (any TerminalObserver)? {
        let policy = environment?.berth.recording ?? .inputOutput
        let mode: RecordingMode = switch policy {
        case .off: .off
        case .output: .output
        case .inputOutput: .inputOutput
        }
        guard mode != .off else { return nil }
        let id = Identifier.make("rec")
        let path = "recordings/\(instance.id)/\(terminal)-\(id).cast"
        let cast = dataDirectory.appendingPathComponent(path)
        let header = RecordingHeader(
            width: size.cols, height: size.rows, title: "\(instance.environment) \(instance.id) \(terminal)",
            env: ["TERM": "xterm-256color", "SHELL": environment?.berth.terminal.command.first ?? "/bin/sh", "BERTH_RECORDING": id, "BERTH_RECORDING_MODE": mode.rawValue]
        )
        do {
            let writer = try RecordingWriter(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: header, mode: mode, signer: signer, logger: logger
            )
            let record = RecordingRecord(
                id: id, instanceID: instance.id, environment: instance.environment, owner: instance.owner, terminal: terminal,
                path: path, startedAt: Date()
            )
            try await store.recordings.insertRecording(record)
            return TerminalRecorder(writer: writer, recordingID: id, store: store, logger: logger)
        } catch {
            logger.error("recording not started", metadata: ["instance.id": "\(instance.id)", "terminal": "\(terminal)", "error": "\(error)"])
            return nil
        }
    }
}

/// Feeds one terminal's events to its ``RecordingWriter``.
struct TerminalRecorder: TerminalObserver {
    let writer: RecordingWriter
    let recordingID: String
    let store: BerthDatabase
    let logger: Logger

    func output(_ bytes: ByteBuffer) async { await writer.output(Array(bytes.readableBytesView)) }
    func input(_ bytes: ByteBuffer) async { await writer.input(Array(bytes.readableBytesView)) }
    func resized(_ size: TerminalSize) async { await writer.resize(cols: size.cols, rows: size.rows) }
    func marker(_ label: String) async { await writer.marker(label) }

    func flush() async {
        // A writer that failed already logged why; do not repeat it every second.
        guard await writer.isRecording else { return }
        do { try await writer.flush() } catch {
            logger.error("recording flush failed", metadata: ["recording.id": "\(recordingID)", "error": "\(error)"])
        }
    }

    func close() async {
        do { try await writer.close() } catch {
            logger.error("recording close failed", metadata: ["recording.id": "\(recordingID)", "error": "\(error)"])
        }
        try? await store.recordings.finishRecording(id: recordingID, endedAt: Date())
    }
}
