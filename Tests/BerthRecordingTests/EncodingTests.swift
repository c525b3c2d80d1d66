@testable import BerthRecording
import Foundation
import Testing

@Suite("asciicast encoding")
struct EncodingTests {
    @Test("a character split at any byte offset comes out whole, and any chunking gives the same text")
    func utf8AtEveryOffset() {
        let bytes = Array("a€é你🚢z".utf8) + [0xFF, 0xE2, 0x82] + Array("ok".utf8) + [0xED, 0xA0, 0x80] + [0xF0, 0x9F]
        let expected = String(decoding: bytes, as: UTF8.self)
        for first in 0...bytes.count {
            for second in first...bytes.count {
                var carry = UTF8Carry()
                let parts = [
                    carry.decode(Array(bytes[..<first])), carry.decode(Array(bytes[first..<second])),
                    carry.decode(Array(bytes[second...])), carry.finish(),
                ]
                #expect(parts.joined() == expected, "split at \(first) and \(second)")
                // Only the invalid bytes ever become U+FFFD, never a split valid character.
                let replacements = parts.joined().unicodeScalars.filter { $0 == "\u{FFFD}" }.count
                #expect(replacements == expected.unicodeScalars.filter { $0 == "\u{FFFD}" }.count)
            }
        }
    }

    @Test("a character that arrives one byte at a time is held, then emitted once")
    func byteByByte() {
        var carry = UTF8Carry()
        let bytes = Array("🚢".utf8)
        for byte in bytes.dropLast() {
            #expect(carry.decode([byte]).isEmpty)
        }
        #expect(carry.heldCount == 3)
        #expect(carry.decode([bytes[3]]) == "🚢")
        #expect(carry.heldCount == 0)
    }

    @Test("invalid bytes become U+FFFD and are not held back")
    func invalidBytes() {
        var carry = UTF8Carry()
        #expect(carry.decode([0x61, 0xFF]) == "a\u{FFFD}")
        #expect(carry.decode([0xC0, 0x80]) == "\u{FFFD}\u{FFFD}")  // overlong
        #expect(carry.decode([0xED, 0xA0]) == "\u{FFFD}\u{FFFD}")  // surrogate prefix: not valid, not held
        #expect(carry.heldCount == 0)
        #expect(carry.decode([0xE2, 0x82]).isEmpty)
        #expect(carry.finish() == "\u{FFFD}")
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
