@testable import BerthRecording
import Foundation
import Testing

@Suite("asciicast encoding")
struct EncodingTests {
    /// The text of the `o` events an encoder writes for `chunks`, joined.
    func encodedOutput(_ chunks: [[UInt8]]) throws -> String {
        var encoder = AsciicastEventEncoder()
        var out: [UInt8] = []
        for chunk in chunks { encoder.output(chunk, atMicroseconds: 0, to: &out) }
        encoder.finish(atMicroseconds: 0, to: &out)
        var text = ""
        for line in out.split(separator: UInt8(ascii: "\n")) {
            let event = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [Any])
            text += try #require(event[2] as? String)
        }
        return text
    }

    @Test("a character split at any byte offset comes out whole, and any chunking gives the same text")
    func utf8AtEveryOffset() throws {
        let bytes = Array("a€é你🚢z".utf8) + [0xFF, 0xE2, 0x82] + Array("ok".utf8) + [0xED, 0xA0, 0x80] + [0xF0, 0x9F]
        let expected = String(decoding: bytes, as: UTF8.self)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let chunks = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                #expect(try encodedOutput(chunks) == expected, "split at \(first) and \(second)")
            }
        }
    }

    @Test("random bytes in random chunks decode exactly as Swift decodes the whole stream")
    func randomBytes() throws {
        var random = SplitMix64(seed: 0xB3E7)
        // Bytes around the UTF-8 boundaries, so valid, broken and cut sequences all occur.
        let alphabet: [UInt8] = [0x41, 0x0A, 0x22, 0x5C, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xA8, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<2000 {
            let bytes = (0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            var chunks: [[UInt8]] = []
            var rest = bytes[...]
            while !rest.isEmpty {
                let size = Int(random.next() % 5)
                chunks.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(try encodedOutput(chunks) == String(decoding: bytes, as: UTF8.self), "\(bytes) in \(chunks)")
        }
    }

    @Test("every byte value at every position of a plain ASCII run is encoded correctly")
    func everyByteInPlainRuns() throws {
        // The encoder skips plain ASCII eight bytes at a time; no special byte may slip through.
        let plain = Array("abcdefghijklmnopq".utf8)
        for value in 0...255 {
            for position in plain.indices {
                var bytes = plain
                bytes[position] = UInt8(value)
                var line: [UInt8] = []
                bytes.withUnsafeBufferPointer { JSONText.appendQuoted(repairing: $0, to: &line) }
                #expect(!line.contains { $0 < 0x20 || $0 == 0x7F })
                let decoded = try #require(try JSONSerialization.jsonObject(with: Data(("[" + String(decoding: line, as: UTF8.self) + "]").utf8)) as? [String])
                #expect(decoded == [String(decoding: bytes, as: UTF8.self)], "byte \(value) at \(position)")
            }
        }
    }

    @Test("a character that arrives one byte at a time is held, then released once")
    func byteByByte() {
        var carry = UTF8Carry()
        let bytes = Array("🚢".utf8)
        for byte in bytes.dropLast() {
            #expect(carry.complete([byte]).isEmpty)
        }
        #expect(carry.heldCount == 3)
        #expect(Array(carry.complete([bytes[3]])) == bytes)
        #expect(carry.heldCount == 0)
    }

    @Test("invalid bytes become U+FFFD and are not held back")
    func invalidBytes() throws {
        var carry = UTF8Carry()
        #expect(carry.complete([0x61, 0xFF]).count == 2)
        #expect(carry.complete([0xED, 0xA0]).count == 2)  // a surrogate prefix is broken, not unfinished
        #expect(carry.complete([0xE0, 0x80]).count == 2)  // an overlong prefix too
        #expect(carry.heldCount == 0)
        #expect(try encodedOutput([[0x61, 0xFF], [0xC0, 0x80], [0xED, 0xA0]]) == "a\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}")
        #expect(try encodedOutput([[0xE2, 0x82]]) == "\u{FFFD}")
    }

    @Test("JSON strings escape controls, quotes, backslashes, DEL, U+2028 and U+2029, and round-trip")
    func jsonEscaping() throws {
        var text = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined()
        text += "\"\\/\u{7F} é ✓ \u{2028}\u{2029} 你好 🚢 \u{1b}[31m"
        var line: [UInt8] = []
        JSONText.appendQuoted(text, to: &line)
        #expect(!line.contains { $0 < 0x20 || $0 == 0x7F })
        let raw = String(decoding: line, as: UTF8.self)
        #expect(!raw.contains("\u{2028}") && !raw.contains("\u{2029}"))
        #expect(raw.contains(#"\u0000"#) && raw.contains(#"\u001b"#) && raw.contains(#"\u007f"#) && raw.contains(#"\u2028"#))
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(("[" + raw + "]").utf8)) as? [String])
        #expect(decoded == [text])
    }

    @Test("times have microsecond precision and never go backwards")
    func times() throws {
        var encoder = AsciicastEventEncoder()
        var out: [UInt8] = []
        encoder.marker("a", atMicroseconds: 1_234_567, to: &out)
        encoder.marker("b", atMicroseconds: 5, to: &out)
        encoder.resize(cols: 132, rows: 43, atMicroseconds: 60_000_001, to: &out)
        encoder.output([0xE2], atMicroseconds: 60_000_002, to: &out)  // held, nothing written
        encoder.finish(atMicroseconds: 60_000_003, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == """
            [1.234567,"m","a"]
            [1.234567,"m","b"]
            [60.000001,"r","132x43"]
            [60.000003,"o","\u{FFFD}"]

            """)
    }

    @Test("the header line is compact JSON in a fixed order, with sorted env")
    func header() throws {
        let header = RecordingHeader(width: 80, height: 24, timestamp: 1_700_000_000, title: "a \"b\"\n", env: ["TERM": "xterm", "SHELL": "/bin/sh"])
        #expect(String(decoding: header.jsonLine(), as: UTF8.self) == """
            {"version":2,"width":80,"height":24,"timestamp":1700000000,"title":"a \\"b\\"\\n","env":{"SHELL":"/bin/sh","TERM":"xterm"}}

            """)
        let untitled = RecordingHeader(width: 1, height: 2, timestamp: 3)
        #expect(String(decoding: untitled.jsonLine(), as: UTF8.self) == #"{"version":2,"width":1,"height":2,"timestamp":3,"env":{}}"# + "\n")
    }

    @Test("modes say what they record")
    func modes() {
        #expect(!RecordingMode.off.recordsOutput && !RecordingMode.off.recordsInput)
        #expect(RecordingMode.output.recordsOutput && !RecordingMode.output.recordsInput)
        #expect(RecordingMode.inputOutput.recordsOutput && RecordingMode.inputOutput.recordsInput)
        #expect(RecordingMode(rawValue: "input-output") == .inputOutput)
    }
}

/// A small deterministic random generator, so a failing case can be replayed.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
