import BerthCore
import DockerEngine
import Foundation

/// Builds environment images through the Engine API from their folders.
public struct ImageBuilder: Sendable {
    /// The engine client.
    public let docker: DockerClient

    /// Creates a builder.
    public init(docker: DockerClient) {
        self.docker = docker
    }

    /// Builds `environment` from `folder` (a no-op for environments that name a prebuilt image,
    /// which must then exist). Each line of build output goes to `progress`. Returns the image id.
    @discardableResult
    public func build(
        _ environment: EnvironmentSpec, folder: URL, noCache: Bool = false, progress: @escaping @Sendable (String) async -> Void
    ) async throws -> String {
        let reference: String
        let contextFolder: URL
        switch environment.image {
        case .none:
            throw BerthError.unprocessable("no_instance", "\(environment.slug) has no image: it is a challenge without an instance.")
        case .prebuilt(let prebuilt):
            do {
                return try await docker.inspectImage(prebuilt).id
            } catch let error as DockerError where error.isNotFound {
                throw BerthError.unprocessable("image_not_found", "\(environment.slug): image '\(prebuilt)' is not in the engine and no registry is used; build it there first, or use 'image: .' to build the folder")
            }
        case .build(let context):
            reference = "berth-env/\(environment.slug):latest"
            contextFolder = context == "." ? folder : folder.appendingPathComponent(context, isDirectory: true)
        }
        let context = try TarArchive.ofFolder(contextFolder).encoded()
        return try await docker.buildImage(
            context: context, tag: reference, labels: [BerthLabel.builtEnvironment: environment.slug], noCache: noCache
        ) { line in
            if let text = line.stream ?? line.status {
                let trimmed = text.trimmingCharacters(in: .newlines)
                if !trimmed.isEmpty { await progress(trimmed) }
            }
        }
    }

    /// True when the environment's image is present in the engine.
    public func isBuilt(_ environment: EnvironmentSpec) async -> Bool {
        guard let reference = environment.imageReference else { return false }
        return (try? await docker.inspectImage(reference)) != nil
    }
}
