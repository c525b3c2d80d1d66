/// JSON string encoding straight into a byte buffer, repairing invalid UTF-8 on the way.
enum JSONText {
    /// Appends `text` as a quoted JSON string.
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendQuoted(repairing: $0, to: &out) }
    }

    /// Appends bytes as a quoted JSON string; each invalid UTF-8 sequence becomes U+FFFD.
    ///
    /// Invalid input is replaced per maximal subpart, as `String(decoding:as:)` does, so the text
    /// is the same whichever way a stream was chunked. Validating and escaping happen in one pass
    /// because this runs on every byte a terminal prints.
    ///
    /// Control characters and DEL are escaped so a recording never carries raw terminal control
    /// bytes (and never a raw CR, which line-oriented readers would take as a line end). U+2028 and
    /// U+2029 are escaped too: they are line terminators in JavaScript and for `str.splitlines`.
    /// Everything else stays raw UTF-8, which keeps non-ASCII output compact.
    static func appendQuoted(repairing bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // At most six output bytes per input byte (`\u00XX`); growing once keeps appends cheap.
        let worstCase = out.count + bytes.count * 6 + 2
        if out.capacity < worstCase { out.reserveCapacity(Swift.max(worstCase, out.capacity * 2)) }
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x7F {
                    index += 1
                    continue
                }
                appendRun(bytes, runStart, index, &out)
                appendEscapedASCII(byte, to: &out)
                index += 1
                runStart = index
                continue
            }
            let (valid, length) = sequence(in: bytes, at: index)
            if valid {
                if byte == 0xE2 && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9) {
                    appendRun(bytes, runStart, index, &out)
                    appendUnicodeEscape(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029, to: &out)
                    runStart = index + length
                }
            } else {
                appendRun(bytes, runStart, index, &out)
                out.append(contentsOf: replacementCharacter)
                runStart = index + length
            }
            index += length
        }
        appendRun(bytes, runStart, count, &out)
        out.append(UInt8(ascii: "\""))
    }

    /// U+FFFD in UTF-8.
    private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Whether a valid UTF-8 sequence starts at `index`, and its length; when it is invalid, the
    /// length of its maximal subpart (at least 1), which one U+FFFD replaces.
    @inline(__always)
    private static func sequence(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (valid: Bool, length: Int) {
        let needed: Int
        // The second byte's range rules out overlong forms, surrogates and code points above U+10FFFF.
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch bytes[index] {
        case 0xC2...0xDF: needed = 2
        case 0xE0: needed = 3; low = 0xA0
        case 0xED: needed = 3; high = 0x9F
        case 0xE1...0xEF: needed = 3
        case 0xF0: needed = 4; low = 0x90
        case 0xF4: needed = 4; high = 0x8F
        case 0xF1...0xF3: needed = 4
        default: return (false, 1)
        }
        var position = 1
        while position < needed {
            guard index + position < bytes.count else { return (false, position) }
            let byte = bytes[index + position]
            let inRange = position == 1 ? (low...high).contains(byte) : byte & 0xC0 == 0x80
            guard inRange else { return (false, position) }
            position += 1
        }
        return (true, needed)
    }

    /// The length of a trailing sequence that is valid so far but unfinished, else 0.
    static func incompleteSuffixLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        // A sequence is at most four bytes, so an unfinished one starts in the last three.
        var start = bytes.count - 1
        while start >= 0 && start >= bytes.count - 3 {
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 {
                guard (0xC2...0xF4).contains(byte) else { return 0 }
                let (valid, length) = sequence(in: bytes, at: start)
                // Unfinished means cut short by the end of the buffer, not broken by a bad byte.
                return !valid && start + length == bytes.count ? length : 0
            }
            start -= 1
        }
        return 0
    }

    private static func appendRun(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ out: inout [UInt8]) {
        if start < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end])) }
    }

    private static func appendEscapedASCII(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: out.append(UInt8(ascii: "\""))
        case 0x5C: out.append(UInt8(ascii: "\\"))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.removeLast()
            appendUnicodeEscape(UInt16(byte), to: &out)
        }
    }

    private static func appendUnicodeEscape(_ scalar: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            let digit = UInt8((scalar >> UInt16(shift)) & 0xF)
            out.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        }
    }
}

/// Holds back an unfinished UTF-8 character at the end of a chunk until the rest arrives.
///
/// What it releases is then encoded whole; for any chunking, the released bytes decode to the
/// same text as the whole stream would.
struct UTF8Carry: Sendable {
    private var held: [UInt8] = []

    /// The number of bytes held back, waiting for the rest of a character.
    var heldCount: Int { held.count }

    /// Returns the held bytes and `chunk` up to an unfinished trailing character, which it keeps.
    mutating func complete(_ chunk: [UInt8]) -> ArraySlice<UInt8> {
        var bytes: [UInt8]
        if held.isEmpty {
            bytes = chunk
        } else {
            bytes = held
            bytes.append(contentsOf: chunk)
            held.removeAll(keepingCapacity: true)
        }
        let unfinished = bytes.withUnsafeBufferPointer { JSONText.incompleteSuffixLength($0) }
        guard unfinished > 0 else { return bytes[...] }
        let cut = bytes.count - unfinished
        held.append(contentsOf: bytes[cut...])
        return bytes[..<cut]
    }

    /// Returns what is held back (an unfinished character, so invalid) and empties the carry.
    mutating func finish() -> [UInt8] {
        defer { held.removeAll() }
        return held
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
        let complete = outputCarry.complete(bytes)
        guard !complete.isEmpty else { return false }
        append(code: "o", utf8: complete, at: time, to: &out)
        return true
    }

    /// Appends an `i` event for the complete characters in `bytes`; returns false when none were complete.
    @discardableResult
    mutating func input(_ bytes: [UInt8], atMicroseconds time: Int64, to out: inout [UInt8]) -> Bool {
        let complete = inputCarry.complete(bytes)
        guard !complete.isEmpty else { return false }
        append(code: "i", utf8: complete, at: time, to: &out)
        return true
    }

    /// Appends an `r` event with data `COLSxROWS`.
    mutating func resize(cols: Int, rows: Int, atMicroseconds time: Int64, to out: inout [UInt8]) {
        append(code: "r", utf8: Array("\(cols)x\(rows)".utf8)[...], at: time, to: &out)
    }

    /// Appends an `m` (marker) event.
    mutating func marker(_ label: String, atMicroseconds time: Int64, to out: inout [UInt8]) {
        append(code: "m", utf8: Array(label.utf8)[...], at: time, to: &out)
    }

    /// Emits what the carries still hold (as U+FFFD) so no received byte goes unrecorded.
    mutating func finish(atMicroseconds time: Int64, to out: inout [UInt8]) {
        let output = outputCarry.finish()
        if !output.isEmpty { append(code: "o", utf8: output[...], at: time, to: &out) }
        let input = inputCarry.finish()
        if !input.isEmpty { append(code: "i", utf8: input[...], at: time, to: &out) }
    }

    private mutating func append(code: Unicode.Scalar, utf8 data: ArraySlice<UInt8>, at time: Int64, to out: inout [UInt8]) {
        // Players expect times that never go backwards.
        let time = max(time, lastMicroseconds)
        lastMicroseconds = time
        out.append(UInt8(ascii: "["))
        Self.appendSeconds(microseconds: time, to: &out)
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: code))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ","))
        data.withUnsafeBufferPointer { JSONText.appendQuoted(repairing: $0, to: &out) }
        out.append(UInt8(ascii: "]"))
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends `microseconds` as seconds with exactly six decimals, such as `1.234567`.
    static func appendSeconds(microseconds: Int64, to out: inout [UInt8]) {
        let value = max(0, microseconds)
        out.append(contentsOf: String(value / 1_000_000).utf8)
        out.append(UInt8(ascii: "."))
        let fraction = value % 1_000_000
        var divisor: Int64 = 100_000
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }
}
