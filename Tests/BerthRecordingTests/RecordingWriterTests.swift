@testable import BerthRecording
import Foundation
import Testing

@Suite("Recording writer")
struct RecordingWriterTests {
    let signer = RecordingSigner.ephemeral()

    @Test("round trip: every event is in the file, in order, and the recording verifies and is finalized")
    func roundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            let (header, events) = try parseCast(sample.cast)
            #expect(header["version"] as? Int == 2)
            #expect(header["width"] as? Int == 80 && header["height"] as? Int == 24)
            #expect(header["timestamp"] as? Int == 1_700_000_000)
            #expect(header["title"] as? String == "Berth \"sample\" ✓")
            #expect(header["env"] as? [String: String] == ["SHELL": "/bin/sh", "TERM": "xterm-256color"])

            #expect(events.filter { $0.code == "o" }.map(\.data).joined() == sample.expectedOutput)
            #expect(sample.expectedOutput.contains(sampleText) && sample.expectedOutput.contains("\u{FFFD}"))
            #expect(events.filter { $0.code == "i" }.map(\.data).joined() == sample.expectedInput)
            #expect(events.filter { $0.code == "r" || $0.code == "m" }.map { "\($0.code) \($0.data)" } == sample.expectedControl)
            #expect(Set(events.map(\.code)).isSubset(of: ["o", "i", "r", "m"]))
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.time <= $1.time })
            // No event splits a character: U+FFFD appears only for the invalid byte, once per line pair.
            #expect(events.allSatisfy { !$0.data.isEmpty })
            for line in try castLines(sample.cast).dropFirst() {
                let text = String(decoding: line, as: UTF8.self)
                #expect(text.range(of: #"^\[[0-9]+\.[0-9]{6},"[oirm]","#, options: .regularExpression) != nil, "\(text)")
            }

            let report = RecordingVerifier().verify(castURL: sample.cast, chainURL: sample.chain, publicKey: signer.publicKey)
            #expect(report.problems == [])
            #expect(report.valid && report.finalized)
            #expect(report.segments == 4)  // header, two flushes, close
            #expect(report.bytesVerified == (try Data(contentsOf: sample.cast)).count)
            #expect(report.unverifiedTailBytes == 0)
            try assertAsciinemaAccepts(sample)
        }
    }

    @Test("output mode writes no input events; off mode writes no files")
    func modes() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer, mode: .output)
            let events = try parseCast(sample.cast).events
            #expect(!events.contains { $0.code == "i" })
            #expect(events.filter { $0.code == "o" }.map(\.data).joined() == sample.expectedOutput)
            #expect(RecordingVerifier().verify(castURL: sample.cast, chainURL: sample.chain, publicKey: signer.publicKey).valid)
        }
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer, mode: .off)
            #expect(!FileManager.default.fileExists(atPath: sample.cast.path))
            #expect(!FileManager.default.fileExists(atPath: sample.chain.path))
            #expect(!FileManager.default.fileExists(atPath: sample.cast.deletingLastPathComponent().path))
        }
    }

    @Test("files are 0600 and a directory the writer creates is 0700")
    func permissionsArePrivate() async throws {
        try await withTemporaryDirectory { directory in
            let sample = try await writeSampleRecording(in: directory, signer: signer)
            #expect(try permissions(of: sample.cast) == 0o600)
            #expect(try permissions(of: sample.chain) == 0o600)
            #expect(try permissions(of: sample.cast.deletingLastPathComponent()) == 0o700)
        }
    }

    @Test("an existing recording is never overwritten")
    func neverOverwrites() async throws {
        try await withTemporaryDirectory { directory in
            let cast = directory.appendingPathComponent("a.cast")
            try Data("keep".utf8).write(to: cast)
            let error = #expect(throws: RecordingError.self) {
                try RecordingWriter(
                    castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: RecordingHeader(width: 80, height: 24),
                    mode: .output, signer: signer)
            }
            #expect(error?.code == "recording_exists")
            #expect(try String(contentsOf: cast, encoding: .utf8) == "keep")
            #expect(!FileManager.default.fileExists(atPath: RecordingChain.chainURL(for: cast).path))
        }
    }

    @Test("the buffer flushes by itself at the threshold, and nothing is written before a flush")
    func automaticFlush() async throws {
        try await withTemporaryDirectory { directory in
            let cast = directory.appendingPathComponent("auto.cast")
            let writer = try RecordingWriter(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: RecordingHeader(width: 80, height: 24),
                mode: .output, signer: signer, flushThreshold: 1024)
            let headerBytes = await writer.flushedBytes
            await writer.output(Array("small".utf8))
            #expect(try Data(contentsOf: cast).count == headerBytes)
            for _ in 0..<100 { await writer.output([UInt8](repeating: UInt8(ascii: "x"), count: 100)) }
            #expect(await writer.segmentCount > 5)
            try await writer.close()
            let report = RecordingVerifier().verify(castURL: cast, chainURL: RecordingChain.chainURL(for: cast), publicKey: signer.publicKey)
            #expect(report.valid && report.finalized)
            #expect(report.segments == (try chainLines(RecordingChain.chainURL(for: cast))).count - 1)
        }
    }

    @Test("a partial character left at close is recorded as U+FFFD; close twice is harmless")
    func closeEmitsHeldBytes() async throws {
        try await withTemporaryDirectory { directory in
            let cast = directory.appendingPathComponent("held.cast")
            let writer = try RecordingWriter(
                castURL: cast, chainURL: RecordingChain.chainURL(for: cast), header: RecordingHeader(width: 80, height: 24),
                mode: .inputOutput, signer: signer)
            await writer.output(Array("ok".utf8) + [0xE4, 0xBD])
            await writer.input([0xF0])
            try await writer.close()
            try await writer.close()
            await writer.output(Array("after close".utf8))
            let events = try parseCast(cast).events
            #expect(events.map(\.code) == ["o", "o", "i"])
            #expect(events.map(\.data) == ["ok", "\u{FFFD}", "\u{FFFD}"])
        }
    }
}

@Suite("Recording signer")
struct RecordingSignerTests {
    @Test("loadOrCreate creates a 0600 key once and loads the same key afterwards")
    func loadOrCreate() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("keys/recording.key")
            let first = try RecordingSigner.loadOrCreate(at: url)
            #expect(try permissions(of: url) == 0o600)
            #expect(try permissions(of: url.deletingLastPathComponent()) == 0o700)
            let second = try RecordingSigner.loadOrCreate(at: url)
            #expect(first.publicKeyBase64 == second.publicKeyBase64)
            #expect(first.publicKeyRawRepresentation.count == 32)
            let parsed = try RecordingVerifier.publicKey(base64: first.publicKeyBase64 + "\n")
            #expect(parsed.rawRepresentation == first.publicKeyRawRepresentation)
            let signature = try first.sign(Array("message".utf8))
            #expect(parsed.isValidSignature(signature, for: Array("message".utf8)))
            // No temporary files are left beside the key.
            #expect(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["recording.key"])
        }
    }

    @Test("concurrent callers all end up with the same key")
    func concurrentCreation() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("recording.key")
            let keys = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try RecordingSigner.loadOrCreate(at: url).publicKeyBase64 } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(keys.count == 1)
        }
    }

    @Test("a key file others can read, or one that is not a key, is refused with a way out")
    func refusesBadKeys() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("recording.key")
            _ = try RecordingSigner.loadOrCreate(at: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
            let exposed = #expect(throws: RecordingError.self) { try RecordingSigner.loadOrCreate(at: url) }
            #expect(exposed?.message.contains("chmod 600") == true)

            let garbage = directory.appendingPathComponent("garbage.key")
            try Data("not a key".utf8).write(to: garbage)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: garbage.path)
            let invalid = #expect(throws: RecordingError.self) { try RecordingSigner.loadOrCreate(at: garbage) }
            #expect(invalid?.code == "recording_key_invalid")
            #expect(throws: RecordingError.self) { try RecordingVerifier.publicKey(base64: "AAAA") }
        }
    }

    @Test("a key stored as 32 raw bytes loads too")
    func rawKey() async throws {
        try await withTemporaryDirectory { directory in
            let base64 = directory.appendingPathComponent("base64.key")
            let created = try RecordingSigner.loadOrCreate(at: base64)
            let text = String(decoding: try Data(contentsOf: base64), as: UTF8.self)
            let raw = directory.appendingPathComponent("raw.key")
            try #require(Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))).write(to: raw)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: raw.path)
            #expect(try RecordingSigner.loadOrCreate(at: raw).publicKeyBase64 == created.publicKeyBase64)
        }
    }
}

/// Runs `asciinema cat` on a sample recording when `BERTH_ASCIINEMA_CHECK=1` (`make test` sets it
/// after installing asciinema), and checks that it prints exactly the recorded output.
///
/// asciinema 2.2 opens `/dev/tty` even for `cat`, so it runs under `script`, which gives it a
/// terminal also in CI; its standard output goes to a file, untouched by the terminal.
/// `BERTH_RECORDING_SAMPLE_OUT=DIR` keeps a copy of the sample for `scripts/check-asciinema.sh`.
func assertAsciinemaAccepts(_ sample: SampleRecording) throws {
    let environment = ProcessInfo.processInfo.environment
    if let keep = environment["BERTH_RECORDING_SAMPLE_OUT"], !keep.isEmpty {
        let target = URL(fileURLWithPath: keep).appendingPathComponent("sample.cast")
        try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: sample.cast, to: target)
    }
    guard environment["BERTH_ASCIINEMA_CHECK"] == "1" else { return }
    let printed = sample.cast.deletingLastPathComponent().appendingPathComponent("asciinema-cat.out")
    let command = "asciinema cat '\(sample.cast.path)' > '\(printed.path)'"
    let result = try run(["script", "-qec", command, "/dev/null"])
    #expect(result.status == 0, "asciinema cat rejected \(sample.cast.lastPathComponent)")
    #expect(String(decoding: try Data(contentsOf: printed), as: UTF8.self) == sample.expectedOutput)
}
