import BerthCore
import Crypto
import DockerEngine
import Foundation

/// Builds environment images through the Engine API from their folders.
///
/// A build is tagged by its content, `berth-env/<slug>:<first 12 hex of the SHA-256 of the build
/// context>`, and instances start from the image id that tag names (`latest` is also set, for
/// people and scripts only). So a build by
/// another server sharing the engine (another folder, another tag) never changes the image this
/// server's instances run, and rebuilding an unchanged folder finds the same tag.
public struct ImageBuilder: Sendable {
    /// The label carrying the context hash on built images.
    public static let contextLabel = "berth.build.context"

    /// The engine client.
    public let docker: DockerClient

    /// Creates a builder.
    public init(docker: DockerClient) {
        self.docker = docker
    }

    /// The reference instances of `environment` (in `folder`) start from: the content tag of a
    /// built folder, the named image of a prebuilt one, nil without an instance.
    ///
    /// Every start and every admin listing asks, so the context's hash is remembered per folder
    /// and only computed again when a file's path, size, mode or modification time changed.
    public static func reference(for environment: EnvironmentSpec, folder: URL) async throws -> String? {
        guard case .build(let context) = environment.image else { return environment.imageReference }
        let contextFolder = Self.contextFolder(context, in: folder)
        let fingerprint = try FolderFingerprint.of(contextFolder)
        if let hash = await contextHashes.hash(of: contextFolder.path, fingerprint: fingerprint) {
            return "berth-env/\(environment.slug):\(hash)"
        }
        guard let built = try buildContext(for: environment, folder: folder) else { return environment.imageReference }
        await contextHashes.remember(built.hash, of: contextFolder.path, fingerprint: fingerprint)
        return built.reference
    }

    /// Context hashes already computed, by folder path.
    static let contextHashes = ContextHashes()

    /// The folder a `.build(context:)` names: the environment's own for `.`, else its sub-folder.
    static func contextFolder(_ context: String, in folder: URL) -> URL {
        context == "." ? folder : folder.appendingPathComponent(context, isDirectory: true)
    }

    /// The build context of a built folder and its content tag; nil for other environments.
    static func buildContext(for environment: EnvironmentSpec, folder: URL) throws -> (reference: String, hash: String, tar: [UInt8])? {
        guard case .build(let context) = environment.image else { return nil }
        let tar = try TarArchive.ofFolder(Self.contextFolder(context, in: folder)).encoded()
        let hash = SHA256.hash(data: tar).prefix(6).map { String(format: "%02x", $0) }.joined()
        return ("berth-env/\(environment.slug):\(hash)", hash, tar)
    }

    /// Builds `environment` from `folder` (a no-op for environments that name a prebuilt image,
    /// which must then exist). Each line of build output goes to `progress`. Returns the image id.
    @discardableResult
    public func build(
        _ environment: EnvironmentSpec, folder: URL, noCache: Bool = false, progress: @escaping @Sendable (String) async -> Void
    ) async throws -> String {
        switch environment.image {
        case .none:
            throw BerthError(.noInstance, "\(environment.slug) has no image: it is a challenge without an instance.")
        case .prebuilt(let prebuilt):
            do {
                return try await docker.inspectImage(prebuilt).id
            } catch let error as DockerError where error.isNotFound {
                throw BerthError(.imageNotFound, "\(environment.slug): image '\(prebuilt)' is not in the engine and no registry is used; build it there first, or use 'image: .' to build the folder")
            }
        case .build:
            break
        }
        guard let context = try Self.buildContext(for: environment, folder: folder) else {
            throw BerthError(.noInstance, "\(environment.slug) has no folder to build.")
        }
        let id = try await docker.buildImage(
            context: context.tar, tag: context.reference,
            labels: [BerthLabel.builtEnvironment: environment.slug, Self.contextLabel: context.hash], noCache: noCache
        ) { line in
            if let text = line.stream ?? line.status {
                let trimmed = text.trimmingCharacters(in: .newlines)
                if !trimmed.isEmpty { await progress(trimmed) }
            }
        }
        // `latest` names the newest build of this slug on the engine, by whichever server, for
        // people and scripts (`docker run berth-env/<slug>:latest`); Berth never starts from it.
        try await docker.tagImage(id, repository: "berth-env/\(environment.slug)", tag: Self.convenienceTag)
        return id
    }

    /// The tag every build also gets, which Berth itself never uses.
    public static let convenienceTag = "latest"

    /// The id of the image instances of `environment` start from now, looked up at each start so a
    /// rebuild of this folder takes effect and nobody else's build does.
    /// Fails with ``LaunchFailure/imageMissing(_:)`` when it is not built.
    public func imageID(for environment: EnvironmentSpec, folder: URL) async throws -> String {
        let reference: String?
        do {
            reference = try await Self.reference(for: environment, folder: folder)
        } catch {
            throw LaunchFailure.imageMissing("berth-env/\(environment.slug) (its folder cannot be read: \(error))")
        }
        guard let reference else { throw LaunchFailure.imageMissing(environment.slug) }
        return try await imageID(of: reference)
    }

    /// The id of the image `reference` names on the engine, or ``LaunchFailure/imageMissing(_:)``.
    public func imageID(of reference: String) async throws -> String {
        do {
            return try await docker.inspectImage(reference).id
        } catch let error as DockerError where error.isNotFound {
            throw LaunchFailure.imageMissing(reference)
        } catch let error as DockerError {
            throw LaunchFailure.engine(error)
        }
    }

    /// True when the image `environment`'s folder builds (or its prebuilt image) is in the engine.
    public func isBuilt(_ environment: EnvironmentSpec, folder: URL) async -> Bool {
        (try? await imageID(for: environment, folder: folder)) != nil
    }
}

/// The hash of each build context Berth has read, with the folder fingerprint it was read at.
actor ContextHashes {
    private var byPath: [String: (fingerprint: [UInt8], hash: String)] = [:]

    func hash(of path: String, fingerprint: [UInt8]) -> String? {
        guard let known = byPath[path], known.fingerprint == fingerprint else { return nil }
        return known.hash
    }

    func remember(_ hash: String, of path: String, fingerprint: [UInt8]) {
        byPath[path] = (fingerprint, hash)
    }
}

/// A digest of a folder's file names, sizes, modes and modification times: cheap to take (no
/// file is read), and it changes whenever a build context may have.
enum FolderFingerprint {
    static func of(_ folder: URL) throws -> [UInt8] {
        let fileManager = FileManager.default
        let base = folder.standardizedFileURL.path
        guard let enumerator = fileManager.enumerator(atPath: base) else {
            throw BerthError(.folderNotFound, "Cannot read the build folder \(base).")
        }
        var paths: [String] = []
        while let next = enumerator.nextObject() as? String { paths.append(next) }
        var hasher = SHA256()
        for relative in paths.sorted() {
            let attributes = try fileManager.attributesOfItem(atPath: base + "/" + relative)
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            hasher.update(data: Data("\(relative)\u{0}\(size)\u{0}\(mode)\u{0}\(modified)\n".utf8))
        }
        return Array(hasher.finalize())
    }
}

extension ImageBuilder {
    /// `environment` pinned to the id of the image its instances start from now, found through
    /// `folders` (the content tag of a built folder) or, without them, the environment's own reference.
    public func pinned(_ environment: EnvironmentSpec, folders: EnvironmentCatalog?) async throws -> EnvironmentSpec {
        let id: String
        if let folders {
            id = try await imageID(for: environment, folder: await folders.folder(of: environment.slug))
        } else {
            guard let reference = environment.imageReference else { throw LaunchFailure.imageMissing(environment.slug) }
            id = try await imageID(of: reference)
        }
        var pinned = environment
        pinned.image = .prebuilt(reference: id)
        return pinned
    }
}
