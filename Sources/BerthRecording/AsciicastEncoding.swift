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
        // Encoding into raw memory sized for the worst case (six bytes per input byte, `\u00XX`)
        // and appending once is several times faster than appending byte by byte.
        let encoded = [UInt8](unsafeUninitializedCapacity: bytes.count * 6 + 2) { buffer, initialized in
            initialized = byteClasses.withUnsafeBufferPointer { encodeQuoted(bytes, into: buffer, classes: $0) }
        }
        out.append(contentsOf: encoded)
    }

    /// How the encoder treats each byte value: copied as is, escaped, or the start of a multi-byte sequence.
    private static let byteClasses: [UInt8] = (0...255).map { byte in
        switch byte {
        case 0x00..<0x20, 0x22, 0x5C, 0x7F: escapedClass
        case 0x80...: multiByteClass
        default: plainClass
        }
    }
    private static let plainClass: UInt8 = 0
    private static let escapedClass: UInt8 = 1
    private static let multiByteClass: UInt8 = 2

    /// Writes the quoted string into `buffer`, which holds six bytes per input byte plus two; returns its length.
    private static func encodeQuoted(
        _ bytes: UnsafeBufferPointer<UInt8>, into buffer: UnsafeMutableBufferPointer<UInt8>, classes: UnsafeBufferPointer<UInt8>
    ) -> Int {
        var written = 0
        func put(_ byte: UInt8) {
            buffer[written] = byte
            written += 1
        }
        func copyRun(_ start: Int, _ end: Int) {
            guard start < end else { return }
            _ = UnsafeMutableBufferPointer(rebasing: buffer[written..<(written + end - start)])
                .initialize(fromContentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
            written += end - start
        }
        func putUnicodeEscape(_ scalar: UInt16) {
            put(UInt8(ascii: "\\"))
            put(UInt8(ascii: "u"))
            for shift in stride(from: 12, through: 0, by: -4) {
                let digit = UInt8((scalar >> UInt16(shift)) & 0xF)
                put(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            }
        }

        put(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let count = bytes.count
        let raw = UnsafeRawBufferPointer(bytes)
        while index < count {
            // Skip eight plain bytes at a time; terminal output is mostly such runs.
            if index + 8 <= count && isPlain(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
                continue
            }
            let windowEnd = min(index + 8, count)
            while index < windowEnd {
                let byte = bytes[index]
                let byteClass = classes[Int(byte)]
                if byteClass == plainClass {
                    index += 1
                    continue
                }
                if byteClass == escapedClass {
                    copyRun(runStart, index)
                    switch byte {
                    case 0x22: put(UInt8(ascii: "\\")); put(UInt8(ascii: "\""))
                    case 0x5C: put(UInt8(ascii: "\\")); put(UInt8(ascii: "\\"))
                    case 0x0A: put(UInt8(ascii: "\\")); put(UInt8(ascii: "n"))
                    case 0x0D: put(UInt8(ascii: "\\")); put(UInt8(ascii: "r"))
                    case 0x09: put(UInt8(ascii: "\\")); put(UInt8(ascii: "t"))
                    default: putUnicodeEscape(UInt16(byte))
                    }
                    index += 1
                    runStart = index
                    continue
                }
                let (valid, length) = sequence(in: bytes, at: index)
                if !valid {
                    copyRun(runStart, index)
                    put(0xEF)
                    put(0xBF)
                    put(0xBD)
                    runStart = index + length
                } else if byte == 0xE2 && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9) {
                    copyRun(runStart, index)
                    putUnicodeEscape(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029)
                    runStart = index + length
                }
                // Any other valid character stays in the run that is copied as is.
                index += length
            }
        }
        copyRun(runStart, count)
        put(UInt8(ascii: "\""))
        return written
    }

    /// Whether all eight bytes of `word` are printable ASCII other than `"` and `\\`.
    @inline(__always)
    private static func isPlain(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        // A byte is zero exactly when (v - 1) & ~v sets its high bit (the classic SWAR test).
        func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highBits != 0 }
        if word & highBits != 0 { return false }  // non-ASCII
        if (word &- ones &* 0x20) & ~word & highBits != 0 { return false }  // below 0x20
        if (word &+ ones) & highBits != 0 { return false }  // 0x7F: only it reaches 0x80 with no byte above 0x7F
        return !hasZeroByte(word ^ (ones &* 0x22)) && !hasZeroByte(word ^ (ones &* 0x5C))
    }

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
