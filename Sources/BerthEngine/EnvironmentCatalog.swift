import BerthCore
import Foundation

/// The result of scanning an environments folder.
public struct CatalogScan: Sendable {
    /// Environments that loaded without errors, sorted by slug.
    public var environments: [EnvironmentSpec]
    /// Every error and warning found, as `file: field: reason`.
    public var problems: [ValidationProblem]

    /// True when no error was found (warnings allowed).
    public var isValid: Bool { !problems.contains { $0.severity == .error } }
}

/// The environments Berth offers, loaded from a folder of challenge folders and reloadable
/// without a restart.
public actor EnvironmentCatalog {
    /// The folder holding one sub-folder per environment.
    public let directory: URL
    private var bySlug: [String: EnvironmentSpec] = [:]
    private var lastProblems: [ValidationProblem] = []

    /// Creates an empty catalog for `directory`; call ``reload()`` to load it.
    public init(directory: URL) {
        self.directory = directory
    }

    /// Creates a catalog holding exactly `environments` (for tests and embedding).
    public init(directory: URL, environments: [EnvironmentSpec]) {
        self.directory = directory
        self.bySlug = Dictionary(environments.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Re-reads the folder. Valid environments replace the catalog; invalid ones are left out and reported.
    @discardableResult
    public func reload() throws -> CatalogScan {
        let scan = try Self.scan(directory)
        bySlug = Dictionary(scan.environments.map { ($0.slug, $0) }, uniquingKeysWith: { first, _ in first })
        lastProblems = scan.problems
        return scan
    }

    /// The environment with this slug.
    public func environment(_ slug: String) -> EnvironmentSpec? { bySlug[slug] }

    /// All environments, sorted by slug.
    public func all() -> [EnvironmentSpec] { bySlug.values.sorted { $0.slug < $1.slug } }

    /// Problems found by the last load.
    public func problems() -> [ValidationProblem] { lastProblems }

    /// The folder of one environment.
    public func folder(of slug: String) -> URL { directory.appendingPathComponent(slug, isDirectory: true) }

    /// Reads every `<slug>/challenge.yml` (or `.yaml`) under `directory`. A folder that cannot be
    /// read or parsed is reported and left out; it never stops the scan.
    public static func scan(_ directory: URL) throws -> CatalogScan {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BerthError(.environmentsNotFound, "The environments folder \(directory.path) does not exist; pass --environments DIR.")
        }
        let entries = try fileManager.contentsOfDirectory(atPath: directory.path).sorted()
        var environments: [EnvironmentSpec] = []
        var fileNames: [String: String] = [:]
        var problems: [ValidationProblem] = []
        for slug in entries where !slug.hasPrefix(".") {
            let folder = directory.appendingPathComponent(slug, isDirectory: true)
            guard fileManager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard let file = ["challenge.yml", "challenge.yaml"].map({ folder.appendingPathComponent($0) })
                .first(where: { fileManager.fileExists(atPath: $0.path) })
            else { continue }
            let displayName = "\(slug)/\(file.lastPathComponent)"
            let text: String
            switch readText(file) {
            case .success(let read): text = read
            case .failure(let problem):
                problems.append(ValidationProblem(file: displayName, field: "(file)", reason: problem.reason))
                continue
            }
            let outcome = EnvironmentParser().parse(yaml: text, file: displayName, slug: slug, folder: ChallengeFolder(folder: folder))
            problems += outcome.problems
            guard let spec = outcome.spec else { continue }
            var refusals = hostLimitProblems(spec, file: displayName)
            if !spec.files.isEmpty {
                // Globs and symlinks that lead out of the folder, and files that are not there, refuse the environment.
                // The same resolution that serves the files, without reading them.
                refusals += AttachmentLibrary.resolve(spec.files, in: folder, hashing: false).problems.map {
                    ValidationProblem(file: displayName, field: "files", reason: $0)
                }
            }
            problems += refusals
            guard refusals.isEmpty else { continue }
            environments.append(spec)
            fileNames[spec.slug] = displayName
        }
        for spec in environments {
            for entry in spec.requirements?.prerequisites ?? [] where prerequisite(entry, in: environments) == nil {
                problems.append(ValidationProblem(
                    file: fileNames[spec.slug] ?? spec.slug, field: "requirements",
                    reason: "'\(entry)' names no environment in the catalog (by folder name or name; CTFd's numeric ids mean nothing here), so this one stays locked",
                    severity: .warning
                ))
            }
        }
        return CatalogScan(environments: environments, problems: problems)
    }

    /// The environment a `requirements` entry names: by slug, then by name (exactly, then
    /// ignoring case). CTFd's numeric ids have no meaning here, so an entry that names nothing
    /// keeps the environment locked (and the scan warns).
    static func prerequisite(_ entry: String, in all: [EnvironmentSpec]) -> EnvironmentSpec? {
        all.first { $0.slug == entry } ?? all.first { $0.name == entry }
            ?? all.first { $0.name.caseInsensitiveCompare(entry) == .orderedSame }
    }

    private struct ReadProblem: Error {
        var reason: String
    }

    /// The file's text: at most ``YAMLLimits/maximumDocumentBytes``, valid UTF-8, a leading
    /// byte-order mark dropped.
    private static func readText(_ file: URL) -> Result<String, ReadProblem> {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            return .failure(ReadProblem(reason: "cannot be opened for reading"))
        }
        defer { try? handle.close() }
        let data: Data
        do {
            // Read one byte past the limit to tell "at the limit" from "over it" without reading a huge file.
            data = try handle.read(upToCount: YAMLLimits.maximumDocumentBytes + 1) ?? Data()
        } catch {
            return .failure(ReadProblem(reason: "cannot be read: \(error.localizedDescription)"))
        }
        guard data.count <= YAMLLimits.maximumDocumentBytes else {
            return .failure(ReadProblem(reason: "is larger than \(YAMLLimits.maximumDocumentBytes) bytes (1 MiB); a challenge.yml is a few KiB"))
        }
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ReadProblem(reason: "is not UTF-8 text; save it as UTF-8"))
        }
        return .success(text)
    }

    /// Refuses limits the host could never give: more memory, or a tmpfs larger than its memory.
    private static func hostLimitProblems(_ spec: EnvironmentSpec, file: String) -> [ValidationProblem] {
        let physical = ProcessInfo.processInfo.physicalMemory
        guard physical > 0, physical <= UInt64(Int64.max) else { return [] }
        let host = Int64(physical)
        var problems: [ValidationProblem] = []
        if spec.berth.resources.memoryBytes > host {
            problems.append(ValidationProblem(
                file: file, field: "berth.resources.memory",
                reason: "\(spec.berth.resources.memoryBytes >> 20)m is more than this host's \(host >> 20)m of memory"))
        }
        // Each writable path gets its own tmpfs of tmpfsSize, and tmpfs lives in memory.
        let (total, overflow) = spec.berth.tmpfsBytes.multipliedReportingOverflow(by: Int64(max(1, spec.berth.writable.count)))
        if overflow || total > host {
            problems.append(ValidationProblem(
                file: file, field: "berth.tmpfsSize",
                reason: "\(spec.berth.tmpfsBytes >> 20)m for each of \(max(1, spec.berth.writable.count)) writable path(s) is more than this host's \(host >> 20)m of memory (a tmpfs lives in memory)"))
        }
        return problems
    }
}

extension ChallengeFolder {
    /// Facts about the environment folder at `folder`, read when the parser asks.
    public init(folder: URL) {
        let path = folder.standardizedFileURL.path
        self.init(entry: { relative in
            // The parser only asks about relative paths without '..'; a symlink that leads out of the folder is refused too.
            let candidate = relative == "." ? path : path + "/" + relative
            let resolved = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
            let root = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard resolved == root || resolved.hasPrefix(root + "/") else { return .missing }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else { return .missing }
            return FileManager.default.fileExists(atPath: resolved + "/Dockerfile") ? .folderWithDockerfile : .folderWithoutDockerfile
        }, checks: { LabFolder.checks(in: folder) }, text: { LabFolder.text($0, in: folder) })
    }
}
