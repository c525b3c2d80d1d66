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
        guard environment.buildsFromFolder else {
            do {
                return try await docker.inspectImage(environment.imageReference).id
            } catch let error as DockerError where error.isNotFound {
                throw BerthError.unprocessable("image_not_found", "\(environment.slug): image '\(environment.imageReference)' is not in the engine and no registry is used; build it or use 'image: .'")
            }
        }
        let context = try TarArchive.ofFolder(folder).encoded()
        return try await docker.buildImage(
            context: context, tag: environment.imageReference, labels: [BerthLabel.builtEnvironment: environment.slug], noCache: noCache
        ) { line in
            if let text = line.stream ?? line.status {
                let trimmed = text.trimmingCharacters(in: .newlines)
                if !trimmed.isEmpty { await progress(trimmed) }
            }
        }
    }

    /// True when the environment's image is present in the engine.
    public func isBuilt(_ environment: EnvironmentSpec) async -> Bool {
        (try? await docker.inspectImage(environment.imageReference)) != nil
    }
}
