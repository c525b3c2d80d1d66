/// Generates the opaque identifiers Berth hands out (`inst_…`, `usr_…`, `team_…`, `tok_…`).
public enum Identifier {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// A new random identifier with the given prefix, e.g. `inst_5k2m9x0c7q1r`.
    public static func make(_ prefix: String, length: Int = 16) -> String {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] }
        return prefix + "_" + String(body)
    }

    /// True when `value` could be an identifier: short, and made of safe characters only.
    public static func isWellFormed(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 64
            && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}
