import Foundation

/// What the parser needs to know about an environment's folder to decide where its image comes
/// from. The parser does no I/O: the catalog fills this from the file system.
public struct ChallengeFolder: Sendable {
    /// What a relative path inside the folder is.
    public enum Entry: Sendable, Equatable {
        /// Nothing there.
        case missing
        /// A folder without a `Dockerfile`.
        case folderWithoutDockerfile
        /// A folder with a `Dockerfile`.
        case folderWithDockerfile
    }

    /// What the relative path ("." for the environment's own folder) is.
    public var entry: @Sendable (String) -> Entry
    /// What the folder's `checks/` holds.
    public var checks: @Sendable () -> ChecksListing
    /// The text of a file inside the folder (a step's `file:`), by relative path without `..`.
    public var text: @Sendable (String) -> FolderText

    /// Creates facts from a lookup; the folder has no `checks/` and no other files.
    public init(entry: @escaping @Sendable (String) -> Entry) {
        self.init(entry: entry, checks: { .absent }, text: { _ in .missing })
    }

    /// Creates facts from lookups of sub-folders, `checks/` and files.
    public init(
        entry: @escaping @Sendable (String) -> Entry, checks: @escaping @Sendable () -> ChecksListing,
        text: @escaping @Sendable (String) -> FolderText
    ) {
        self.entry = entry
        self.checks = checks
        self.text = text
    }

    /// A folder with a `Dockerfile` and nothing else known: every path looks like a folder with a
    /// `Dockerfile` (the parser's default, for tests and tools without a folder).
    public static let assumingDockerfile = ChallengeFolder { _ in .folderWithDockerfile }
}

/// Bounds on the sizes an environment may ask for. Values outside them are refused with a
/// problem; they are far above what a real challenge needs.
public enum EnvironmentBounds {
    /// The least memory an instance may have (Docker's own minimum is 6 MiB).
    public static let minimumMemoryBytes: Int64 = 6 << 20
    /// The most memory an instance may ask for (64 GiB); the catalog also refuses more than the host has.
    public static let maximumMemoryBytes: Int64 = 64 << 30
    /// The least size of each writable tmpfs.
    public static let minimumTmpfsBytes: Int64 = 1 << 20
    /// The most size of each writable tmpfs (16 GiB); the catalog also refuses more than the host has.
    public static let maximumTmpfsBytes: Int64 = 16 << 30
    /// The longest display name.
    public static let maximumNameLength = 200
    /// Folders an instance may never get a writable tmpfs over (they are the kernel's and devices').
    public static let forbiddenWritableRoots = ["/proc", "/sys", "/dev"]
    /// The least size of a workspace.
    public static let minimumWorkspaceBytes: Int64 = 1 << 20
    /// The most size of a workspace (64 GiB); it is disk, not memory.
    public static let maximumWorkspaceBytes: Int64 = 64 << 30
}

/// Reads a ctfcli `challenge.yml` (with an optional `berth:` block) into an ``EnvironmentSpec``,
/// collecting every problem instead of stopping at the first. Any input gives a spec or problems,
/// never a crash: the file is composed into a node tree (limited in size, nodes and depth, see
/// ``YAMLLimits``) and every field's type is checked.
public struct EnvironmentParser: Sendable {
    /// ctfcli's own top-level fields; they are accepted without warnings.
    static let ctfcliFields: Set<String> = [
        "name", "author", "category", "description", "attribution", "value", "type", "extra", "image",
        "protocol", "host", "connection_info", "healthcheck", "attempts", "logic", "flags", "topics", "tags",
        "files", "hints", "requirements", "next", "state", "version", "berth", "initial", "decay", "minimum",
        "steps",
    ]
    static let berthFields: Set<String> = [
        "terminal", "command", "ports", "resources", "network", "lifetime", "readOnlyRoot", "writable",
        "tmpfsSize", "capabilities", "privileged", "recording", "flag", "lab", "workspace", "containers",
    ]
    /// ctfcli `type` values Berth scores itself; any other is read as `standard` with a warning.
    static let knownTypes: Set<String> = ["standard", "dynamic"]

    /// Creates a parser.
    public init() {}

    /// The result of parsing one file: the environment when there were no errors, and all problems.
    public struct Outcome: Sendable {
        /// The environment, nil when any error was found.
        public var spec: EnvironmentSpec?
        /// Errors and warnings, in file order.
        public var problems: [ValidationProblem]
    }

    /// Parses `yaml` read from `file` for the environment folder named `slug`; `folder` says
    /// which of its sub-folders exist and hold a `Dockerfile`.
    public func parse(yaml: String, file: String, slug: String, folder: ChallengeFolder = .assumingDockerfile) -> Outcome {
        var reader = FieldReader(file: file)
        if !Self.isValidSlug(slug) {
            reader.error("slug", "folder name '\(slug)' must be 1-63 lowercase letters, digits or '-', starting with a letter or digit")
        }
        let tree: YAMLNode?
        do {
            tree = try YAMLComposer.compose(yaml)
        } catch let error as YAMLTreeError {
            reader.error("(file)", error.reason)
            return Outcome(spec: nil, problems: reader.problems)
        } catch {
            reader.error("(file)", "not valid YAML")
            return Outcome(spec: nil, problems: reader.problems)
        }
        guard let tree, !tree.isNull else {
            reader.error("(file)", "the file is empty; it needs at least 'name'")
            return Outcome(spec: nil, problems: reader.problems)
        }
        guard case .mapping = tree else {
            reader.error("(file)", "the top level must be a mapping of fields such as 'name: ...', not \(tree.summary)")
            return Outcome(spec: nil, problems: reader.problems)
        }
        guard let root = reader.map(tree, path: "") else { return Outcome(spec: nil, problems: reader.problems) }

        for key in root.keys where !Self.ctfcliFields.contains(key) {
            reader.warning(key, "unknown field, kept but not used")
        }
        var spec = EnvironmentSpec(slug: slug, name: slug)
        if let name = reader.string(root, "name", path: "name") {
            if name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                reader.error("name", "must not be empty")
            } else if name.count > EnvironmentBounds.maximumNameLength {
                reader.error("name", "is \(name.count) characters long; the limit is \(EnvironmentBounds.maximumNameLength)")
            } else {
                spec.name = name
            }
        } else if root["name"] == nil {
            reader.error("name", "required: the display name of the environment")
        }
        spec.category = reader.string(root, "category", path: "category") ?? ""
        spec.description = reader.string(root, "description", path: "description") ?? ""
        spec.author = reader.string(root, "author", path: "author")
        spec.connectionInfo = readConnectionInfo(root["connection_info"], reader: &reader)
        let type = reader.string(root, "type", path: "type") ?? "standard"
        if Self.knownTypes.contains(type) {
            spec.type = type
        } else {
            reader.warning("type", "'\(type)' is not a type Berth knows (standard, dynamic); scored as standard")
            spec.type = "standard"
        }
        spec.value = reader.integer(root, "value", path: "value", range: 0...1_000_000)
        spec.tags = reader.stringList(root, "tags", path: "tags") ?? []
        spec.image = readImage(root, folder: folder, reader: &reader)
        if let berth = root["berth"] {
            if let block = reader.map(berth, path: "berth") {
                spec.berth = readBerthBlock(block, reader: &reader)
            }
        }
        spec.flags = readFlags(root["flags"], reader: &reader)
        spec.hints = readHints(root["hints"], reader: &reader)
        spec.scoring = readScoring(root, type: spec.type, value: spec.value, reader: &reader)
        if spec.value == nil, case .dynamic(let initial, _, _, _) = spec.scoring { spec.value = initial }
        spec.files = readFiles(root["files"], reader: &reader)
        spec.visibility = readVisibility(root["state"], reader: &reader)
        spec.requirements = readRequirements(root["requirements"], reader: &reader)
        if let attempts = reader.integer(root, "attempts", path: "attempts", range: 0...1_000_000) {
            // CTFd's max_attempts: 0 means no limit.
            spec.maxAttempts = attempts == 0 ? nil : attempts
        }
        let berthBlock = root["berth"].flatMap { node -> YAMLMap? in
            guard case .mapping = node else { return nil }
            var quiet = FieldReader(file: file)
            return quiet.map(node, path: "berth")
        }
        spec.lab = LabParser().read(root: root, berth: berthBlock, spec: spec, folder: folder, reader: &reader)
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

    /// `image`: absent or null builds the folder when it has a `Dockerfile` and means "no instance"
    /// when it has none; `.`, `./x` or an existing sub-folder builds that folder; anything else is a
    /// prebuilt image reference.
    private func readImage(_ root: YAMLMap, folder: ChallengeFolder, reader: inout FieldReader) -> ImageSource {
        guard let text = reader.string(root, "image", path: "image") else {
            return folder.entry(".") == .folderWithDockerfile ? .build(context: ".") : .none
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return folder.entry(".") == .folderWithDockerfile ? .build(context: ".") : .none }
        let explicitlyLocal = trimmed == "." || trimmed.hasPrefix("./")
        let relative = Self.normalizedRelativePath(trimmed)
        if explicitlyLocal || (relative != nil && !trimmed.contains(":") && folder.entry(relative ?? "") != .missing) {
            guard let relative else {
                reader.error("image", "'\(trimmed)' must be a folder inside the environment's folder, without '..'")
                return .none
            }
            switch folder.entry(relative) {
            case .folderWithDockerfile:
                return .build(context: relative)
            case .folderWithoutDockerfile:
                let what = relative == "." ? "this folder" : "the sub-folder '\(relative)'"
                reader.error("image", "'image: \(trimmed)' builds \(what), but it has no Dockerfile")
            case .missing:
                reader.error("image", "'\(trimmed)' names a sub-folder that does not exist")
            }
            return .none
        }
        let valid = trimmed.count <= 255 && trimmed.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/:@+".contains($0)) }
            && !trimmed.hasPrefix("/") && !trimmed.hasPrefix("-") && !trimmed.hasPrefix(".") && !trimmed.contains("..")
        guard valid else {
            reader.error("image", "\(FieldReader.quote(trimmed)) is neither a sub-folder with a Dockerfile nor an image reference such as name:tag")
            return .none
        }
        return .prebuilt(reference: trimmed)
    }

    /// `.`, `./x/`, `x/y` → `.`, `x`, `x/y`; nil for absolute paths or paths with `..`.
    static func normalizedRelativePath(_ path: String) -> String? {
        guard !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0") else { return nil }
        let parts = path.split(separator: "/").filter { $0 != "." }
        guard !parts.contains("..") else { return nil }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// `connection_info` is text; an unquoted `{{host}}` template (which YAML reads as a mapping) is
    /// kept as the text it was.
    private func readConnectionInfo(_ node: YAMLNode?, reader: inout FieldReader) -> String? {
        guard let node, !node.isNull else { return nil }
        if let placeholder = node.placeholder { return placeholder }
        return reader.text(node, path: "connection_info")
    }

    private func readBerthBlock(_ block: YAMLMap, reader: inout FieldReader) -> BerthSettings {
        var settings = BerthSettings()
        for key in block.keys where !Self.berthFields.contains(key) {
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
                    reader.error("berth.terminal.onExit", "\(FieldReader.quote(action)) must be new-shell or stop")
                }
            }
            for key in terminal.keys where !["command", "user", "workdir", "onExit"].contains(key) {
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
            if let bytes = reader.byteSize(
                resources, "memory", path: "berth.resources.memory",
                range: EnvironmentBounds.minimumMemoryBytes...EnvironmentBounds.maximumMemoryBytes, example: "128m or 1g"
            ) {
                settings.resources.memoryBytes = bytes
            }
            if let cpus = reader.number(resources, "cpus", path: "berth.resources.cpus", range: 0.01...64, example: "a number of cores between 0.01 and 64, e.g. 0.5") {
                settings.resources.cpus = cpus
            }
            if let pids = reader.integer(resources, "pids", path: "berth.resources.pids", range: 8...65536) {
                settings.resources.pids = pids
            }
            for key in resources.keys where !["memory", "cpus", "pids"].contains(key) {
                reader.warning("berth.resources.\(key)", "unknown field, kept but not used")
            }
        }
        let networkGiven = block["network"] != nil
        if let network = reader.string(block, "network", path: "berth.network") {
            if let policy = NetworkPolicy(rawValue: network) {
                settings.network = policy
            } else {
                reader.error("berth.network", "\(FieldReader.quote(network)) must be one of none, isolated, internet")
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
            settings.lifetime.whenDisconnectedSeconds = readWhenDisconnected(lifetime, reader: &reader)
            if settings.lifetime.maxLifetimeSeconds < settings.lifetime.ttlSeconds {
                reader.error("berth.lifetime.maxLifetime", "must be at least the ttl (\(DurationText.format(settings.lifetime.ttlSeconds)))")
            }
            for key in lifetime.keys where !["ttl", "renewals", "maxLifetime", "whenDisconnected", "idle"].contains(key) {
                reader.warning("berth.lifetime.\(key)", "unknown field, kept but not used")
            }
        }
        if let readOnly = reader.boolean(block, "readOnlyRoot", path: "berth.readOnlyRoot") { settings.readOnlyRoot = readOnly }
        if let writable = reader.stringList(block, "writable", path: "berth.writable") {
            var paths: [String] = []
            for (index, path) in writable.enumerated() {
                if let problem = Self.writableProblem(path) {
                    reader.error("berth.writable[\(index)]", "\(FieldReader.quote(path)) \(problem)")
                } else {
                    paths.append(path)
                }
            }
            settings.writable = paths
        }
        if let bytes = reader.byteSize(
            block, "tmpfsSize", path: "berth.tmpfsSize",
            range: EnvironmentBounds.minimumTmpfsBytes...EnvironmentBounds.maximumTmpfsBytes, example: "64m"
        ) {
            settings.tmpfsBytes = bytes
        }
        if let capabilities = reader.stringList(block, "capabilities", path: "berth.capabilities") {
            let normalized = capabilities.map { $0.uppercased().replacingOccurrences(of: "CAP_", with: "") }
            for capability in normalized where !BerthSettings.allowedCapabilities.contains(capability) {
                reader.error("berth.capabilities", "\(FieldReader.quote(capability)) may not be added; allowed: \(BerthSettings.allowedCapabilities.sorted().joined(separator: ", "))")
            }
            settings.capabilities = normalized
        }
        // YAML 1.1 reads a bare `off` as false (and `on` as true), so accept booleans too.
        if let node = block["recording"], let flag = FieldReader.booleanValue(node) {
            settings.recording = flag ? .inputOutput : .off
        } else if let recording = reader.string(block, "recording", path: "berth.recording") {
            if let policy = RecordingPolicy(rawValue: recording) {
                settings.recording = policy
            } else {
                reader.error("berth.recording", "\(FieldReader.quote(recording)) must be off, output or input-output")
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
            for key in flag.keys where !["path", "prefix", "suffix"].contains(key) {
                reader.warning("berth.flag.\(key)", "unknown field, kept but not used")
            }
        }
        if let privileged = reader.boolean(block, "privileged", path: "berth.privileged") {
            settings.privileged = privileged
            if privileged { reader.warning("berth.privileged", "instances run privileged: they can reach the host kernel") }
        }
        if let workspace = reader.mapping(block, "workspace", path: "berth.workspace") {
            settings.workspace = readWorkspace(workspace, reader: &reader)
        }
        if let containers = reader.boolean(block, "containers", path: "berth.containers") {
            settings.containers = containers
            if containers && settings.privileged {
                reader.error("berth.containers", "runs rootless containers without privileges; it cannot be combined with privileged: true")
            }
        }
        return settings
    }

    /// `berth.lifetime.whenDisconnected`, or its older name `idle` with a warning that names the
    /// new one; both at once is an error (they would disagree sooner or later). Durations are positive, so 0s is refused.
    private func readWhenDisconnected(_ lifetime: YAMLMap, reader: inout FieldReader) -> Int? {
        let hasNew = lifetime["whenDisconnected"] != nil
        let hasOld = lifetime["idle"] != nil
        if hasNew && hasOld {
            reader.error("berth.lifetime.idle", "is the older name of whenDisconnected; give only whenDisconnected")
            return nil
        }
        let key = hasOld ? "idle" : "whenDisconnected"
        guard let seconds = reader.duration(lifetime, key, path: "berth.lifetime.\(key)") else { return nil }
        if hasOld { reader.warning("berth.lifetime.idle", "is the older name of whenDisconnected; rename it to whenDisconnected") }
        return seconds
    }

    /// `berth.workspace: {path, size}`; the path is required and may not be a kernel folder.
    private func readWorkspace(_ map: YAMLMap, reader: inout FieldReader) -> WorkspaceSpec? {
        for key in map.keys where !["path", "size"].contains(key) {
            reader.warning("berth.workspace.\(key)", "unknown field, kept but not used")
        }
        let size = reader.byteSize(
            map, "size", path: "berth.workspace.size",
            range: EnvironmentBounds.minimumWorkspaceBytes...EnvironmentBounds.maximumWorkspaceBytes, example: "256m"
        )
        guard let path = reader.string(map, "path", path: "berth.workspace.path") else {
            if map["path"] == nil { reader.error("berth.workspace.path", "required: where the files are mounted, e.g. /home/player/work") }
            return nil
        }
        if let problem = Self.writableProblem(path) {
            reader.error("berth.workspace.path", "\(FieldReader.quote(path)) \(problem)")
            return nil
        }
        return WorkspaceSpec(path: path, sizeBytes: size ?? WorkspaceSpec.defaultSizeBytes)
    }

    /// Why `path` may not get a writable tmpfs, or nil when it may: it must be absolute, without
    /// `..`, not `/` (that would hide the whole image) and not under `/proc`, `/sys` or `/dev`.
    static func writableProblem(_ path: String) -> String? {
        guard FieldReader.isAbsolutePath(path) else { return "must be an absolute path without '..'" }
        let parts = path.split(separator: "/").filter { $0 != "." }
        if parts.isEmpty { return "is the root: a tmpfs over / would hide the whole image; use readOnlyRoot: false instead" }
        let normalized = "/" + parts.joined(separator: "/")
        for root in EnvironmentBounds.forbiddenWritableRoots where normalized == root || normalized.hasPrefix(root + "/") {
            return "is under \(root), which belongs to the kernel and may not be replaced"
        }
        return nil
    }

    /// ctfcli flags: plain strings, or `{type: static|regex, content, data: case_insensitive}`.
    private func readFlags(_ node: YAMLNode?, reader: inout FieldReader) -> [FlagSpec] {
        guard let items = reader.list(node, path: "flags") else { return [] }
        var flags: [FlagSpec] = []
        for (index, item) in items.enumerated() {
            let path = "flags[\(index)]"
            if case .scalar = item, !item.isNull {
                if let text = reader.text(item, path: path) { flags.append(FlagSpec(kind: .static, content: text)) }
                continue
            }
            guard case .mapping = item, let entry = reader.map(item, path: path) else {
                reader.error(path, "must be a flag's text or {type, content, data}, not \(item.summary)")
                continue
            }
            guard let content = reader.string(entry, "content", path: "\(path).content") else {
                if entry["content"] == nil { reader.error("\(path).content", "required: the flag's text or pattern") }
                continue
            }
            let kindText = reader.string(entry, "type", path: "\(path).type") ?? "static"
            guard let kind = FlagSpec.Kind(rawValue: kindText) else {
                reader.error("\(path).type", "\(FieldReader.quote(kindText)) must be static or regex")
                continue
            }
            let data = reader.string(entry, "data", path: "\(path).data") ?? ""
            if !["", "case_insensitive", "case_sensitive"].contains(data) {
                reader.warning("\(path).data", "\(FieldReader.quote(data)) is not case_insensitive or case_sensitive; the flag is case-sensitive")
            }
            let flag = FlagSpec(kind: kind, content: content, caseInsensitive: data == "case_insensitive")
            if kind == .regex, let problem = PythonRegex.problem(content) {
                reader.error("\(path).content", "\(FieldReader.quote(content)) is not a valid regular expression: \(problem)")
                continue
            }
            for key in entry.keys where !["type", "content", "data"].contains(key) {
                reader.warning("\(path).\(key)", "unknown field, kept but not used")
            }
            flags.append(flag)
        }
        return flags
    }

    /// ctfcli hints: one text, or a list of texts (free) and `{content, cost}`.
    private func readHints(_ node: YAMLNode?, reader: inout FieldReader) -> [HintSpec] {
        guard let items = reader.list(node, path: "hints") else { return [] }
        var hints: [HintSpec] = []
        for (index, item) in items.enumerated() {
            let path = "hints[\(index)]"
            if case .scalar = item, !item.isNull {
                if let text = reader.text(item, path: path) { hints.append(HintSpec(content: text)) }
            } else if case .mapping = item, let entry = reader.map(item, path: path) {
                guard let content = reader.string(entry, "content", path: "\(path).content") else {
                    if entry["content"] == nil { reader.error("\(path).content", "required: the hint's text") }
                    continue
                }
                hints.append(HintSpec(content: content, cost: reader.integer(entry, "cost", path: "\(path).cost", range: 0...1_000_000) ?? 0))
            } else {
                reader.error(path, "must be a hint's text or {content, cost}, not \(item.summary)")
            }
        }
        return hints
    }

    /// `value`, or for `type: dynamic` ctfcli's `extra: {initial, decay, minimum, function}` (older
    /// files put `initial`, `decay` and `minimum` at the top level, which is read with a warning).
    private func readScoring(_ root: YAMLMap, type: String, value: Int?, reader: inout FieldReader) -> ScoringSpec {
        guard type == "dynamic" else {
            for key in ["initial", "decay", "minimum"] where root[key] != nil {
                reader.warning(key, "only used with type: dynamic")
            }
            return .fixed(value: value ?? 0)
        }
        let extra = reader.mapping(root, "extra", path: "extra") ?? YAMLMap()
        var fields: [String: Int] = [:]
        for (key, range) in [("initial", 0...1_000_000), ("decay", 1...1_000_000), ("minimum", 0...1_000_000)] {
            if extra[key] != nil {
                fields[key] = reader.integer(extra, key, path: "extra.\(key)", range: range)
            } else if root[key] != nil {
                reader.warning(key, "old ctfcli style; move it under extra: (extra.\(key))")
                fields[key] = reader.integer(root, key, path: key, range: range)
            }
        }
        let initial = fields["initial"] ?? value
        guard let initial, let decay = fields["decay"], let minimum = fields["minimum"] else {
            reader.error("extra", "type: dynamic needs extra: {initial, decay, minimum} (initial may come from value)")
            return .fixed(value: value ?? 0)
        }
        if minimum > initial { reader.error("extra.minimum", "must not be above initial (\(initial))") }
        let functionText = reader.string(extra, "function", path: "extra.function") ?? "logarithmic"
        guard let function = ScoringSpec.DecayFunction(rawValue: functionText) else {
            reader.error("extra.function", "\(FieldReader.quote(functionText)) must be logarithmic or linear")
            return .fixed(value: value ?? 0)
        }
        return .dynamic(initial: initial, decay: decay, minimum: minimum, function: function)
    }

    /// ctfcli `files:`: paths or globs relative to the environment's folder.
    private func readFiles(_ node: YAMLNode?, reader: inout FieldReader) -> [String] {
        guard let items = reader.list(node, path: "files") else { return [] }
        var files: [String] = []
        for (index, item) in items.enumerated() {
            let path = "files[\(index)]"
            guard let text = reader.text(item, path: path) else { continue }
            if let problem = AttachmentPattern.problem(text) {
                reader.error(path, "\(FieldReader.quote(text)) \(problem)")
            } else {
                files.append(text)
            }
        }
        return files
    }

    /// ctfcli `state`: visible (the default) or hidden.
    private func readVisibility(_ node: YAMLNode?, reader: inout FieldReader) -> Visibility {
        guard let node, !node.isNull, let text = reader.text(node, path: "state") else { return .visible }
        if let visibility = Visibility(rawValue: text.lowercased()) { return visibility }
        reader.warning("state", "\(FieldReader.quote(text)) is not visible or hidden; the environment is hidden")
        return .hidden
    }

    /// ctfcli `requirements`: a list of names or ids, or CTFd's `{prerequisites: [...], anonymize: true}`.
    private func readRequirements(_ node: YAMLNode?, reader: inout FieldReader) -> RequirementsSpec? {
        guard let node, !node.isNull else { return nil }
        var anonymize = false
        var listNode: YAMLNode? = node
        var listPath = "requirements"
        if case .mapping = node {
            guard let map = reader.map(node, path: "requirements") else { return nil }
            listNode = map["prerequisites"]
            listPath = "requirements.prerequisites"
            anonymize = reader.boolean(map, "anonymize", path: "requirements.anonymize") ?? false
            for key in map.keys where !["prerequisites", "anonymize"].contains(key) {
                reader.warning("requirements.\(key)", "unknown field, kept but not used")
            }
        }
        guard let items = reader.list(listNode, path: listPath) else { return nil }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            if let text = reader.text(item, path: "\(listPath)[\(index)]") {
                if text.trimmingCharacters(in: .whitespaces).isEmpty {
                    reader.error("\(listPath)[\(index)]", "must name a challenge")
                } else {
                    names.append(text)
                }
            }
        }
        return names.isEmpty ? nil : RequirementsSpec(prerequisites: names, anonymize: anonymize)
    }

    private func readPorts(_ node: YAMLNode, reader: inout FieldReader) -> [PortSpec] {
        guard case .sequence(let items, _) = node else {
            if !node.isNull { reader.error("berth.ports", "must be a list such as [{port: 8080, protocol: http}], not \(node.summary)") }
            return []
        }
        var ports: [PortSpec] = []
        for (index, item) in items.enumerated() {
            let path = "berth.ports[\(index)]"
            let port: Int
            var kind = PortProtocol.tcp
            if case .scalar = item {
                guard let number = reader.integerValue(item, path: path, range: 1...65535) else { continue }
                port = number
            } else if case .mapping = item, let entry = reader.map(item, path: path) {
                guard let number = reader.integer(entry, "port", path: "\(path).port", range: 1...65535) else {
                    if entry["port"] == nil { reader.error("\(path).port", "required") }
                    continue
                }
                port = number
                if let text = reader.string(entry, "protocol", path: "\(path).protocol") {
                    if let parsed = PortProtocol(rawValue: text) { kind = parsed } else {
                        reader.error("\(path).protocol", "\(FieldReader.quote(text)) must be http or tcp")
                    }
                }
            } else {
                reader.error(path, "must be a port number or {port, protocol}, not \(item.summary)")
                continue
            }
            if ports.contains(where: { $0.port == port }) {
                reader.error("\(path).port", "\(port) is declared twice")
            }
            ports.append(PortSpec(port: port, protocol: kind))
        }
        return ports
    }
}

/// Checks ctfcli `files:` entries before any file system access: they are relative paths or
/// globs that stay inside the environment's folder.
public enum AttachmentPattern {
    /// Why `pattern` is refused, or nil when it is acceptable.
    public static func problem(_ pattern: String) -> String? {
        if pattern.trimmingCharacters(in: .whitespaces).isEmpty { return "is empty" }
        if pattern.contains("\0") { return "holds a NUL character" }
        if pattern.hasPrefix("/") || pattern.hasPrefix("~") { return "must be relative to the environment's folder, not absolute" }
        if pattern.split(separator: "/").contains("..") || pattern.split(separator: "\\").contains("..") {
            return "must stay inside the environment's folder (no '..')"
        }
        return nil
    }
}

/// A mapping with text keys, in file order.
struct YAMLMap {
    private(set) var entries: [(key: String, value: YAMLNode)] = []

    /// The value of `key`, nil when absent or null (an empty `files:` counts as absent).
    subscript(key: String) -> YAMLNode? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    /// The keys, in file order.
    var keys: [String] { entries.map(\.key) }

    mutating func append(_ key: String, _ value: YAMLNode) {
        entries.append((key, value))
    }
}

/// Reads typed fields out of a YAML node tree and records a problem for each wrong one.
struct FieldReader {
    let file: String
    var problems: [ValidationProblem] = []

    mutating func error(_ field: String, _ reason: String) {
        problems.append(ValidationProblem(file: file, field: field, reason: reason))
    }

    mutating func warning(_ field: String, _ reason: String) {
        problems.append(ValidationProblem(file: file, field: field, reason: reason, severity: .warning))
    }

    /// `'text'`, shortened when long.
    static func quote(_ text: String) -> String {
        YAMLNode.scalar(YAMLScalar(text: text, plain: false, tag: nil, line: 0)).summary
    }

    /// The mapping `node` with text keys; reports keys that are not text and keys given twice.
    mutating func map(_ node: YAMLNode, path: String) -> YAMLMap? {
        guard case .mapping(let pairs, _) = node else {
            error(path.isEmpty ? "(file)" : path, "must be a mapping, not \(node.summary)")
            return nil
        }
        var map = YAMLMap()
        var seen: Set<String> = []
        for pair in pairs {
            guard case .scalar(let key) = pair.key else {
                error(path.isEmpty ? "(file)" : path, "line \(pair.key.line): a key must be text, not \(pair.key.summary); quote it or fill it in")
                continue
            }
            let name = key.text.isEmpty ? "(empty key)" : key.text
            let field = path.isEmpty ? name : "\(path).\(name)"
            guard seen.insert(key.text).inserted else {
                error(field, "line \(key.line): given twice; keep one")
                continue
            }
            map.append(name, pair.value)
        }
        return map
    }

    /// Text from a scalar; numbers and booleans as written. Lists and mappings are refused.
    mutating func text(_ node: YAMLNode, path: String) -> String? {
        guard !node.isNull else { return nil }
        guard case .scalar(let scalar) = node else {
            error(path, "must be text, not \(node.summary)")
            return nil
        }
        return scalar.text
    }

    mutating func string(_ map: YAMLMap, _ key: String, path: String) -> String? {
        guard let node = map[key] else { return nil }
        return text(node, path: path)
    }

    /// A whole number within `range`, written bare or as a string of digits (`value: "100"`).
    mutating func integerValue(_ node: YAMLNode, path: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, let number = Self.integerValue(scalar.text), range.contains(number) else {
            error(path, "\(node.summary) must be a whole number between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return number
    }

    /// Decimal digits with an optional sign and `_` separators; nil when it does not fit an Int.
    static func integerValue(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        guard trimmed.count <= 20 else { return nil }
        return Int(trimmed)
    }

    mutating func integer(_ map: YAMLMap, _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let node = map[key] else { return nil }
        return integerValue(node, path: path, range: range)
    }

    /// A finite number within `range`.
    mutating func number(_ map: YAMLMap, _ key: String, path: String, range: ClosedRange<Double>, example: String) -> Double? {
        guard let node = map[key] else { return nil }
        guard case .scalar(let scalar) = node, scalar.text.count <= 40,
              let value = Double(scalar.text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value)
        else {
            error(path, "\(node.summary) must be \(example)")
            return nil
        }
        return value
    }

    /// YAML 1.1's booleans (true/false, yes/no, on/off) written bare.
    static func booleanValue(_ node: YAMLNode) -> Bool? {
        guard case .scalar(let scalar) = node, scalar.plain || scalar.tag == "tag:yaml.org,2002:bool" else { return nil }
        switch scalar.text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    mutating func boolean(_ map: YAMLMap, _ key: String, path: String) -> Bool? {
        guard let node = map[key] else { return nil }
        guard let flag = Self.booleanValue(node) else {
            error(path, "\(node.summary) must be true or false")
            return nil
        }
        return flag
    }

    mutating func duration(_ map: YAMLMap, _ key: String, path: String) -> Int? {
        guard let node = map[key] else { return nil }
        guard case .scalar(let scalar) = node, scalar.text.count <= 40, let seconds = DurationText.seconds(scalar.text) else {
            error(path, "\(node.summary) is not a duration such as 90s, 30m, 2h or 1h30m")
            return nil
        }
        return seconds
    }

    /// A byte size such as `128m` within `range`; overflow is refused, never trapped.
    mutating func byteSize(_ map: YAMLMap, _ key: String, path: String, range: ClosedRange<Int64>, example: String) -> Int64? {
        guard let node = map[key] else { return nil }
        guard case .scalar(let scalar) = node, scalar.text.count <= 40, let bytes = ByteSizeText.bytes(scalar.text) else {
            error(path, "\(node.summary) is not a size, e.g. \(example)")
            return nil
        }
        guard range.contains(bytes) else {
            error(path, "\(node.summary) must be between \(Self.sizeText(range.lowerBound)) and \(Self.sizeText(range.upperBound))")
            return nil
        }
        return bytes
    }

    static func sizeText(_ bytes: Int64) -> String {
        for (unit, suffix) in [(Int64(1) << 30, "g"), (Int64(1) << 20, "m"), (Int64(1) << 10, "k")] where bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)"
    }

    /// The items of a list; a single scalar counts as a list of one, null or absent as none.
    mutating func list(_ node: YAMLNode?, path: String) -> [YAMLNode]? {
        guard let node, !node.isNull else { return nil }
        switch node {
        case .sequence(let items, _): return items
        case .scalar: return [node]
        case .mapping:
            error(path, "must be a list, not \(node.summary)")
            return nil
        }
    }

    mutating func stringList(_ map: YAMLMap, _ key: String, path: String) -> [String]? {
        guard let items = list(map[key], path: path) else { return nil }
        var out: [String] = []
        for (index, item) in items.enumerated() {
            if case .scalar = item, !item.isNull, let text = text(item, path: "\(path)[\(index)]") {
                out.append(text)
            } else {
                error("\(path)[\(index)]", "must be text, not \(item.isNull ? "empty" : item.summary)")
            }
        }
        return out
    }

    mutating func mapping(_ map: YAMLMap, _ key: String, path: String) -> YAMLMap? {
        guard let node = map[key] else { return nil }
        return self.map(node, path: path)
    }

    mutating func absolutePath(_ map: YAMLMap, _ key: String, path: String) -> String? {
        guard let text = string(map, key, path: path) else { return nil }
        guard Self.isAbsolutePath(text) else {
            error(path, "\(Self.quote(text)) must be an absolute path without '..'")
            return nil
        }
        return text
    }

    mutating func userSpec(_ map: YAMLMap, _ key: String, path: String) -> String? {
        guard let node = map[key] else { return nil }
        guard case .scalar(let scalar) = node, !(scalar.plain && Self.integerValue(scalar.text) != nil) else {
            error(path, "\(node.summary) must be quoted text such as \"1000:1000\" or \"player\"")
            return nil
        }
        let text = scalar.text
        let valid = !text.isEmpty && text.count <= 64
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-:.".contains($0)) }
        guard valid else {
            error(path, "\(Self.quote(text)) must be uid[:gid] or a user name")
            return nil
        }
        return text
    }

    static func isAbsolutePath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.split(separator: "/").contains("..") && !path.contains(":") && !path.contains("\0")
    }
}
