/// JSON string encoding straight into a byte buffer.
enum JSONText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `text` as a quoted JSON string.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendQuoted(utf8: $0, to: &out) }
    }

    /// Appends valid UTF-8 as a quoted JSON string.
    ///
    /// Control characters and DEL are escaped so a recording never carries raw terminal control
    /// bytes (and never a raw CR, which line-oriented readers would take as a line end). U+2028 and
    /// U+2029 are escaped too: they are line terminators in JavaScript and for `str.splitlines`.
    /// Everything else stays raw UTF-8, which keeps non-ASCII output compact.
    static func appendQuoted(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            var width = 1
            switch byte {
            case 0x22: appendRun(bytes, runStart, index, &out); out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: appendRun(bytes, runStart, index, &out); out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: appendRun(bytes, runStart, index, &out); out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: appendRun(bytes, runStart, index, &out); out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: appendRun(bytes, runStart, index, &out); out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                appendRun(bytes, runStart, index, &out)
                appendUnicodeEscape(UInt16(byte), to: &out)
            case 0xE2 where index + 2 < count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                appendRun(bytes, runStart, index, &out)
                appendUnicodeEscape(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029, to: &out)
                width = 3
            default:
                index += 1
                continue
            }
            index += width
            runStart = index
        }
        appendRun(bytes, runStart, count, &out)
        out.append(UInt8(ascii: "\""))
    }

    private static func appendRun(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [UInt8]) {
        if start < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end])) }
    }

    private static func appendUnicodeEscape(_ scalar: UInt16, to out: inout [UInt8]) {
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((scalar >> UInt16(shift)) & 0xF)])
        }
    }
}

/// Turns a byte stream that arrives in arbitrary chunks into text, one complete character at a time.
///
/// A character split across chunks is held back until its last byte arrives, so it is emitted
/// whole; invalid UTF-8 becomes U+FFFD. The text for any chunking equals decoding the whole
/// stream at once.
struct UTF8Carry: Sendable {
    private var held: [UInt8] = []

    /// The number of bytes held back, waiting for the rest of a character.
    var heldCount: Int { held.count }

    /// Decodes everything up to an incomplete trailing character, which it keeps for the next call.
    mutating func decode(_ chunk: [UInt8]) -> String {
        var bytes: [UInt8]
        if held.isEmpty {
            bytes = chunk
        } else {
            bytes = held
            bytes.append(contentsOf: chunk)
            held.removeAll(keepingCapacity: true)
        }
        let incomplete = Self.incompleteSuffixLength(bytes)
        guard incomplete > 0 else { return String(decoding: bytes, as: UTF8.self) }
        let cut = bytes.count - incomplete
        held.append(contentsOf: bytes[cut...])
        return String(decoding: bytes[..<cut], as: UTF8.self)
    }

    /// Decodes whatever is held back (an unfinished character becomes U+FFFD) and empties the carry.
    mutating func finish() -> String {
        guard !held.isEmpty else { return "" }
        defer { held.removeAll() }
        return String(decoding: held, as: UTF8.self)
    }

    /// The length of a trailing sequence that is a valid but unfinished UTF-8 character, else 0.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var index = count - 1
        // A lead byte more than three bytes back would start a sequence of five or more: invalid.
        while index >= 0 && index >= count - 3 {
            let byte = bytes[index]
            guard byte & 0xC0 == 0x80 else {
                let needed: Int
                switch byte {
                case 0xC2...0xDF: needed = 2
                case 0xE0...0xEF: needed = 3
                case 0xF0...0xF4: needed = 4
                default: return 0
                }
                let present = count - index
                guard present < needed else { return 0 }
                if present >= 2 && !isValidSecondByte(bytes[index + 1], after: byte) { return 0 }
                return present
            }
            index -= 1
        }
        return 0
    }

    /// The second-byte limits that rule out overlong forms, surrogates and code points above U+10FFFF.
    private static func isValidSecondByte(_ second: UInt8, after lead: UInt8) -> Bool {
        switch lead {
        case 0xE0: return (0xA0...0xBF).contains(second)
        case 0xED: return (0x80...0x9F).contains(second)
        case 0xF0: return (0x90...0xBF).contains(second)
        case 0xF4: return (0x80...0x8F).contains(second)
        default: return (0x80...0xBF).contains(second)
        }
    }
}

/// Encodes terminal events as asciicast v2 event lines: `[seconds,"code","data"]`.
///
/// A plain value with no I/O: the writer owns one and appends its lines to a buffer.
struct AsciicastEventEncoder: Sendable {
    private var outputCarry = UTF8Carry()
    private var inputCarry = UTF8Carry()
    private var lastMicroseconds: Int64 = 0

    /// Appends an `o` event for the complete characters in `bytes`; returns false when none were complete.
    @discardableResult
    mutating func output(_ bytes: [UInt8], atMicroseconds time: Int64, to out: inout [UInt8]) -> Bool {
        let text = outputCarry.decode(bytes)
        guard !text.isEmpty else { return false }
        append(code: "o", text: text, at: time, to: &out)
        return true
    }

    /// Appends an `i` event for the complete characters in `bytes`; returns false when none were complete.
    @discardableResult
    mutating func input(_ bytes: [UInt8], atMicroseconds time: Int64, to out: inout [UInt8]) -> Bool {
        let text = inputCarry.decode(bytes)
        guard !text.isEmpty else { return false }
        append(code: "i", text: text, at: time, to: &out)
        return true
    }

    /// Appends an `r` event with data `COLSxROWS`.
    mutating func resize(cols: Int, rows: Int, atMicroseconds time: Int64, to out: inout [UInt8]) {
        append(code: "r", text: "\(cols)x\(rows)", at: time, to: &out)
    }

    /// Appends an `m` (marker) event.
    mutating func marker(_ label: String, atMicroseconds time: Int64, to out: inout [UInt8]) {
        append(code: "m", text: label, at: time, to: &out)
    }

    /// Emits what the carries still hold (as U+FFFD) so no received byte goes unrecorded.
    mutating func finish(atMicroseconds time: Int64, to out: inout [UInt8]) {
        let output = outputCarry.finish()
        if !output.isEmpty { append(code: "o", text: output, at: time, to: &out) }
        let input = inputCarry.finish()
        if !input.isEmpty { append(code: "i", text: input, at: time, to: &out) }
    }

    private mutating func append(code: Unicode.Scalar, text: String, at time: Int64, to out: inout [UInt8]) {
        // Players expect times that never go backwards.
        let time = max(time, lastMicroseconds)
        lastMicroseconds = time
        out.append(UInt8(ascii: "["))
        Self.appendSeconds(microseconds: time, to: &out)
        out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: code), UInt8(ascii: "\""), UInt8(ascii: ",")])
        JSONText.appendQuoted(text, to: &out)
        out.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "\n")])
    }

    /// Appends `microseconds` as seconds with exactly six decimals, such as `1.234567`.
    static func appendSeconds(microseconds: Int64, to out: inout [UInt8]) {
        let value = max(0, microseconds)
        out.append(contentsOf: String(value / 1_000_000).utf8)
        out.append(UInt8(ascii: "."))
        var fraction = value % 1_000_000
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: 6)
        for position in stride(from: 5, through: 0, by: -1) {
            digits[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
        }
        out.append(contentsOf: digits)
    }
}
