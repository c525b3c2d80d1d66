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

    /// Reads every `<slug>/challenge.yml` (or `.yaml`) under `directory`.
    public static func scan(_ directory: URL) throws -> CatalogScan {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BerthError.notFound("environments_not_found", "The environments folder \(directory.path) does not exist; pass --environments DIR.")
        }
        let entries = try fileManager.contentsOfDirectory(atPath: directory.path).sorted()
        var environments: [EnvironmentSpec] = []
        var problems: [ValidationProblem] = []
        for slug in entries where !slug.hasPrefix(".") {
            let folder = directory.appendingPathComponent(slug, isDirectory: true)
            guard fileManager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard let file = ["challenge.yml", "challenge.yaml"].map({ folder.appendingPathComponent($0) })
                .first(where: { fileManager.fileExists(atPath: $0.path) })
            else { continue }
            let displayName = "\(slug)/\(file.lastPathComponent)"
            let text: String
            do {
                text = try String(contentsOf: file, encoding: .utf8)
            } catch {
                problems.append(ValidationProblem(file: displayName, field: "(file)", reason: "cannot be read as UTF-8 text: \(error.localizedDescription)"))
                continue
            }
            let outcome = EnvironmentParser().parse(yaml: text, file: displayName, slug: slug)
            problems += outcome.problems
            guard let spec = outcome.spec else { continue }
            if spec.buildsFromFolder && !fileManager.fileExists(atPath: folder.appendingPathComponent("Dockerfile").path) {
                problems.append(ValidationProblem(file: "\(slug)/Dockerfile", field: "image", reason: "'image: .' builds this folder, but it has no Dockerfile"))
                continue
            }
            environments.append(spec)
        }
        return CatalogScan(environments: environments, problems: problems)
    }
}
