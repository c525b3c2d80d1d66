import Crypto
import Foundation

/// One accepted answer of an environment (ctfcli's `flags:`).
public struct FlagSpec: Codable, Sendable, Equatable {
    /// How a submission is compared.
    public enum Kind: String, Codable, Sendable {
        /// Exact text.
        case `static`
        /// A regular expression that must match the whole submission.
        case regex
    }

    /// How a submission is compared.
    public var kind: Kind
    /// The flag text or the pattern.
    public var content: String
    /// ctfcli's `data: case_insensitive`.
    public var caseInsensitive: Bool

    /// Creates a flag.
    public init(kind: Kind, content: String, caseInsensitive: Bool = false) {
        self.kind = kind
        self.content = content
        self.caseInsensitive = caseInsensitive
    }

    /// Whether `submission` (already trimmed) is this flag, as CTFd judges it: static flags
    /// compare the text (lowercased on both sides with `data: case_insensitive`); regex flags are
    /// Python patterns, and CTFd takes `re.match(flag, submission)` and requires the match to be
    /// the whole submission. The pattern is translated to ICU's syntax (``PythonRegex``) and matched
    /// anchored at the start, leftmost-first like Python, so `a|ab` does not accept `ab`.
    public func matches(_ submission: String) -> Bool {
        switch kind {
        case .static:
            return caseInsensitive ? submission.lowercased() == content.lowercased() : submission == content
        case .regex:
            guard let expression = PythonRegex.compile(content, caseInsensitive: caseInsensitive) else { return false }
            let range = NSRange(submission.startIndex..., in: submission)
            guard let match = expression.firstMatch(in: submission, options: [.anchored], range: range) else { return false }
            return match.range == range
        }
    }
}

/// Python's `re` syntax, as CTFd uses for regex flags, translated to ICU's (NSRegularExpression).
///
/// Where they differ:
/// - a `{` that does not start a valid `{m}`, `{m,}`, `{m,n}` or `{,n}` quantifier is a literal in
///   Python and an error in ICU, so it is escaped (`flag{.*LOVE.*}` works); `{,n}` becomes `{0,n}`;
/// - `(?P<name>...)` and `(?P=name)` become numbered groups and back-references (ICU's group
///   names cannot hold `_`);
/// - `\Z` (the very end in Python) becomes ICU's `\z`;
/// - in a character class, `[` and `&` are literals in Python but set syntax in ICU, so they are
///   escaped, as is a `]` right after the opening `[` or `[^`.
public enum PythonRegex {
    /// The longest pattern accepted.
    public static let maximumLength = 4096

    /// The ICU pattern for Python `pattern`, or nil when it is not a pattern Python would accept
    /// (an unknown group name, an unterminated class or group construct).
    public static func translate(_ pattern: String) -> String? {
        let characters = Array(pattern)
        var out = ""
        var index = 0
        var groupCount = 0
        var names: [String: Int] = [:]
        func at(_ offset: Int) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\\":
                guard let next = at(1) else { return nil }
                out += next == "Z" ? "\\z" : "\\\(next)"
                index += 2
            case "[":
                // Copy a character class, escaping what ICU would read as set syntax.
                out.append("[")
                index += 1
                if at(0) == "^" {
                    out.append("^")
                    index += 1
                }
                if at(0) == "]" {
                    out += "\\]"
                    index += 1
                }
                var closed = false
                while index < characters.count {
                    let inner = characters[index]
                    if inner == "\\" {
                        guard let next = at(1) else { return nil }
                        out += next == "Z" ? "Z" : "\\\(next)"
                        index += 2
                        continue
                    }
                    if inner == "]" {
                        out.append("]")
                        index += 1
                        closed = true
                        break
                    }
                    if inner == "[" || inner == "&" || inner == "{" || inner == "}" || inner == "$" {
                        out += "\\\(inner)"
                    } else if inner == "-", at(1) == "-" {
                        out += "\\-"
                    } else {
                        out.append(inner)
                    }
                    index += 1
                }
                guard closed else { return nil }
            case "(":
                if at(1) == "?" && at(2) == "P" {
                    if at(3) == "<" {
                        guard let end = characters[(index + 4)...].firstIndex(of: ">") else { return nil }
                        let name = String(characters[(index + 4)..<end])
                        guard !name.isEmpty, names[name] == nil else { return nil }
                        groupCount += 1
                        names[name] = groupCount
                        out.append("(")
                        index = end + 1
                    } else if at(3) == "=" {
                        guard let end = characters[(index + 4)...].firstIndex(of: ")") else { return nil }
                        guard let number = names[String(characters[(index + 4)..<end])] else { return nil }
                        // (?:\\N) keeps a following digit from extending the group number.
                        out += "(?:\\\(number))"
                        index = end + 1
                    } else {
                        return nil
                    }
                } else {
                    if at(1) != "?" { groupCount += 1 }
                    out.append("(")
                    index += 1
                }
            case "{":
                if let (quantifier, length) = quantifier(characters, from: index) {
                    out += quantifier
                    index += length
                } else {
                    out += "\\{"
                    index += 1
                }
            case "}":
                out += "\\}"
                index += 1
            default:
                out.append(character)
                index += 1
            }
        }
        return out
    }

    /// A valid quantifier starting at `start` (`{m}`, `{m,}`, `{m,n}`, `{,n}`), as ICU writes it,
    /// and its length in the pattern.
    private static func quantifier(_ characters: [Character], from start: Int) -> (String, Int)? {
        var index = start + 1
        var low = ""
        while index < characters.count, characters[index].isASCII, characters[index].isNumber {
            low.append(characters[index])
            index += 1
        }
        guard index < characters.count else { return nil }
        if characters[index] == "}" {
            return low.isEmpty ? nil : ("{\(low)}", index - start + 1)
        }
        guard characters[index] == "," else { return nil }
        index += 1
        var high = ""
        while index < characters.count, characters[index].isASCII, characters[index].isNumber {
            high.append(characters[index])
            index += 1
        }
        guard index < characters.count, characters[index] == "}", !(low.isEmpty && high.isEmpty) else { return nil }
        guard low.count <= 9, high.count <= 9 else { return nil }
        if let lowValue = Int(low), let highValue = Int(high), lowValue > highValue { return nil }
        return ("{\(low.isEmpty ? "0" : low),\(high)}", index - start + 1)
    }

    /// The compiled expression for Python `pattern`, nil when it is invalid.
    public static func compile(_ pattern: String, caseInsensitive: Bool = false) -> NSRegularExpression? {
        guard pattern.count <= maximumLength, let translated = translate(pattern) else { return nil }
        return try? NSRegularExpression(pattern: translated, options: caseInsensitive ? [.caseInsensitive] : [])
    }

    /// Why `pattern` is not a usable flag pattern, or nil when it is.
    public static func problem(_ pattern: String) -> String? {
        if pattern.count > maximumLength { return "longer than \(maximumLength) characters" }
        guard let translated = translate(pattern) else { return "unbalanced or unknown (?P...) group, or an unterminated [class]" }
        do {
            _ = try NSRegularExpression(pattern: translated)
            return nil
        } catch {
            return "the pattern does not compile"
        }
    }
}

/// A hint and what it costs to unlock (ctfcli's `hints:`).
public struct HintSpec: Codable, Sendable, Equatable {
    /// The hint's text (Markdown).
    public var content: String
    /// Points it costs; 0 is free.
    public var cost: Int

    /// Creates a hint.
    public init(content: String, cost: Int = 0) {
        self.content = content
        self.cost = cost
    }
}

/// How many points a solve is worth (ctfcli's `value`, `type` and `extra`).
public enum ScoringSpec: Codable, Sendable, Equatable {
    /// Always `value` points.
    case fixed(value: Int)
    /// CTFd's dynamic value: every solver gets the current value, which falls from `initial`
    /// towards `minimum` as solves accumulate, reaching it after `decay` solves.
    case dynamic(initial: Int, decay: Int, minimum: Int, function: DecayFunction)

    /// CTFd's decay functions.
    public enum DecayFunction: String, Codable, Sendable, CaseIterable {
        /// CTFd's default: a parabola that reaches the minimum at `decay` solves.
        case logarithmic
        /// `decay` points fewer per solve.
        case linear
    }

    /// The value once `solves` owners have solved it, by CTFd's formula (the first solver gets
    /// the initial value; the result is rounded up and never below the minimum).
    public func value(solves: Int) -> Int {
        switch self {
        case .fixed(let value):
            return value
        case .dynamic(let initial, let decay, let minimum, let function):
            let count = Double(max(0, solves - 1))
            let raw: Double
            switch function {
            case .logarithmic:
                raw = decay > 0 ? (Double(minimum - initial) / Double(decay * decay)) * count * count + Double(initial) : Double(minimum)
            case .linear:
                raw = Double(initial) - Double(decay) * count
            }
            return max(minimum, Int(raw.rounded(.up)))
        }
    }
}

/// A flag made for each instance and written into its container (`berth.flag`).
public struct DynamicFlagSpec: Codable, Sendable, Equatable {
    /// Absolute path inside the container; it must be writable by the terminal's user.
    public var path: String
    /// Text before the per-instance secret, e.g. `berth{`.
    public var prefix: String
    /// Text after it, e.g. `}`.
    public var suffix: String

    /// Creates the spec.
    public init(path: String, prefix: String = "berth{", suffix: String = "}") {
        self.path = path
        self.prefix = prefix
        self.suffix = suffix
    }

    /// The flag of `instanceID` under the server's `secret`: the prefix, the first 32 hex digits
    /// of HMAC-SHA256(secret, "berth-flag-v1:" + instance id), and the suffix.
    public func flag(instanceID: String, secret: FlagSecret) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("berth-flag-v1:\(instanceID)".utf8), using: secret.key)
        let hex = code.map { String(format: "%02x", $0) }.joined()
        return prefix + hex.prefix(32) + suffix
    }
}

/// The server's secret for per-instance flags, kept in `<data-dir>/keys/flag-hmac.key` (mode 0600).
public struct FlagSecret: Sendable {
    let bytes: Data

    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// A secret from raw bytes (at least 32).
    public init(bytes: Data) {
        self.bytes = bytes
    }

    /// Reads the secret at `url`, creating a random one (and its 0700 folder) the first time.
    public static func loadOrCreate(at url: URL) throws -> FlagSecret {
        if let data = FileManager.default.contents(atPath: url.path) {
            guard data.count >= 32 else {
                throw BerthError(.flagSecretInvalid, "\(url.path) holds \(data.count) bytes; a flag secret needs 32. Remove it to make a new one (every per-instance flag changes).")
            }
            return FlagSecret(bytes: data)
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        guard FileManager.default.createFile(atPath: url.path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw BerthError(.flagSecretUnwritable, "Cannot write the flag secret to \(url.path).")
        }
        return FlagSecret(bytes: bytes)
    }
}

/// What Berth asks of a password.
public enum PasswordPolicy {
    /// The shortest password accepted.
    public static let minimumLength = 10
    /// The longest (bcrypt reads at most 72 bytes).
    public static let maximumBytes = 72

    /// Why `password` is too weak for `name`, or nil when it is acceptable.
    public static func problem(password: String, name: String) -> String? {
        if password.count < minimumLength { return "Use at least \(minimumLength) characters." }
        if password.utf8.count > maximumBytes { return "Use at most \(maximumBytes) bytes." }
        let lowered = password.lowercased()
        if Set(lowered).count < 4 { return "Use more than three different characters." }
        if !name.isEmpty, lowered.contains(name.lowercased()) { return "Do not put your name in your password." }
        let common = ["password", "123456", "qwerty", "letmein", "welcome", "iloveyou", "admin", "abc123", "berth", "ctf"]
        if common.contains(where: { lowered.hasPrefix($0) || lowered == String($0.reversed()) }) && password.count < 16 {
            return "That password is too common."
        }
        return nil
    }
}
