import Foundation

/// What an environment folder's `checks/` holds, as the catalog found it (the parser does no I/O).
public enum ChecksListing: Sendable, Equatable {
    /// No `checks/`: the environment is a lab only when it has `steps:`.
    case absent
    /// `checks` exists but is not a plain folder (a file, or a symlink).
    case notAFolder
    /// The folder's entries by name.
    case entries([String: ScriptFile])
}

/// One entry of `checks/`.
public enum ScriptFile: Sendable, Equatable {
    /// A regular file of this many bytes.
    case regular(bytes: Int)
    /// A symbolic link (never followed: it could lead anywhere on the host).
    case symlink
    /// A folder, device, socket or anything else that is not a regular file.
    case other
}

/// The text of a file in an environment folder, as the catalog read it.
public enum FolderText: Sendable, Equatable {
    /// The file's UTF-8 text.
    case text(String)
    /// No regular file there.
    case missing
    /// Larger than ``LabBounds/maximumTextBytes``.
    case tooLarge
    /// Not UTF-8 text.
    case notText
    /// The path, or a symlink on it, leads out of the environment's folder.
    case outside
}

/// Limits of a lab's definition; far above what a real lab needs.
public enum LabBounds {
    /// The largest script in `checks/` (256 KiB).
    public static let maximumScriptBytes = 256 << 10
    /// The largest Markdown file a step's `file:` may name (256 KiB).
    public static let maximumTextBytes = 256 << 10
    /// The most steps a lab may have.
    public static let maximumSteps = 100
    /// The most authored hints a step may have.
    public static let maximumHintsPerStep = 50
    /// The longest step id.
    public static let maximumStepIDLength = 63
    /// The longest step title.
    public static let maximumTitleLength = 200
    /// Scripts a lab runs whatever its steps are.
    public static let labScripts: Set<String> = ["setup", "check", "solve", "cleanup"]
}

/// Reads a lab from `steps:`, `berth.lab` and the folder's `checks/`, reporting each mistake as a
/// `file: field: reason` problem.
struct LabParser {
    static let stepFields: Set<String> = ["id", "title", "text", "file", "hints"]

    /// The lab, nil when the environment is not one (no `steps:` and no `checks/`) or on an error.
    func read(root: YAMLMap, berth: YAMLMap?, spec: EnvironmentSpec, folder: ChallengeFolder, reader: inout FieldReader) -> LabSpec? {
        let listing = folder.checks()
        let stepsNode = root["steps"]
        var awardsPoints = true
        if let berth, let lab = reader.mapping(berth, "lab", path: "berth.lab") {
            awardsPoints = reader.boolean(lab, "points", path: "berth.lab.points") ?? true
            for key in lab.keys where key != "points" {
                reader.warning("berth.lab.\(key)", "unknown field, kept but not used")
            }
        }
        if stepsNode == nil, listing == .absent {
            if berth?["lab"] != nil {
                reader.warning("berth.lab", "this environment is not a lab (no steps: and no checks/ folder); berth.lab is not used")
            }
            return nil
        }
        let errorsBefore = reader.problems.filter { $0.severity == .error }.count
        var steps: [LabStep] = []
        if let stepsNode {
            steps = readSteps(stepsNode, folder: folder, reader: &reader)
        } else {
            steps = [LabStep(id: "step-1", title: spec.name)]
        }
        let scripts = readScripts(listing, reader: &reader)
        let single = steps.count == 1
        for index in steps.indices {
            let id = steps[index].id
            if scripts.contains("check-\(id)") {
                steps[index].checkScript = "check-\(id)"
            } else if single, scripts.contains("check") {
                steps[index].checkScript = "check"
            }
            if scripts.contains("solve-\(id)") {
                steps[index].solveScript = "solve-\(id)"
            } else if single, scripts.contains("solve") {
                steps[index].solveScript = "solve"
            }
        }
        let ids = Set(steps.map(\.id))
        for script in scripts.sorted() {
            for prefix in ["check-", "solve-"] where script.hasPrefix(prefix) && !ids.contains(String(script.dropFirst(prefix.count))) {
                reader.warning("checks/\(script)", "names no step (step ids: \(steps.map(\.id).joined(separator: ", "))); it is never run")
            }
        }
        if !single {
            for script in ["check", "solve"] where scripts.contains(script) {
                reader.warning("checks/\(script)", "is only used by a lab of one step; this lab has \(steps.count), so name it \(script)-<step id>")
            }
        }
        if !spec.hasInstance {
            reader.error(
                stepsNode == nil ? "checks" : "steps",
                "a lab needs an instance to check; set image: or add a Dockerfile to the folder"
            )
        }
        let user = spec.berth.terminal.user ?? ""
        if user.isEmpty || user == "0" || user == "root" || user.hasPrefix("0:") || user.hasPrefix("root:") {
            reader.warning(
                "berth.terminal.user",
                user.isEmpty
                    ? "not set, so the learner may be root and able to read the lab's scripts; set a non-root user such as \"1000:1000\""
                    : "the learner is root and can read the lab's scripts; set a non-root user such as \"1000:1000\""
            )
        }
        let failed = reader.problems.filter { $0.severity == .error }.count > errorsBefore
        guard !failed, !steps.isEmpty else { return nil }
        return LabSpec(steps: steps, scripts: scripts.sorted(), awardsPoints: awardsPoints)
    }

    private func readSteps(_ node: YAMLNode, folder: ChallengeFolder, reader: inout FieldReader) -> [LabStep] {
        guard case .sequence(let items, _) = node else {
            reader.error("steps", "must be a list of steps such as [{title: ..., text: ...}], not \(node.summary)")
            return []
        }
        if items.isEmpty { reader.error("steps", "is empty; give at least one step, or remove it") }
        if items.count > LabBounds.maximumSteps {
            reader.error("steps", "has \(items.count) steps; the limit is \(LabBounds.maximumSteps)")
            return []
        }
        var steps: [LabStep] = []
        var seen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "steps[\(index)]"
            guard case .mapping = item, let entry = reader.map(item, path: path) else {
                if case .mapping = item {} else { reader.error(path, "must be a mapping such as {title: ..., text: ...}, not \(item.summary)") }
                continue
            }
            for key in entry.keys where !Self.stepFields.contains(key) {
                reader.warning("\(path).\(key)", "unknown field, kept but not used")
            }
            var id = "step-\(index + 1)"
            if let given = reader.string(entry, "id", path: "\(path).id") {
                if Self.isValidStepID(given) {
                    id = given
                } else {
                    reader.error("\(path).id", "\(FieldReader.quote(given)) must be 1-\(LabBounds.maximumStepIDLength) lowercase letters, digits or '-'")
                }
            }
            if let first = seen[id] {
                reader.error("\(path).id", "'\(id)' is also the id of steps[\(first)]; step ids must be unique")
            } else {
                seen[id] = index
            }
            var title = ""
            if let text = reader.string(entry, "title", path: "\(path).title") {
                title = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if title.isEmpty { reader.error("\(path).title", "must not be empty") }
                if title.count > LabBounds.maximumTitleLength {
                    reader.error("\(path).title", "is \(title.count) characters long; the limit is \(LabBounds.maximumTitleLength)")
                }
            } else if entry["title"] == nil {
                reader.error("\(path).title", "required: a short title of the step")
            }
            var markdown = reader.string(entry, "text", path: "\(path).text") ?? ""
            if let file = reader.string(entry, "file", path: "\(path).file") {
                if entry["text"] != nil {
                    reader.error("\(path).file", "give text: or file:, not both")
                } else if let text = readMarkdown(file, path: "\(path).file", folder: folder, reader: &reader) {
                    markdown = text
                }
            }
            let hints = readHints(entry["hints"], path: "\(path).hints", reader: &reader)
            steps.append(LabStep(id: id, title: title, text: markdown, hints: hints))
        }
        return steps
    }

    private func readMarkdown(_ file: String, path: String, folder: ChallengeFolder, reader: inout FieldReader) -> String? {
        guard let relative = EnvironmentParser.normalizedRelativePath(file.trimmingCharacters(in: .whitespaces)), relative != "." else {
            reader.error(path, "\(FieldReader.quote(file)) must be a file inside the environment's folder (relative, without '..')")
            return nil
        }
        switch folder.text(relative) {
        case .text(let text): return text
        case .missing: reader.error(path, "\(FieldReader.quote(file)) is not a file in the environment's folder")
        case .tooLarge: reader.error(path, "\(FieldReader.quote(file)) is larger than \(LabBounds.maximumTextBytes >> 10) KiB")
        case .notText: reader.error(path, "\(FieldReader.quote(file)) is not UTF-8 text; save it as UTF-8")
        case .outside: reader.error(path, "\(FieldReader.quote(file)) leads out of the environment's folder (a symlink?)")
        }
        return nil
    }

    private func readHints(_ node: YAMLNode?, path: String, reader: inout FieldReader) -> [String] {
        guard let items = reader.list(node, path: path) else { return [] }
        if items.count > LabBounds.maximumHintsPerStep {
            reader.error(path, "has \(items.count) hints; the limit is \(LabBounds.maximumHintsPerStep)")
            return []
        }
        var hints: [String] = []
        for (index, item) in items.enumerated() {
            guard case .scalar = item, !item.isNull, let text = reader.text(item, path: "\(path)[\(index)]") else {
                reader.error("\(path)[\(index)]", "must be the hint's text, not \(item.isNull ? "empty" : item.summary)")
                continue
            }
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                reader.error("\(path)[\(index)]", "must not be empty")
            } else {
                hints.append(text)
            }
        }
        return hints
    }

    /// The names of the scripts Berth runs; other entries are reported.
    private func readScripts(_ listing: ChecksListing, reader: inout FieldReader) -> Set<String> {
        switch listing {
        case .absent:
            return []
        case .notAFolder:
            reader.error("checks", "must be a folder of scripts (not a file or a symlink)")
            return []
        case .entries(let entries):
            var scripts: Set<String> = []
            for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
                let field = "checks/\(name)"
                guard Self.isScriptName(name) else {
                    reader.warning(field, "is not a script Berth runs (setup, check, solve, cleanup, check-<step>, solve-<step>); it is not copied")
                    continue
                }
                switch entry {
                case .symlink:
                    reader.error(field, "is a symlink; scripts must be regular files in checks/")
                case .other:
                    reader.error(field, "is not a regular file")
                case .regular(let bytes) where bytes > LabBounds.maximumScriptBytes:
                    reader.error(field, "is \(bytes) bytes; a script may be at most \(LabBounds.maximumScriptBytes >> 10) KiB")
                case .regular:
                    scripts.insert(name)
                }
            }
            return scripts
        }
    }

    /// `[a-z0-9-]`, 1 to ``LabBounds/maximumStepIDLength`` characters.
    static func isValidStepID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= LabBounds.maximumStepIDLength
            && id.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    /// `setup`, `check`, `solve`, `cleanup`, or `check-<id>` / `solve-<id>` with a valid step id.
    static func isScriptName(_ name: String) -> Bool {
        if LabBounds.labScripts.contains(name) { return true }
        for prefix in ["check-", "solve-"] where name.hasPrefix(prefix) {
            return isValidStepID(String(name.dropFirst(prefix.count)))
        }
        return false
    }
}
