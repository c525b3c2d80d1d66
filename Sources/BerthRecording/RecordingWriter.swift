import Foundation
import Logging

/// Writes one terminal's session as an asciicast v2 file with a signed hash chain beside it.
///
/// Events are encoded into a memory buffer; `flush()` appends the buffer to the `.cast` file as
/// one segment and seals it in the chain file (see ``RecordingChain``). The caller flushes at
/// least once a second and closes the writer when the session ends; the writer also flushes by
/// itself when the buffer reaches `flushThreshold` bytes. After a crash everything up to the last
/// flush verifies.
///
/// Event methods never throw, so the terminal's data path never fails because of the recording.
/// When a write fails the writer logs it, stops recording, and `flush()` and `close()` throw the
/// error.
public actor RecordingWriter {
    /// The default size at which the buffer is flushed without waiting for the caller.
    /// 256 KiB: a terminal printing fast is sealed (and signed) a few times a second, not hundreds.
    public static let defaultFlushThreshold = 256 * 1024

    /// The asciicast file.
    public nonisolated let castURL: URL
    /// The chain file.
    public nonisolated let chainURL: URL
    /// What this writer records; `off` creates no files.
    public nonisolated let mode: RecordingMode

    private let signer: RecordingSigner
    private let start: ContinuousClock.Instant
    private let flushThreshold: Int
    private let logger: Logger
    private var cast: FileHandle?
    private var chain: FileHandle?
    private var encoder = AsciicastEventEncoder()
    private var sealer = ChainSealer()
    private var buffer: [UInt8] = []
    private var failure: RecordingError?

    /// Creates the `.cast` and chain files (0600; a missing parent directory is created 0700) and
    /// writes the header as segment 0.
    ///
    /// - Parameters:
    ///   - startedAt: the instant event times count from; the moment the terminal started.
    ///   - flushThreshold: buffer size in bytes that triggers a flush without waiting for the caller.
    /// - Throws: ``RecordingError`` when a file exists already or cannot be created.
    public init(
        castURL: URL,
        chainURL: URL,
        header: RecordingHeader,
        mode: RecordingMode,
        signer: RecordingSigner,
        startedAt: ContinuousClock.Instant = .now,
        flushThreshold: Int = RecordingWriter.defaultFlushThreshold,
        logger: Logger = Logger(label: "berth.recording")
    ) throws {
        self.castURL = castURL
        self.chainURL = chainURL
        self.mode = mode
        self.signer = signer
        self.start = startedAt
        self.flushThreshold = max(1, flushThreshold)
        var logger = logger
        logger[metadataKey: "recording.path"] = "\(castURL.path)"
        self.logger = logger
        guard mode != .off else { return }

        try PrivateFiles.ensureDirectory(castURL.deletingLastPathComponent())
        try PrivateFiles.ensureDirectory(chainURL.deletingLastPathComponent())
        let cast = try PrivateFiles.createExclusive(castURL)
        let chain: FileHandle
        do {
            chain = try PrivateFiles.createExclusive(chainURL)
        } catch {
            // Leave no header-less half recording behind.
            try? cast.close()
            try? FileManager.default.removeItem(at: castURL)
            throw error
        }
        let headerLine = header.jsonLine()
        let record = try sealer.seal(headerLine, signer: signer)
        try PrivateFiles.writeAll(headerLine, to: cast, path: castURL.path)
        try PrivateFiles.writeAll(record, to: chain, path: chainURL.path)
        self.cast = cast
        self.chain = chain
    }

    /// Bytes of the `.cast` file that are written and sealed in the chain.
    public var flushedBytes: Int { sealer.bytes }

    /// Segments sealed so far, the header segment included.
    public var segmentCount: Int { sealer.segments }

    /// Whether the writer still accepts events: it is recording, not closed and has not failed.
    public var isRecording: Bool { cast != nil && failure == nil }

    /// Records terminal output (`o`); an incomplete trailing character waits for the next chunk.
    public func output(_ bytes: [UInt8], at instant: ContinuousClock.Instant = .now) {
        guard isRecording else { return }
        encoder.output(bytes, atMicroseconds: microseconds(at: instant), to: &buffer)
        flushIfFull()
    }

    /// Records what a client typed or pasted (`i`); only in ``RecordingMode/inputOutput`` mode.
    public func input(_ bytes: [UInt8], at instant: ContinuousClock.Instant = .now) {
        guard isRecording, mode.recordsInput else { return }
        encoder.input(bytes, atMicroseconds: microseconds(at: instant), to: &buffer)
        flushIfFull()
    }

    /// Records a terminal resize (`r`, data `COLSxROWS`).
    public func resize(cols: Int, rows: Int, at instant: ContinuousClock.Instant = .now) {
        guard isRecording else { return }
        encoder.resize(cols: cols, rows: rows, atMicroseconds: microseconds(at: instant), to: &buffer)
        flushIfFull()
    }

    /// Records a marker (`m`), such as `connect user usr_x`, `disconnect`, `share` or `admin kill`.
    public func marker(_ label: String, at instant: ContinuousClock.Instant = .now) {
        guard isRecording else { return }
        encoder.marker(label, atMicroseconds: microseconds(at: instant), to: &buffer)
        flushIfFull()
    }

    /// Writes the buffered events as one signed segment; does nothing when the buffer is empty.
    ///
    /// - Throws: the ``RecordingError`` that stopped the recording, now or earlier.
    public func flush() throws {
        if let failure { throw failure }
        guard let cast, let chain, !buffer.isEmpty else { return }
        do {
            let record = try sealer.seal(buffer, signer: signer)
            // The segment first, then its record: a crash in between leaves an unverified tail,
            // never a record for bytes that are not there.
            try PrivateFiles.writeAll(buffer, to: cast, path: castURL.path)
            try PrivateFiles.writeAll(record, to: chain, path: chainURL.path)
            buffer.removeAll(keepingCapacity: true)
        } catch {
            throw fail(error)
        }
    }

    /// Emits held-back partial characters, flushes, writes the final record, syncs and closes the
    /// files. Calling it again does nothing.
    ///
    /// - Throws: the ``RecordingError`` that stopped the recording, now or earlier.
    public func close(at instant: ContinuousClock.Instant = .now) throws {
        guard let cast, let chain else {
            if let failure { throw failure }
            return
        }
        defer {
            try? cast.close()
            try? chain.close()
            self.cast = nil
            self.chain = nil
        }
        if failure == nil {
            encoder.finish(atMicroseconds: microseconds(at: instant), to: &buffer)
        }
        try flush()
        do {
            try PrivateFiles.writeAll(try sealer.finalRecord(signer: signer), to: chain, path: chainURL.path)
            try PrivateFiles.sync(cast, path: castURL.path)
            try PrivateFiles.sync(chain, path: chainURL.path)
        } catch {
            throw fail(error)
        }
    }

    private func flushIfFull() {
        guard buffer.count >= flushThreshold else { return }
        do {
            try flush()
        } catch {
            // Already logged and kept for the caller's next flush() or close().
        }
    }

    private func fail(_ error: any Error) -> RecordingError {
        let recordingError =
            error as? RecordingError
            ?? RecordingError(code: "recording_io_failed", message: "Recording \(castURL.path) failed.", cause: error)
        if failure == nil {
            failure = recordingError
            buffer = []
            logger.error("Recording stopped after a write failure", metadata: ["error": "\(recordingError)"])
        }
        return recordingError
    }

    private func microseconds(at instant: ContinuousClock.Instant) -> Int64 {
        let components = (instant - start).components
        return components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
