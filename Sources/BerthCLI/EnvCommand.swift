import ArgumentParser
import BerthCore
import BerthEngine
import DockerEngine
import Foundation

/// `berth env`: list, validate and build the environments of a folder.
struct EnvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "List, validate and build environments.",
        subcommands: [EnvListCommand.self, EnvValidateCommand.self, EnvBuildCommand.self]
    )
}

/// Where the environments live: `--environments`, else `BERTH_ENVIRONMENTS`, else `./environments`.
struct EnvironmentsOption: ParsableArguments {
    @Option(help: "Folder of environment folders (default: BERTH_ENVIRONMENTS or ./environments).")
    var environments: String?

    var directory: URL {
        let path = environments ?? ProcessInfo.processInfo.environment["BERTH_ENVIRONMENTS"].flatMap { $0.isEmpty ? nil : $0 } ?? "./environments"
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    func scan() throws -> CatalogScan {
        try EnvironmentCatalog.scan(directory)
    }
}

/// `berth env list`.
struct EnvListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the environments a folder offers.")

    @OptionGroup var folder: EnvironmentsOption
    @OptionGroup var output: OutputOptions

    struct Row: Encodable {
        var slug: String
        var name: String
        var category: String
        var image: String
        var ports: [Int]
        var network: String
        var warnings: [String]
    }

    func run() async throws {
        let scan = try folder.scan()
        let rows = scan.environments.map {
            Row(slug: $0.slug, name: $0.name, category: $0.category, image: $0.imageReference ?? "(no instance)", ports: $0.berth.ports.map(\.port),
                network: $0.berth.network.rawValue, warnings: $0.warnings.map(\.description))
        }
        if output.json {
            try CLISupport.printJSON(rows)
        } else {
            CLISupport.printTable(
                ["SLUG", "NAME", "CATEGORY", "IMAGE", "PORTS", "NETWORK"],
                rows.map { [$0.slug, $0.name, $0.category, $0.image.isEmpty ? "(no instance)" : $0.image, $0.ports.map(String.init).joined(separator: ","), $0.network] }
            )
            let errors = scan.problems.filter { $0.severity == .error }.count
            if errors > 0 { print("\n\(errors) environment error(s); run `berth env validate` for details.") }
        }
    }
}

/// `berth env validate`.
struct EnvValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check every challenge.yml and report each problem as file: field: reason.",
        discussion: """
            Lists the broken environments (left out of the catalog) with their problems. Exits with status 1 when \
            any error is found; warnings (such as unknown fields) do not fail. No file can crash it: files over 1 MiB, \
            YAML alias bombs (over 10,000 nodes) and nesting deeper than 64 levels are problems too.
            """
    )

    @OptionGroup var folder: EnvironmentsOption
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var valid: Bool
        var environments: [String]
        /// Folders left out of the catalog because of errors.
        var broken: [String]
        var problems: [ValidationProblem]
    }

    func run() async throws {
        let scan = try folder.scan()
        let broken = Set(scan.problems.filter { $0.severity == .error }.compactMap { $0.file.split(separator: "/").first.map(String.init) })
            .subtracting(scan.environments.map(\.slug)).sorted()
        if output.json {
            try CLISupport.printJSON(Report(valid: scan.isValid, environments: scan.environments.map(\.slug), broken: broken, problems: scan.problems))
        } else {
            for problem in scan.problems { print(problem.description) }
            let errors = scan.problems.filter { $0.severity == .error }.count
            if !broken.isEmpty { print("broken: \(broken.joined(separator: ", "))") }
            print("\(scan.environments.count) valid environment(s), \(broken.count) broken, \(errors) error(s), \(scan.problems.count - errors) warning(s)")
        }
        if !scan.isValid { throw ExitCode(1) }
    }
}

/// `berth env build`.
struct EnvBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the images of the environments through the Docker Engine API.",
        discussion: """
            Builds every valid environment, or only the slugs given. DOCKER_HOST selects the engine \
            (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for mutual TLS, as with the docker CLI). \
            Challenges without an instance (no image, no Dockerfile) are skipped; a prebuilt image \
            (image: name:tag) is only checked to be on the engine (image_not_found otherwise). \
            Images are tagged berth-env/<slug>:<first 12 hex of the SHA-256 of the build context>, and servers \
            start instances from the id that tag names, so builds of other folders (other servers on the same \
            engine) never replace this one's. The build is also tagged latest, which Berth never starts from.
            """
    )

    @OptionGroup var folder: EnvironmentsOption
    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("no-cache"), help: "Build without the engine's layer cache.")
    var noCache = false

    @Argument(help: "Slugs to build (default: all).")
    var slugs: [String] = []

    struct Result: Encodable {
        var slug: String
        var image: String
        var imageID: String?
        var error: String?
    }

    func run() async throws {
        let scan = try folder.scan()
        for problem in scan.problems where !output.json { print(problem.description) }
        let unknown = slugs.filter { slug in !scan.environments.contains { $0.slug == slug } }
        guard unknown.isEmpty else {
            throw BerthError(.environmentNotFound, "No valid environment called \(unknown.joined(separator: ", ")) in \(folder.directory.path).")
        }
        let chosen = scan.environments.filter { (slugs.isEmpty || slugs.contains($0.slug)) && $0.hasInstance }
        for environment in scan.environments where slugs.contains(environment.slug) && !environment.hasInstance && !output.json {
            print("==> \(environment.slug): skipped, it has no instance (no image)")
        }
        let builder = ImageBuilder(docker: try DockerClient.fromEnvironment())
        let quiet = output.json
        var results: [Result] = []
        for environment in chosen {
            let environmentFolder = folder.directory.appendingPathComponent(environment.slug, isDirectory: true)
            let reference = (try? await ImageBuilder.reference(for: environment, folder: environmentFolder)) ?? environment.imageReference ?? ""
            if !quiet { print("==> \(environment.slug): building \(reference)") }
            do {
                let id = try await builder.build(environment, folder: environmentFolder, noCache: noCache) { line in
                    if !quiet { print("    \(environment.slug) | \(line)") }
                }
                results.append(Result(slug: environment.slug, image: reference, imageID: id))
                if !quiet { print("==> \(environment.slug): built \(id)") }
            } catch {
                results.append(Result(slug: environment.slug, image: reference, error: "\(error)"))
                if !quiet { print("==> \(environment.slug): FAILED: \(error)") }
            }
        }
        if quiet { try CLISupport.printJSON(results) }
        let failed = results.filter { $0.error != nil }.count
        if !quiet { print("\(results.count - failed) built, \(failed) failed") }
        if failed > 0 || !scan.isValid { throw ExitCode(1) }
    }
}
