import Foundation
import Yams

/// Reads a ctfcli `challenge.yml` (with an optional `berth:` block) into an ``EnvironmentSpec``,
/// collecting every problem instead of stopping at the first.
public struct EnvironmentParser: Sendable {
    /// ctfcli's own top-level fields; they are accepted (and kept for later issues) without warnings.
    static let ctfcliFields: Set<String> = [
        "name", "author", "category", "description", "attribution", "value", "type", "extra", "image",
        "protocol", "host", "connection_info", "healthcheck", "attempts", "logic", "flags", "topics", "tags",
        "files", "hints", "requirements", "next", "state", "version", "berth",
    ]
    static let berthFields: Set<String> = [
        "terminal", "command", "ports", "resources", "network", "lifetime", "readOnlyRoot", "writable",
        "tmpfsSize", "capabilities", "privileged", "recording", "flag",
    ]

    /// Creates a parser.
    public init() {}

    /// The result of parsing one file: the environment when there were no errors, and all problems.
    public struct Outcome: Sendable {
        /// The environment, nil when any error was found.
        public var spec: EnvironmentSpec?
        /// Errors and warnings, in file order.
        public var problems: [ValidationProblem]
    }

    /// Parses `yaml` read from `file` for the environment folder named `slug`.
    public func parse(yaml: String, file: String, slug: String) -> Outcome {
        var reader = FieldReader(file: file)
        if !Self.isValidSlug(slug) {
            reader.error("slug", "folder name '\(slug)' must be 1-63 lowercase letters, digits or '-', starting with a letter or digit")
        }
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: yaml) else {
                reader.error("(file)", "the file is empty; it needs at least 'name'")
                return Outcome(spec: nil, problems: reader.problems)
            }
            guard let dictionary = loaded as? [String: Any] else {
                reader.error("(file)", "the top level must be a mapping of fields")
                return Outcome(spec: nil, problems: reader.problems)
            }
            root = dictionary
        } catch {
            reader.error("(file)", "not valid YAML: \(error)")
            return Outcome(spec: nil, problems: reader.problems)
        }

        for key in root.keys.sorted() where !Self.ctfcliFields.contains(key) {
            reader.warning(key, "unknown field, kept but not used")
        }
        var spec = EnvironmentSpec(slug: slug, name: slug)
        if let name = reader.string(root, "name", path: "name") { spec.name = name } else if root["name"] == nil {
            reader.error("name", "required: the display name of the environment")
        }
        spec.category = reader.string(root, "category", path: "category") ?? ""
        spec.description = reader.string(root, "description", path: "description") ?? ""
        spec.author = reader.string(root, "author", path: "author")
        spec.connectionInfo = reader.string(root, "connection_info", path: "connection_info")
        spec.type = reader.string(root, "type", path: "type") ?? "standard"
        spec.value = reader.integer(root, "value", path: "value", range: 0...1_000_000)
        spec.tags = reader.stringList(root, "tags", path: "tags") ?? []
        let image = reader.string(root, "image", path: "image") ?? "."
        spec.image = image == "." || image.hasPrefix("./") ? .build(context: image) : .prebuilt(reference: image)
        if let berth = root["berth"] {
            if let block = berth as? [String: Any] {
                spec.berth = readBerthBlock(block, reader: &reader)
            } else {
                reader.error("berth", "must be a mapping")
            }
        }
        spec.flags = readFlags(root["flags"], reader: &reader)
        spec.hints = readHints(root["hints"], reader: &reader)
        spec.scoring = readScoring(root, type: spec.type, value: spec.value, reader: &reader)
        if let flag = spec.berth.flag, spec.berth.readOnlyRoot, !spec.berth.writable.contains(where: { flag.path.hasPrefix($0 + "/") }) {
            // The flag is written by the terminal's user after start: it must land somewhere writable.
            reader.error("berth.flag.path", "'\(flag.path)' is on the read-only root; put it under one of berth.writable (\(spec.berth.writable.joined(separator: ", ")))")
        }
        spec.warnings = reader.problems.filter { $0.severity == .warning }
        let failed = reader.problems.contains { $0.severity == .error }
        return Outcome(spec: failed ? nil : spec, problems: reader.problems)
    }

    /// True for folder names usable as slugs (and in image tags).
    public static func isValidSlug(_ slug: String) -> Bool {
        guard let first = slug.first, slug.count <= 63, first.isLetter || first.isNumber else { return false }
        return slug.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    private func readBerthBlock(_ block: [String: Any], reader: inout FieldReader) -> BerthSettings {
        var settings = BerthSettings()
        for key in block.keys.sorted() where !Self.berthFields.contains(key) {
            reader.warning("berth.\(key)", "unknown field, kept but not used")
        }
        if let terminal = reader.mapping(block, "terminal", path: "berth.terminal") {
            if let command = reader.stringList(terminal, "command", path: "berth.terminal.command") {
                if command.isEmpty {
                    reader.error("berth.terminal.command", "must name a program, e.g. [\"/bin/sh\", \"-l\"]")
                } else {
                    settings.terminal.command = command
                }
            }
            settings.terminal.user = reader.userSpec(terminal, "user", path: "berth.terminal.user")
            settings.terminal.workdir = reader.absolutePath(terminal, "workdir", path: "berth.terminal.workdir")
            if let action = reader.string(terminal, "onExit", path: "berth.terminal.onExit") {
                if let parsed = TerminalExitAction(rawValue: action) {
                    settings.terminal.onExit = parsed
                } else {
                    reader.error("berth.terminal.onExit", "'\(action)' must be new-shell or stop")
                }
            }
            for key in terminal.keys.sorted() where !["command", "user", "workdir", "onExit"].contains(key) {
                reader.warning("berth.terminal.\(key)", "unknown field, kept but not used")
            }
        }
        if block["command"] != nil {
            settings.command = reader.stringList(block, "command", path: "berth.command")
        }
        if let ports = block["ports"] {
            settings.ports = readPorts(ports, reader: &reader)
        }
        if let resources = reader.mapping(block, "resources", path: "berth.resources") {
            if let memory = resources["memory"] {
                let text = "\(memory)"
                if let bytes = ByteSizeText.bytes(text), bytes >= 6 << 20 {
                    settings.resources.memoryBytes = bytes
                } else {
                    reader.error("berth.resources.memory", "'\(text)' is not a size of at least 6m, e.g. 128m or 1g")
                }
            }
            if let cpus = resources["cpus"] {
                if let value = (cpus as? Double) ?? (cpus as? Int).map(Double.init), value >= 0.01, value <= 64 {
                    settings.resources.cpus = value
                } else {
                    reader.error("berth.resources.cpus", "'\(cpus)' must be a number of cores between 0.01 and 64, e.g. 0.5")
                }
            }
            if let pids = reader.integer(resources, "pids", path: "berth.resources.pids", range: 8...65536) {
                settings.resources.pids = pids
            }
            for key in resources.keys.sorted() where !["memory", "cpus", "pids"].contains(key) {
                reader.warning("berth.resources.\(key)", "unknown field, kept but not used")
            }
        }
        let networkGiven = block["network"] != nil
        if let network = reader.string(block, "network", path: "berth.network") {
            if let policy = NetworkPolicy(rawValue: network) {
                settings.network = policy
            } else {
                reader.error("berth.network", "'\(network)' must be one of none, isolated, internet")
            }
        }
        if !settings.ports.isEmpty && settings.network == .none {
            if networkGiven {
                reader.error("berth.network", "'none' cannot publish the declared ports; use isolated or internet")
            } else {
                settings.network = .isolated
            }
        }
        if let lifetime = reader.mapping(block, "lifetime", path: "berth.lifetime") {
            if let ttl = reader.duration(lifetime, "ttl", path: "berth.lifetime.ttl") {
                settings.lifetime.ttlSeconds = ttl
                settings.lifetime.ttlDeclared = true
            }
            if let renewals = reader.integer(lifetime, "renewals", path: "berth.lifetime.renewals", range: 0...1000) {
                settings.lifetime.renewals = renewals
            }
            if let maximum = reader.duration(lifetime, "maxLifetime", path: "berth.lifetime.maxLifetime") {
                settings.lifetime.maxLifetimeSeconds = maximum
            }
            settings.lifetime.idleSeconds = reader.duration(lifetime, "idle", path: "berth.lifetime.idle")
            if settings.lifetime.maxLifetimeSeconds < settings.lifetime.ttlSeconds {
                reader.error("berth.lifetime.maxLifetime", "must be at least the ttl (\(DurationText.format(settings.lifetime.ttlSeconds)))")
            }
        }
        if let readOnly = reader.boolean(block, "readOnlyRoot", path: "berth.readOnlyRoot") { settings.readOnlyRoot = readOnly }
        if let writable = reader.stringList(block, "writable", path: "berth.writable") {
            for (index, path) in writable.enumerated() where !FieldReader.isAbsolutePath(path) {
                reader.error("berth.writable[\(index)]", "'\(path)' must be an absolute path without '..'")
            }
            settings.writable = writable
        }
        if let size = block["tmpfsSize"] {
            if let bytes = ByteSizeText.bytes("\(size)") {
                settings.tmpfsBytes = bytes
            } else {
                reader.error("berth.tmpfsSize", "'\(size)' is not a size, e.g. 64m")
            }
        }
        if let capabilities = reader.stringList(block, "capabilities", path: "berth.capabilities") {
            let normalized = capabilities.map { $0.uppercased().replacingOccurrences(of: "CAP_", with: "") }
            for capability in normalized where !BerthSettings.allowedCapabilities.contains(capability) {
                reader.error("berth.capabilities", "'\(capability)' may not be added; allowed: \(BerthSettings.allowedCapabilities.sorted().joined(separator: ", "))")
            }
            settings.capabilities = normalized
        }
        // YAML 1.1 reads a bare `off` as false (and `on` as true), so accept booleans too.
        if let flag = block["recording"] as? Bool {
            settings.recording = flag ? .inputOutput : .off
        } else if let recording = reader.string(block, "recording", path: "berth.recording") {
            if let policy = RecordingPolicy(rawValue: recording) {
                settings.recording = policy
            } else {
                reader.error("berth.recording", "'\(recording)' must be off, output or input-output")
            }
        }
        if let flag = reader.mapping(block, "flag", path: "berth.flag") {
            if let path = reader.absolutePath(flag, "path", path: "berth.flag.path") {
                var spec = DynamicFlagSpec(path: path)
                if let prefix = reader.string(flag, "prefix", path: "berth.flag.prefix") { spec.prefix = prefix }
                if let suffix = reader.string(flag, "suffix", path: "berth.flag.suffix") { spec.suffix = suffix }
                settings.flag = spec
            } else if flag["path"] == nil {
                reader.error("berth.flag.path", "required: where the instance's flag file is written, e.g. /home/player/flag.txt")
            }
            for key in flag.keys.sorted() where !["path", "prefix", "suffix"].contains(key) {
                reader.warning("berth.flag.\(key)", "unknown field, kept but not used")
            }
        }
        if let privileged = reader.boolean(block, "privileged", path: "berth.privileged") {
            settings.privileged = privileged
            if privileged { reader.warning("berth.privileged", "instances run privileged: they can reach the host kernel") }
        }
        return settings
    }

    /// ctfcli flags: plain strings, or `{type: static|regex, content, data: case_insensitive}`.
    private func readFlags(_ value: Any?, reader: inout FieldReader) -> [FlagSpec] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else {
            reader.error("flags", "must be a list of flags")
            return []
        }
        var flags: [FlagSpec] = []
        for (index, item) in list.enumerated() {
            let path = "flags[\(index)]"
            if let text = item as? String {
                flags.append(FlagSpec(kind: .static, content: text))
                continue
            }
            guard let entry = item as? [String: Any], let content = reader.string(entry, "content", path: "\(path).content") else {
                reader.error(path, "must be a flag's text or {type, content, data}")
                continue
            }
            let kindText = reader.string(entry, "type", path: "\(path).type") ?? "static"
            guard let kind = FlagSpec.Kind(rawValue: kindText) else {
                reader.error("\(path).type", "'\(kindText)' must be static or regex")
                continue
            }
            let data = reader.string(entry, "data", path: "\(path).data") ?? ""
            if !["", "case_insensitive", "case_sensitive"].contains(data) {
                reader.error("\(path).data", "'\(data)' must be case_insensitive or case_sensitive")
            }
            if kind == .regex, (try? NSRegularExpression(pattern: content)) == nil {
                reader.error("\(path).content", "'\(content)' is not a valid regular expression")
                continue
            }
            flags.append(FlagSpec(kind: kind, content: content, caseInsensitive: data == "case_insensitive"))
        }
        return flags
    }

    /// ctfcli hints: plain strings (free) or `{content, cost}`.
    private func readHints(_ value: Any?, reader: inout FieldReader) -> [HintSpec] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else {
            reader.error("hints", "must be a list of hints")
            return []
        }
        var hints: [HintSpec] = []
        for (index, item) in list.enumerated() {
            let path = "hints[\(index)]"
            if let text = item as? String {
                hints.append(HintSpec(content: text))
            } else if let entry = item as? [String: Any], let content = reader.string(entry, "content", path: "\(path).content") {
                hints.append(HintSpec(content: content, cost: reader.integer(entry, "cost", path: "\(path).cost", range: 0...1_000_000) ?? 0))
            } else {
                reader.error(path, "must be a hint's text or {content, cost}")
            }
        }
        return hints
    }

    /// `value`, or for `type: dynamic` ctfcli's `extra: {initial, decay, minimum, function}`.
    private func readScoring(_ root: [String: Any], type: String, value: Int?, reader: inout FieldReader) -> ScoringSpec {
        guard type == "dynamic" else { return .fixed(value: value ?? 0) }
        let extra = reader.mapping(root, "extra", path: "extra") ?? [:]
        let initial = reader.integer(extra, "initial", path: "extra.initial", range: 0...1_000_000) ?? value
        let decay = reader.integer(extra, "decay", path: "extra.decay", range: 1...1_000_000)
        let minimum = reader.integer(extra, "minimum", path: "extra.minimum", range: 0...1_000_000)
        guard let initial, let decay, let minimum else {
            reader.error("extra", "type: dynamic needs extra: {initial, decay, minimum} (initial may come from value)")
            return .fixed(value: value ?? 0)
        }
        if minimum > initial { reader.error("extra.minimum", "must not be above initial (\(initial))") }
        let functionText = reader.string(extra, "function", path: "extra.function") ?? "logarithmic"
        guard let function = ScoringSpec.DecayFunction(rawValue: functionText) else {
            reader.error("extra.function", "'\(functionText)' must be logarithmic or linear")
            return .fixed(value: value ?? 0)
        }
        return .dynamic(initial: initial, decay: decay, minimum: minimum, function: function)
    }

    private func readPorts(_ value: Any, reader: inout FieldReader) -> [PortSpec] {
        guard let list = value as? [Any] else {
            reader.error("berth.ports", "must be a list such as [{port: 8080, protocol: http}]")
            return []
        }
        var ports: [PortSpec] = []
        for (index, item) in list.enumerated() {
            let path = "berth.ports[\(index)]"
            if let number = item as? Int {
                if (1...65535).contains(number) { ports.append(PortSpec(port: number, protocol: .tcp)) } else {
                    reader.error(path, "\(number) is not a port between 1 and 65535")
                }
                continue
            }
            guard let entry = item as? [String: Any] else {
                reader.error(path, "must be a port number or {port, protocol}")
                continue
            }
            guard let port = reader.integer(entry, "port", path: "\(path).port", range: 1...65535) else {
                if entry["port"] == nil { reader.error("\(path).port", "required") }
                continue
            }
            var kind = PortProtocol.tcp
            if let text = reader.string(entry, "protocol", path: "\(path).protocol") {
                if let parsed = PortProtocol(rawValue: text) { kind = parsed } else {
                    reader.error("\(path).protocol", "'\(text)' must be http or tcp")
                }
            }
            if ports.contains(where: { $0.port == port }) {
                reader.error("\(path).port", "\(port) is declared twice")
            }
            ports.append(PortSpec(port: port, protocol: kind))
        }
        return ports
    }
}

/// Reads typed fields out of a YAML mapping and records a problem for each wrong one.
struct FieldReader {
    let file: String
    var problems: [ValidationProblem] = []

    mutating func error(_ field: String, _ reason: String) {
        problems.append(ValidationProblem(file: file, field: field, reason: reason))
    }

    mutating func warning(_ field: String, _ reason: String) {
        problems.append(ValidationProblem(file: file, field: field, reason: reason, severity: .warning))
    }

    mutating func string(_ map: [String: Any], _ key: String, path: String) -> String? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        if let text = value as? String { return text }
        if value is Int || value is Double || value is Bool { return "\(value)" }
        error(path, "must be text")
        return nil
    }

    mutating func integer(_ map: [String: Any], _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let number = (value as? Int) ?? (value as? String).flatMap({ Int($0) }), range.contains(number) else {
            error(path, "'\(value)' must be a whole number between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return number
    }

    mutating func boolean(_ map: [String: Any], _ key: String, path: String) -> Bool? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let flag = value as? Bool else {
            error(path, "'\(value)' must be true or false")
            return nil
        }
        return flag
    }

    mutating func duration(_ map: [String: Any], _ key: String, path: String) -> Int? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let seconds = DurationText.seconds("\(value)") else {
            error(path, "'\(value)' is not a duration such as 90s, 30m, 2h or 1h30m")
            return nil
        }
        return seconds
    }

    mutating func stringList(_ map: [String: Any], _ key: String, path: String) -> [String]? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        if let single = value as? String { return [single] }
        guard let list = value as? [Any] else {
            error(path, "must be a list of text")
            return nil
        }
        var out: [String] = []
        for (index, item) in list.enumerated() {
            if let text = item as? String { out.append(text) } else if item is Int || item is Double {
                out.append("\(item)")
            } else {
                error("\(path)[\(index)]", "must be text")
            }
        }
        return out
    }

    mutating func mapping(_ map: [String: Any], _ key: String, path: String) -> [String: Any]? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let nested = value as? [String: Any] else {
            error(path, "must be a mapping")
            return nil
        }
        return nested
    }

    mutating func absolutePath(_ map: [String: Any], _ key: String, path: String) -> String? {
        guard let text = string(map, key, path: path) else { return nil }
        guard Self.isAbsolutePath(text) else {
            error(path, "'\(text)' must be an absolute path without '..'")
            return nil
        }
        return text
    }

    mutating func userSpec(_ map: [String: Any], _ key: String, path: String) -> String? {
        guard let value = map[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else {
            // YAML 1.1 reads an unquoted 1000:1000 as a base-60 number.
            error(path, "'\(value)' must be quoted text such as \"1000:1000\" or \"player\"")
            return nil
        }
        let valid = !text.isEmpty && text.count <= 64
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-:.".contains($0)) }
        guard valid else {
            error(path, "'\(text)' must be uid[:gid] or a user name")
            return nil
        }
        return text
    }

    static func isAbsolutePath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.split(separator: "/").contains("..") && !path.contains(":")
    }
}
