/// Terminal output as plain text: what a person would read on the screen, for prompts and logs.
/// Escape sequences (CSI, OSC, DCS and the like) are removed, a carriage return starts its line
/// over, a backspace erases the character before it, and other control characters are dropped.
public enum TerminalText {
    /// `bytes` of terminal output as plain lines joined by `\n` (invalid UTF-8 shows as U+FFFD).
    public static func plain<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var lines: [String.UnicodeScalarView] = []
        var line = String.UnicodeScalarView()
        var state = State.text
        var pendingReturn = false
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let value = scalar.value
            switch state {
            case .escape:
                switch value {
                case 0x5B: state = .csi  // ESC [
                case 0x5D, 0x50, 0x58, 0x5E, 0x5F: state = .string  // OSC, DCS, SOS, PM, APC
                case 0x20...0x2F: state = .escapeIntermediate  // ESC ( B and friends
                default: state = .text  // a two-character sequence such as ESC 7 or ESC =
                }
                continue
            case .escapeIntermediate:
                if !(0x20...0x2F).contains(value) { state = .text }
                continue
            case .csi:
                if (0x40...0x7E).contains(value) { state = .text }
                continue
            case .string:
                if value == 0x07 { state = .text } else if value == 0x1B { state = .stringEscape }
                continue
            case .stringEscape:
                state = value == 0x5C ? .text : .string  // ESC \ ends the string
                continue
            case .text:
                break
            }
            if pendingReturn {
                pendingReturn = false
                // A lone carriage return rewrites the line (progress bars, prompts redrawn).
                if value != 0x0A { line = String.UnicodeScalarView() }
            }
            switch value {
            case 0x1B: state = .escape
            case 0x9B: state = .csi
            case 0x9D, 0x90: state = .string
            case 0x0A:
                lines.append(line)
                line = String.UnicodeScalarView()
            case 0x0D: pendingReturn = true
            case 0x08:
                if !line.isEmpty { line.removeLast() }
            case 0x09: line.append(scalar)
            case 0x00...0x1F, 0x7F...0x9F: continue
            default: line.append(scalar)
            }
        }
        lines.append(line)
        return lines.map { String($0) }.joined(separator: "\n")
    }

    /// The last `lines` non-blank-ended lines of `text`, at most `bytes` UTF-8 bytes of them (cut at
    /// a character boundary), trailing blank lines dropped.
    public static func tail(_ text: String, lines: Int, bytes: Int) -> String {
        var kept = text.split(separator: "\n", omittingEmptySubsequences: false)
        while let last = kept.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { kept.removeLast() }
        let result = kept.suffix(max(0, lines)).joined(separator: "\n")
        guard result.utf8.count > bytes else { return result }
        let end = Array(result.utf8.suffix(max(0, bytes)))
        let start = end.firstIndex { $0 & 0b1100_0000 != 0b1000_0000 } ?? end.endIndex
        return String(decoding: end[start...], as: UTF8.self)
    }

    private enum State {
        case text, escape, escapeIntermediate, csi, string, stringEscape
    }
}
