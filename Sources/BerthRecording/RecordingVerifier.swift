@preconcurrency import Crypto
import Foundation

/// What verifying a recording found.
public struct VerificationReport: Sendable, Equatable, Codable {
    /// True when nothing is wrong and at least the header segment verifies.
    ///
    /// A recording that was never closed (the server crashed) is valid but not ``finalized``.
    public var valid: Bool
    /// Segments that verify, counted from the header without a gap.
    public var segments: Int
    /// Bytes of the `.cast` file those segments cover, from byte 0.
    public var bytesVerified: Int
    /// True when a valid final record seals the chain, so nothing was cut from its end.
    public var finalized: Bool
    /// Bytes after the last segment that no record covers; a crash mid-flush can leave some.
    public var unverifiedTailBytes: Int
    /// Each problem found, saying what is wrong and where; empty when valid.
    public var problems: [String]

    /// Creates a report from its parts.
    public init(valid: Bool, segments: Int, bytesVerified: Int, finalized: Bool, unverifiedTailBytes: Int, problems: [String]) {
        self.valid = valid
        self.segments = segments
        self.bytesVerified = bytesVerified
        self.finalized = finalized
        self.unverifiedTailBytes = unverifiedTailBytes
        self.problems = problems
    }
}

/// Checks a recording against its chain file and a public key the caller trusts.
///
/// The key always comes from the caller (the server's own, or one exported to a third party),
/// never from the files being checked. The `.cast` file is streamed segment by segment in
/// bounded reads, so memory stays flat however long the recording is; the chain file, about
/// 250 bytes per flush, is read whole.
public struct RecordingVerifier: Sendable {
    /// Bytes read from the `.cast` file at a time.
    public var readSize: Int
    /// The most problems a report lists; the rest are counted in a last line.
    public var maximumProblems: Int

    /// Creates a verifier; `readSize` bounds the memory a verification uses.
    public init(readSize: Int = 1 << 20, maximumProblems: Int = 20) {
        self.readSize = max(4096, readSize)
        self.maximumProblems = max(1, maximumProblems)
    }

    /// Parses an exported public key: the 32 raw bytes in base64.
    public static func publicKey(base64 text: String) throws -> Curve25519.Signing.PublicKey {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else {
            throw RecordingError.key("The public key is not 32 bytes in base64. Export it again with the server's key command.")
        }
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        } catch {
            throw RecordingError.key("The public key is not a valid Ed25519 key.", cause: error)
        }
    }

    /// Verifies `castURL` against `chainURL` with `publicKey`; problems are reported, not thrown.
    public func verify(castURL: URL, chainURL: URL, publicKey: Curve25519.Signing.PublicKey) -> VerificationReport {
        var check = VerificationRun(publicKey: publicKey, maximumProblems: maximumProblems)
        let chainText: Data
        do {
            chainText = try Data(contentsOf: chainURL)
        } catch {
            return check.report(problem: "the chain file \(chainURL.lastPathComponent) cannot be read")
        }
        let cast: FileHandle
        let castSize: Int
        do {
            cast = try FileHandle(forReadingFrom: castURL)
            castSize = Int(try cast.seekToEnd())
        } catch {
            return check.report(problem: "the recording \(castURL.lastPathComponent) cannot be read")
        }
        defer { try? cast.close() }
        check.run(records: Self.records(in: chainText), cast: cast, castSize: castSize, readSize: readSize)
        return check.report(castSize: castSize)
    }

    /// Splits the chain file into decoded lines; an unreadable line is kept as nil with its number.
    ///
    /// A last line without its newline is dropped: a crash can cut the final write short, and the
    /// bytes it would have sealed are then reported as the unverified tail.
    static func records(in data: Data) -> [(line: Int, record: ChainRecord?)] {
        let decoder = JSONDecoder()
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // After the last newline comes either nothing or a cut-short line.
        lines.removeLast()
        return lines.enumerated().map { index, line in
            (index + 1, try? decoder.decode(ChainRecord.self, from: Data(line)))
        }
    }
}

/// One verification's state, walked through the chain records in file order.
private struct VerificationRun {
    /// The largest segment number, offset or length accepted (1 PiB), far beyond any recording.
    static let maximumNumber = 1 << 50

    let publicKey: Curve25519.Signing.PublicKey
    let maximumProblems: Int
    var problems: [String] = []
    var expectedSegment = 0
    var expectedOffset = 0
    var previousChain = RecordingChain.genesis
    var verifiedSegments = 0
    var verifiedBytes = 0
    var intact = true
    var finalized = false
    var sawFinal = false
    var namedKey: String?

    init(publicKey: Curve25519.Signing.PublicKey, maximumProblems: Int) {
        self.publicKey = publicKey
        self.maximumProblems = maximumProblems
    }

    mutating func run(records: [(line: Int, record: ChainRecord?)], cast: FileHandle, castSize: Int, readSize: Int) {
        if records.isEmpty { problem("the chain file has no records, so not even the header is sealed") }
        for (line, record) in records {
            guard let record else {
                problem("chain line \(line) is not a valid chain record")
                continue
            }
            if sawFinal {
                problem("chain line \(line) follows the final record")
                continue
            }
            if record.final == true {
                checkFinal(record, line: line)
            } else {
                checkSegment(record, line: line, cast: cast, castSize: castSize, readSize: readSize)
            }
        }
    }

    /// Checks one segment, then resynchronises on the record so a single edit is reported once.
    private mutating func checkSegment(_ record: ChainRecord, line: Int, cast: FileHandle, castSize: Int, readSize: Int) {
        // The bounds keep the arithmetic below from overflowing on forged numbers.
        let limit = VerificationRun.maximumNumber
        guard let index = record.segment, let offset = record.offset, let length = record.length,
            let sha = record.sha256, let chainHex = record.chain, let signature = record.signature,
            (0...limit).contains(index), (0...limit).contains(offset), (0...limit).contains(length)
        else {
            problem("chain line \(line) is not a valid segment record")
            return
        }
        let range = "bytes \(offset)..<\(offset + length)"
        var ok = true
        if index != expectedSegment {
            problem("segment \(index) is out of order: chain line \(line) should hold segment \(expectedSegment)")
            ok = false
        }
        if offset != expectedOffset {
            problem("segment \(index) starts at byte \(offset), but the previous segment ends at byte \(expectedOffset)")
            ok = false
        }
        if offset + length > castSize {
            problem("the recording is shorter than its segments (truncated at byte \(castSize); segment \(index) needs \(range))")
            ok = false
        } else if let digest = Self.digest(of: cast, offset: offset, length: length, readSize: readSize) {
            if RecordingChain.hex(digest) != sha {
                problem("segment \(index) (\(range)): content does not match its hash")
                ok = false
            }
        } else {
            problem("segment \(index) (\(range)) cannot be read")
            ok = false
        }
        let recordedChain = Self.bytes(hex: chainHex)
        if let shaBytes = Self.bytes(hex: sha), shaBytes.count == 32,
            RecordingChain.link(previous: previousChain, segmentDigest: shaBytes) == recordedChain
        {
            // The chain follows from the previous record.
        } else {
            problem("segment \(index): chain value does not follow from the segment before it (a record was removed, reordered or forged)")
            ok = false
        }
        if !isValid(signature: signature, message: RecordingChain.segmentMessage(chainHex: chainHex)) {
            problem("signature of segment \(index) is invalid")
            ok = false
        }
        if ok && intact {
            verifiedSegments += 1
            verifiedBytes = offset + length
        } else {
            intact = false
        }
        expectedSegment = index + 1
        expectedOffset = offset + length
        previousChain = recordedChain ?? previousChain
    }

    private mutating func checkFinal(_ record: ChainRecord, line: Int) {
        sawFinal = true
        namedKey = record.publicKey
        guard let segments = record.segments, let bytes = record.bytes, let chainHex = record.chain, let signature = record.signature
        else {
            problem("chain line \(line) is not a valid final record")
            return
        }
        var ok = true
        if segments != expectedSegment || bytes != expectedOffset {
            problem("the final record seals \(segments) segments and \(bytes) bytes, but the chain has \(expectedSegment) segments and \(expectedOffset) bytes")
            ok = false
        }
        if Self.bytes(hex: chainHex) != previousChain {
            problem("the final record's chain value does not match the last segment")
            ok = false
        }
        let message = RecordingChain.finalMessage(chainHex: chainHex, segments: segments, bytes: bytes)
        if !isValid(signature: signature, message: message) {
            problem("signature of the final record is invalid")
            ok = false
        }
        finalized = ok
    }

    private func isValid(signature base64: String, message: [UInt8]) -> Bool {
        guard let signature = Data(base64Encoded: base64) else { return false }
        return publicKey.isValidSignature(signature, for: message)
    }

    private mutating func problem(_ text: String) {
        problems.append(text)
        intact = false
    }

    /// The report after a run: tail bytes, the key hint, and the verdict.
    mutating func report(castSize: Int) -> VerificationReport {
        let tail = max(0, castSize - expectedOffset)
        if tail > 0 && finalized {
            problem("\(tail) bytes follow the end of the finalized recording (bytes \(expectedOffset)..<\(castSize))")
            finalized = false
        }
        if problems.contains(where: { $0.hasPrefix("signature of") }), let namedKey,
            namedKey != publicKey.rawRepresentation.base64EncodedString()
        {
            // The likeliest explanation goes first.
            problems.insert("the recording names a different signing key (\(namedKey)); check that the right public key was given", at: 0)
        }
        if problems.count > maximumProblems {
            let more = problems.count - maximumProblems
            problems = Array(problems.prefix(maximumProblems)) + ["and \(more) more problems"]
        }
        return VerificationReport(
            valid: problems.isEmpty && verifiedSegments > 0, segments: verifiedSegments, bytesVerified: verifiedBytes,
            finalized: finalized, unverifiedTailBytes: tail, problems: problems)
    }

    /// A report for a recording that could not be opened at all.
    mutating func report(problem text: String) -> VerificationReport {
        problem(text)
        return VerificationReport(valid: false, segments: 0, bytesVerified: 0, finalized: false, unverifiedTailBytes: 0, problems: problems)
    }

    private static func digest(of file: FileHandle, offset: Int, length: Int, readSize: Int) -> [UInt8]? {
        var hasher = SHA256()
        do {
            try file.seek(toOffset: UInt64(offset))
            var remaining = length
            while remaining > 0 {
                guard let chunk = try file.read(upToCount: min(remaining, readSize)), !chunk.isEmpty else { return nil }
                hasher.update(data: chunk)
                remaining -= chunk.count
            }
        } catch {
            return nil
        }
        return Array(hasher.finalize())
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
