import Foundation

/// A fresh directory under the system's temporary folder, removed when its scope ends.
public struct TemporaryDirectory: Sendable {
    /// The directory.
    public let url: URL

    /// Runs `body` with a new empty directory and removes it afterwards, also when `body` throws.
    public static func with<Result>(
        prefix: String = "berth-test", _ body: (TemporaryDirectory) async throws -> Result
    ) async throws -> Result {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UniqueName.make())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(TemporaryDirectory(url: url))
    }

    /// The URL of `relativePath` inside the directory.
    public func path(_ relativePath: String) -> URL {
        url.appendingPathComponent(relativePath)
    }

    /// Writes `contents` to `relativePath`, creating intermediate folders.
    @discardableResult
    public func write(_ relativePath: String, _ contents: String) throws -> URL {
        let file = path(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: file)
        return file
    }
}

/// Short random names that are safe in container, network and image names.
public enum UniqueName {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// A random lowercase alphanumeric string, 10 characters by default.
    public static func make(length: Int = 10) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }
}

extension TemporaryDirectory {
    /// Runs synchronous `body` with a new empty directory and removes it afterwards.
    public static func withSync<Result>(prefix: String = "berth-test", _ body: (TemporaryDirectory) throws -> Result) throws -> Result {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UniqueName.make())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(TemporaryDirectory(url: url))
    }
}
