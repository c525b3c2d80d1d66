import Foundation

/// Parses human-written durations such as `90s`, `30m`, `2h` or `1h30m` into seconds.
public enum DurationText {
    /// Seconds for `text`, or nil when it is not a positive duration.
    public static func seconds(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        if let plain = Int(trimmed) { return plain > 0 ? plain : nil }
        var total = 0
        var digits = ""
        for character in trimmed {
            if character.isNumber {
                digits.append(character)
                continue
            }
            guard let value = Int(digits) else { return nil }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            // Absurd values ("9999999999999999d") must be rejected, not trap on overflow.
            let (part, overflowed) = value.multipliedReportingOverflow(by: unit)
            let (sum, sumOverflowed) = total.addingReportingOverflow(part)
            guard !overflowed, !sumOverflowed else { return nil }
            total = sum
            digits = ""
        }
        guard digits.isEmpty, total > 0 else { return nil }
        return total
    }

    /// The shortest text `seconds(_:)` reads back to the same value, e.g. `5400` → `1h30m`.
    public static func format(_ seconds: Int) -> String {
        var rest = seconds
        var out = ""
        for (unit, suffix) in [(86400, "d"), (3600, "h"), (60, "m")] where rest >= unit {
            out += "\(rest / unit)\(suffix)"
            rest %= unit
        }
        if rest > 0 || out.isEmpty { out += "\(rest)s" }
        return out
    }
}

/// Parses Docker-style byte sizes such as `128m`, `1g`, `512k` or `1048576` (binary units).
public enum ByteSizeText {
    /// Bytes for `text`, or nil when it is not a positive size.
    public static func bytes(_ text: String) -> Int64? {
        var trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.hasSuffix("ib") { trimmed.removeLast(2) } else if trimmed.hasSuffix("b") { trimmed.removeLast() }
        guard let last = trimmed.last else { return nil }
        let multiplier: Int64
        switch last {
        case "k": multiplier = 1 << 10
        case "m": multiplier = 1 << 20
        case "g": multiplier = 1 << 30
        default: multiplier = 1
        }
        if multiplier != 1 { trimmed.removeLast() }
        guard let value = Int64(trimmed), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}
