import Foundation

/// An environment folder written by a test: a `challenge.yml`, a `Dockerfile` and any other files.
public struct TestEnvironment: Sendable {
    /// The folder name, which is the slug.
    public var slug: String
    /// The `challenge.yml` text.
    public var challenge: String
    /// The `Dockerfile` text; nil writes none.
    public var dockerfile: String?
    /// Other files, by path relative to the folder.
    public var files: [String: String]

    /// Creates an environment description.
    public init(slug: String, challenge: String, dockerfile: String? = nil, files: [String: String] = [:]) {
        self.slug = slug
        self.challenge = challenge
        self.dockerfile = dockerfile
        self.files = files
    }

    /// Writes the folder `<directory>/<slug>`.
    public func write(into directory: URL) throws {
        let folder = directory.appendingPathComponent(slug, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(challenge.utf8).write(to: folder.appendingPathComponent("challenge.yml"))
        if let dockerfile { try Data(dockerfile.utf8).write(to: folder.appendingPathComponent("Dockerfile")) }
        for (path, contents) in files {
            let file = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: file)
        }
    }
}
