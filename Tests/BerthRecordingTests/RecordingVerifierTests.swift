@testable import BerthRecording
import Foundation
import Testing

/// A segment as its chain record describes it.
struct SegmentSpan {
    var index: Int
    var offset: Int
    var length: Int
    var end: Int { offset + length }
}

/// The segment records of a chain file, in file order.
func segmentSpans(_ chain: URL) throws -> [SegmentSpan] {
    try chainLines(chain).compactMap { line in
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        guard let index = object["segment"] as? Int, let offset = object["offset"] as? Int, let length = object["length"] as? Int else {
            return nil
        }
        return SegmentSpan(index: index, offset: offset, length: length)
    }
}

@Suite("Recording verifier")
struct RecordingVerifierTests {
    let signer = RecordingSigner.ephemeral()
    let verifier = RecordingVerifier()

    func verify(_ sample: SampleRecording) -> VerificationReport {
        verifier.verify(castURL: sample.cast, chainURL: sample.chain, publicKey: signer.publicKey)
    }

    @Test("every single-byte edit anywhere in a recording is detected and located")
    func everyByteEdit() async throws {
        try await withTemporaryDirectory { directory in
            // A short recording keeps this at one verification per byte.
            let cast = directory.appendingPathComponent("short.cast")
            let writer = try RecordingWriter(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: RecordingHeader(width: 80, height: 24),
                mode: .inputOutput, signer: signer)
            await writer.output(Array("héllo ✓\r\n".utf8))
            await writer.input(Array("ls\r".utf8))
            try await writer.flush()
            await writer.resize(cols: 100, rows: 30)
            await writer.output(Array("你好 🚢".utf8))
            try await writer.flush()
            await writer.marker("disconnect")
            try await writer.close()
            let sample = SampleRecording(
                cast: cast, chain: RecordingChain.chainURL(for: cast), expectedOutput: "", expectedInput: "", expectedControl: [])
            let original = try Data(contentsOf: sample.cast)
            let spans = try segmentSpans(sample.chain)
            #expect(spans.count == 4)
            for offset in 0..<original.count {
                var edited = original
                edited[offset] ^= 0x01
                try edited.write(to: sample.cast)
                let report = verify(sample)
                let span = try #require(spans.first { $0.offset <= offset && offset < $0.end })
                #expect(!report.valid)
                #expect(report.finalized)  // The final record is intact; the content is not.
                #expect(report.problems == ["segment \(span.index) (bytes \(span.offset)..<\(span.end)): content does not match its hash"])
                #expect(report.segments == span.index && report.bytesVerified == span.offset)
            }
        }
    }

    @Test("a truncated recording is invalid and says where it was cut")
    func truncation() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let original = try Data(contentsOf: sample.cast)
            let spans = try segmentSpans(sample.chain)
            for cut in [0, spans[1].offset, spans[2].offset + 5, original.count - 1] {
                try original.prefix(cut).write(to: sample.cast)
                let report = verify(sample)
                #expect(!report.valid, "cut at \(cut)")
                #expect(report.problems.contains { $0.contains("the recording is shorter than its segments (truncated at byte \(cut)") })
            }
        }
    }

    @Test("swapping two event lines inside one segment is detected")
    func swappedLines() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            var lines = try castLines(sample.cast)
            // Lines 1 and 2 are the first events, both in segment 1 (the first flush).
            #expect(lines[1] != lines[2])
            lines.swapAt(1, 2)
            try Data(lines.map { $0 + [0x0A] }.joined()).write(to: sample.cast)
            let report = verify(sample)
            #expect(!report.valid)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.hasPrefix("segment 1 (bytes ") == true)
        }
    }

    @Test("removing an event line is detected")
    func removedLine() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            var lines = try castLines(sample.cast)
            lines.remove(at: 3)
            try Data(lines.map { $0 + [0x0A] }.joined()).write(to: sample.cast)
            #expect(!verify(sample).valid)
        }
    }

    @Test("removing, reordering or duplicating a chain record is detected")
    func chainRecordEdits() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let original = try chainLines(sample.chain)
            #expect(original.count == 5)  // four segments and the final record

            var removed = original
            removed.remove(at: 2)
            try writeChainLines(removed, to: sample.chain)
            var report = verify(sample)
            #expect(!report.valid)
            #expect(report.problems.contains("segment 3 is out of order: chain line 3 should hold segment 2"))
            #expect(report.segments == 2)

            var swapped = original
            swapped.swapAt(1, 2)
            try writeChainLines(swapped, to: sample.chain)
            report = verify(sample)
            #expect(!report.valid)
            #expect(report.problems.contains("segment 2 is out of order: chain line 2 should hold segment 1"))

            var duplicated = original
            duplicated.insert(original[2], at: 3)
            try writeChainLines(duplicated, to: sample.chain)
            #expect(!verify(sample).valid)

            try writeChainLines(original + [original[4]], to: sample.chain)
            report = verify(sample)
            #expect(report.problems == ["chain line 6 follows the final record"])

            try writeChainLines(Array(original.dropFirst()), to: sample.chain)
            #expect(!verify(sample).valid)
        }
    }

    @Test("without its final record a recording is valid but not finalized, so the caller can tell")
    func missingFinalRecord() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            try writeChainLines(Array(try chainLines(sample.chain).dropLast()), to: sample.chain)
            let report = verify(sample)
            #expect(report.valid && !report.finalized)
            #expect(report.bytesVerified == (try Data(contentsOf: sample.cast)).count)
        }
    }

    @Test("a final record copied from a segment, or claiming fewer segments, is rejected")
    func forgedFinalRecord() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let lines = try chainLines(sample.chain)
            let spans = try segmentSpans(sample.chain)
            // Cut the last segment and fake an end with the previous segment's own signature.
            let kept = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
            let chain = try #require(kept["chain"] as? String)
            let signature = try #require(kept["signature"] as? String)
            let fake = #"{"final":true,"segments":3,"bytes":\#(spans[2].end),"chain":"\#(chain)","signature":"\#(signature)"}"#
            try writeChainLines(Array(lines[0...2]) + [fake], to: sample.chain)
            try Data(contentsOf: sample.cast).prefix(spans[2].end).write(to: sample.cast)
            let report = verify(sample)
            #expect(!report.valid && !report.finalized)
            #expect(report.problems == ["signature of the final record is invalid"])
        }
    }

    @Test("a chain rewritten for edited content without the key fails on the signatures")
    func forgedChain() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            var cast = try Data(contentsOf: sample.cast)
            let spans = try segmentSpans(sample.chain)
            let target = spans[2].offset + 20
            cast[target] = cast[target] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
            try cast.write(to: sample.cast)
            // Recompute every hash and chain value as an attacker can; the signatures stay old.
            var previous = RecordingChain.genesis
            var lines: [String] = []
            let original = try chainLines(sample.chain)
            for (line, span) in zip(original, spans) {
                var record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let digest = RecordingChain.sha256(cast[span.offset..<span.end])
                previous = RecordingChain.link(previous: previous, segmentDigest: digest)
                record["sha256"] = RecordingChain.hex(digest)
                record["chain"] = RecordingChain.hex(previous)
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self))
            }
            try writeChainLines(lines + [original[4]], to: sample.chain)
            let report = verify(sample)
            #expect(!report.valid && !report.finalized)
            #expect(report.problems.contains("signature of segment 2 is invalid"))
            #expect(report.problems.contains("signature of segment 3 is invalid"))
            #expect(!report.problems.contains("signature of segment 1 is invalid"))
            #expect(report.segments == 2)
        }
    }

    @Test("the wrong public key fails every signature and points at the key")
    func wrongKey() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let other = RecordingSigner.ephemeral()
            let report = verifier.verify(castURL: sample.cast, chainURL: sample.chain, publicKey: other.publicKey)
            #expect(!report.valid && !report.finalized)
            #expect(report.segments == 0)
            #expect(report.problems.contains("signature of segment 0 is invalid"))
            #expect(report.problems.first?.contains("names a different signing key (\(signer.publicKeyBase64))") == true)
            let short = RecordingVerifier(maximumProblems: 2).verify(castURL: sample.cast, chainURL: sample.chain, publicKey: other.publicKey)
            #expect(short.problems.count == 3)
            #expect(short.problems.last == "and \(report.problems.count - 2) more problems")
        }
    }

    @Test("missing or unreadable files are problems, not crashes")
    func missingFiles() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let nowhere = directory.appendingPathComponent("nowhere.cast")
            #expect(!verifier.verify(castURL: nowhere, chainURL: sample.chain, publicKey: signer.publicKey).valid)
            #expect(!verifier.verify(castURL: sample.cast, chainURL: nowhere, publicKey: signer.publicKey).valid)
            try Data().write(to: sample.chain)
            #expect(verify(sample).problems.first == "the chain file has no records, so not even the header is sealed")
            try Data("{not json\n".utf8).write(to: sample.chain)
            #expect(verify(sample).problems.first == "chain line 1 is not a valid chain record")
        }
    }

    @Test("absurd numbers in a forged record are reported, not trusted")
    func absurdNumbers() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let lines = try chainLines(sample.chain)
            for (key, value) in [("length", "9223372036854775807"), ("offset", "-5"), ("segment", "9223372036854775807"), ("length", "1e300")] {
                var record = lines[1]
                record = record.replacingOccurrences(of: #""\#(key)":[0-9]+"#, with: "\"\(key)\":\(value)", options: .regularExpression)
                try writeChainLines([lines[0], record] + lines[2...], to: sample.chain)
                let report = verify(sample)
                #expect(!report.valid, "\(key) \(value)")
                #expect(report.problems.contains { $0.hasPrefix("chain line 2 is not a valid") }, "\(key) \(value)")
            }
        }
    }

    @Test("bytes appended after a finalized recording are a problem")
    func appendedAfterFinal() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let size = try Data(contentsOf: sample.cast).count
            let handle = try FileHandle(forWritingTo: sample.cast)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("[9.0,\"o\",\"extra\"]\n".utf8))
            try handle.close()
            let report = verify(sample)
            #expect(!report.valid && !report.finalized)
            #expect(report.unverifiedTailBytes == 18)
            #expect(report.problems == ["18 bytes follow the end of the finalized recording (bytes \(size)..<\(size + 18))"])
        }
    }
}

@Suite("Recording after a crash")
struct RecordingCrashTests {
    let signer = RecordingSigner.ephemeral()

    func openWriter(_ cast: URL) throws -> RecordingWriter {
        try RecordingWriter(
            castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: RecordingHeader(width: 80, height: 24, title: "crash"),
            mode: .inputOutput, signer: signer)
    }

    @Test("files copied mid-session (as a kill -9 leaves them) verify up to the last flush")
    func copiedMidSession() async throws {
        try await withTemporaryDirectory { directory in
            let cast = directory.appendingPathComponent("live/session.cast")
            let writer = try openWriter(cast)
            for round in 0..<3 {
                await writer.output(Array("round \(round) ✓\r\n".utf8))
                await writer.input(Array("echo \(round)\r".utf8))
                try await writer.flush()
            }
            await writer.output(Array("never flushed".utf8))
            let flushed = await writer.flushedBytes
            let copy = directory.appendingPathComponent("copy.cast")
            try FileManager.default.copyItem(at: cast, to: copy)
            try FileManager.default.copyItem(at: RecordingChain.chainURL(for: cast), to: RecordingChain.chainURL(for: copy))
            try await writer.close()

            let report = RecordingVerifier().verify(castURL: copy, chainURL: RecordingChain.chainURL(for: copy), publicKey: signer.publicKey)
            #expect(report.problems == [])
            #expect(report.valid && !report.finalized)
            #expect(report.segments == 4 && report.bytesVerified == flushed && report.unverifiedTailBytes == 0)
            #expect(!(try String(contentsOf: copy, encoding: .utf8)).contains("never flushed"))

            // A crash between writing a segment and sealing it leaves an unverified tail, not an error.
            let handle = try FileHandle(forWritingTo: copy)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("[1.0,\"o\",\"half".utf8))
            try handle.close()
            let tail = RecordingVerifier().verify(castURL: copy, chainURL: RecordingChain.chainURL(for: copy), publicKey: signer.publicKey)
            #expect(tail.valid && !tail.finalized && tail.unverifiedTailBytes == 14 && tail.bytesVerified == flushed)

            let complete = RecordingVerifier().verify(castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: signer.publicKey)
            #expect(complete.valid && complete.finalized)
        }
    }

    @Test("a writer dropped without close leaves a valid, unfinalized recording")
    func droppedWithoutClose() async throws {
        try await withTemporaryDirectory { directory in
            let cast = directory.appendingPathComponent("dropped.cast")
            var flushed = 0
            do {
                let writer = try openWriter(cast)
                await writer.marker("connect user usr_x")
                await writer.output(Array("hello\r\n".utf8))
                try await writer.flush()
                await writer.output(Array("lost".utf8))
                flushed = await writer.flushedBytes
            }
            let report = RecordingVerifier().verify(castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: signer.publicKey)
            #expect(report.valid && !report.finalized)
            #expect(report.bytesVerified == flushed && report.segments == 2)
            #expect(try parseCast(cast).events.map(\.data) == ["connect user usr_x", "hello\r\n"])
        }
    }
}
