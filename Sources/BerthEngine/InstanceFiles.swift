import BerthCore
import Crypto
import Foundation

/// The limits of the file API.
public struct FileLimits: Sendable, Equatable {
    /// The largest file read or written through the API: 8 MiB.
    public var fileBytes = 8 << 20
    /// The largest tar archive uploaded at once: 64 MiB.
    public var uploadBytes = 64 << 20
    /// The most entries an uploaded archive may hold: 10,000.
    public var uploadEntries = 10_000
    /// The largest tar archive downloaded at once: 256 MiB (writable paths are size-capped tmpfs
    /// mounts, so this is reached only with a writable root).
    public var downloadBytes = 256 << 20
    /// How long one operation may run in the container before it fails: 60 s.
    public var operationTimeout: Duration = .seconds(60)

    /// The defaults.
    public init() {}
}

/// The lexical rules every path of the file API passes before it reaches a container.
public enum FilePaths {
    /// The longest path accepted, in bytes (Linux's `PATH_MAX`).
    public static let maxPathBytes = 4096
    /// The longest name of one path component, in bytes (Linux's `NAME_MAX`).
    public static let maxComponentBytes = 255

    /// `raw` normalised: absolute, without `.` components, repeated or trailing slashes. Refuses
    /// (``BerthError/Code/pathNotAllowed``) an empty or relative path, a `..` component, a NUL
    /// byte, and a path or name over the length limits.
    public static func normalise(_ raw: String) throws -> String {
        guard !raw.isEmpty else { throw BerthError(.pathNotAllowed, "The path is empty; give an absolute path such as /tmp/notes.txt.") }
        guard !raw.utf8.contains(0) else { throw BerthError(.pathNotAllowed, "The path holds a NUL byte.") }
        guard raw.utf8.count <= maxPathBytes else { throw BerthError(.pathNotAllowed, "The path is longer than \(maxPathBytes) bytes.") }
        guard raw.hasPrefix("/") else { throw BerthError(.pathNotAllowed, "'\(raw)' is not an absolute path; paths start with /.") }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            guard part != ".." else { throw BerthError(.pathNotAllowed, "'\(raw)' holds '..'; name the file by its absolute path.") }
            guard part.utf8.count <= maxComponentBytes else {
                throw BerthError(.pathNotAllowed, "A name in '\(raw)' is longer than \(maxComponentBytes) bytes.")
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// True when `path` (normalised) is `root` or lies under it.
    public static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// The roots files of `environment` live in: its workspace, its writable paths, plus the
    /// terminal's working folder when the root file system is writable; normalised, in that
    /// order, without duplicates.
    public static func roots(of environment: EnvironmentSpec) -> [String] {
        var candidates = (environment.berth.workspace.map { [$0.path] } ?? []) + environment.berth.writable
        if !environment.berth.readOnlyRoot, let workdir = environment.berth.terminal.workdir { candidates.append(workdir) }
        var roots: [String] = []
        for candidate in candidates {
            if let root = try? normalise(candidate), !roots.contains(root) { roots.append(root) }
        }
        return roots
    }
}

/// A folder's listing.
public struct FileListing: Sendable, Equatable {
    /// The folder listed, nil when only the roots were asked for.
    public var path: String?
    /// The roots of the instance.
    public var roots: [String]
    /// The entries, sorted by name.
    public var entries: [FileEntry]
}

/// A file's content and its SHA-256.
public struct FileContent: Sendable, Equatable {
    /// The bytes.
    public var bytes: [UInt8]
    /// Lower-case hex SHA-256 of ``bytes``.
    public var sha256: String
}

/// A finished write.
public struct FileWritten: Sendable, Equatable {
    /// The file afterwards.
    public var entry: FileEntry
    /// Lower-case hex SHA-256 of what was written.
    public var sha256: String
}

/// A finished upload.
public struct FilesUploaded: Sendable, Equatable {
    /// The folder extracted into.
    public var path: String
    /// Regular files written.
    public var files: Int
    /// Bytes of those files.
    public var bytes: Int
}

/// A tar archive of a folder, spooled to an unlinked temporary file: its bytes are read from
/// ``handle`` and vanish when the handle is closed.
public struct SpooledArchive: Sendable {
    /// Open for reading at the start.
    public let handle: FileHandle
    /// The archive's length.
    public let size: Int64
}

/// The file API of instances: lists, reads, writes, deletes, downloads and uploads files within
/// an instance's roots (see ``FilePaths/roots(of:)``), as the terminal's user.
///
/// This service checks the instance, the paths (lexically), the limits and uploaded archives;
/// the ``InstanceFileSystem`` checks symlinks where the files are.
public struct InstanceFiles: Sendable {
    /// Where the files are.
    public let fileSystem: any InstanceFileSystem
    /// The environments, for each instance's roots and user.
    public let catalog: EnvironmentCatalog
    /// The limits.
    public var limits: FileLimits

    /// Creates the service.
    public init(fileSystem: any InstanceFileSystem, catalog: EnvironmentCatalog, limits: FileLimits = FileLimits()) {
        self.fileSystem = fileSystem
        self.catalog = catalog
        self.limits = limits
    }

    /// Lists the folder `path`, or, without one, answers only the roots.
    public func list(_ instance: Instance, path: String?) async throws -> FileListing {
        let scope = try await scope(of: instance)
        guard let path else { return FileListing(path: nil, roots: scope.roots, entries: []) }
        let folder = try allowed(path, in: scope)
        let entries = try await fileSystem.listFolder(folder, in: scope).sorted { $0.name < $1.name }
        return FileListing(path: folder, roots: scope.roots, entries: entries)
    }

    /// Reads the file `path`.
    public func read(_ instance: Instance, path: String) async throws -> FileContent {
        let scope = try await scope(of: instance)
        let bytes = try await fileSystem.readFile(try allowed(path, in: scope), in: scope, limit: limits.fileBytes)
        return FileContent(bytes: bytes, sha256: Self.sha256(bytes))
    }

    /// Writes `bytes` to `path` when `condition` holds.
    public func write(_ instance: Instance, path: String, bytes: [UInt8], condition: WriteCondition) async throws -> FileWritten {
        guard bytes.count <= limits.fileBytes else {
            throw BerthError(.fileTooLarge, "The file is \(bytes.count) bytes; the file API writes at most \(limits.fileBytes) bytes at once (upload larger files as a tar archive).")
        }
        if case .matches(let hash) = condition {
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw BerthError(.invalidRequest, "If-Match must be the file's SHA-256 in lower-case hex, in quotes, as its ETag gave it.")
            }
        }
        let scope = try await scope(of: instance)
        let target = try allowed(path, in: scope)
        let entry = try await whenWorkspaceFull(instance, path: target) {
            try await fileSystem.writeFile(target, contents: bytes, condition: condition, in: scope)
        }
        guard entry.size == Int64(bytes.count) else {
            throw BerthError(.fileOperationFailed, "The file \(entry.path) holds \(entry.size) bytes after writing \(bytes.count); it may have changed meanwhile, or the disk is full.")
        }
        return FileWritten(entry: entry, sha256: Self.sha256(bytes))
    }

    /// Deletes the file, link or folder `path` (a folder that is not empty only with `recursive`).
    public func remove(_ instance: Instance, path: String, recursive: Bool) async throws {
        let scope = try await scope(of: instance)
        let target = try allowed(path, in: scope)
        guard !scope.roots.contains(target) else {
            throw BerthError(.pathNotAllowed, "\(target) is a root of the instance's files; delete what it holds instead.")
        }
        try await fileSystem.removeFile(target, recursive: recursive, in: scope)
    }

    /// The folder `path` as a tar archive, spooled to a temporary file so a large archive never
    /// sits in memory and the engine's exec ends before the client starts reading.
    public func download(_ instance: Instance, path: String) async throws -> SpooledArchive {
        let scope = try await scope(of: instance)
        let folder = try allowed(path, in: scope)
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("berth-download-\(UUID().uuidString).tar")
        guard FileManager.default.createFile(atPath: spool.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let writer = FileHandle(forWritingAtPath: spool.path), let reader = FileHandle(forReadingAtPath: spool.path)
        else {
            throw BerthError(.fileOperationFailed, "The server cannot create a temporary file for the archive in \(spool.deletingLastPathComponent().path).")
        }
        // Unlinked at once: the space comes back when the reader is closed, whatever happens.
        try? FileManager.default.removeItem(at: spool)
        do {
            try await fileSystem.archiveFolder(folder, in: scope, limit: limits.downloadBytes) { chunk in
                try writer.write(contentsOf: chunk)
            }
            let size = try writer.offset()
            try writer.close()
            return SpooledArchive(handle: reader, size: Int64(size))
        } catch {
            try? writer.close()
            try? reader.close()
            throw error
        }
    }

    /// Checks the tar archive `tar` and extracts it into the folder `path`.
    public func upload(_ instance: Instance, path: String, tar: [UInt8]) async throws -> FilesUploaded {
        guard tar.count <= limits.uploadBytes else {
            throw BerthError(.bodyTooLarge, "The archive is \(tar.count) bytes; an upload may be at most \(limits.uploadBytes) bytes.")
        }
        let scope = try await scope(of: instance)
        let folder = try allowed(path, in: scope)
        let archive = try CheckedArchive(tar: tar, maxEntries: limits.uploadEntries)
        try await whenWorkspaceFull(instance, path: folder) {
            try await fileSystem.extractArchive(archive, into: folder, in: scope)
        }
        return FilesUploaded(path: folder, files: archive.fileCount, bytes: archive.byteCount)
    }

    /// Runs a write; a full file system under the environment's workspace is `workspace_full`
    /// (507) with words the learner can act on, not the generic `file_too_large`.
    func whenWorkspaceFull<T: Sendable>(_ instance: Instance, path: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as BerthError where error.code == .fileTooLarge && error.message.contains("file system is full") {
            guard let workspace = await catalog.environment(instance.environment)?.berth.workspace,
                  FilePaths.isInside(path, root: (try? FilePaths.normalise(workspace.path)) ?? workspace.path)
            else { throw error }
            throw BerthError(.workspaceFull, Self.workspaceFullMessage(path: workspace.path, sizeBytes: workspace.sizeBytes))
        }
    }

    /// What a learner reads when their workspace is full (the page shows the same words).
    public static func workspaceFullMessage(path: String, sizeBytes: Int64) -> String {
        "Your workspace is full: \(path) holds its quota of \(EndReason.mebibytes(sizeBytes)) and nothing more can be written. Delete files you no longer need, or export it and reset with a clean workspace."
    }

    // MARK: - Checks

    /// The scope of a running instance.
    public func scope(of instance: Instance) async throws -> FileScope {
        guard instance.state == .running, let containerID = instance.containerID else {
            throw BerthError(.instanceNotRunning, "Instance \(instance.id) is \(instance.state.rawValue); its files can be reached only while it runs.")
        }
        guard let environment = await catalog.environment(instance.environment) else {
            throw BerthError(.environmentRemoved, "The environment '\(instance.environment)' of instance \(instance.id) is no longer in the catalog.")
        }
        return FileScope(containerID: containerID, user: environment.berth.terminal.user, roots: FilePaths.roots(of: environment))
    }

    /// `raw` normalised, when it lies in one of the scope's roots.
    func allowed(_ raw: String, in scope: FileScope) throws -> String {
        let path = try FilePaths.normalise(raw)
        guard scope.roots.contains(where: { FilePaths.isInside(path, root: $0) }) else {
            let roots = scope.roots.isEmpty ? "this environment has none" : scope.roots.joined(separator: ", ")
            throw BerthError(.pathNotAllowed, "\(path) is outside the folders whose files can be reached (\(roots)); the rest of the file system is read-only or not the learner's.")
        }
        return path
    }

    /// Lower-case hex SHA-256.
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
