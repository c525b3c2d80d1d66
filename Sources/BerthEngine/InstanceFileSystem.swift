import BerthCore
import Foundation

/// One entry of a folder in an instance.
public struct FileEntry: Sendable, Equatable {
    /// What an entry is. A symlink is reported as a link, not as what it points to.
    public enum Kind: String, Sendable, Equatable {
        case file
        case directory
        case symlink
        case other
    }

    /// The last component of ``path``.
    public var name: String
    /// The absolute path the caller named it by (not the symlink-resolved one).
    public var path: String
    /// What it is.
    public var kind: Kind
    /// Size in bytes (of the link itself for a symlink).
    public var size: Int64
    /// Permission bits (`0o644`), without the file type.
    public var mode: Int
    /// Last modification.
    public var modifiedAt: Date

    /// Creates an entry.
    public init(name: String, path: String, kind: Kind, size: Int64, mode: Int, modifiedAt: Date) {
        self.name = name
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.modifiedAt = modifiedAt
    }

    /// ``mode`` as four octal digits, e.g. `0644`.
    public var modeText: String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// Where file operations in one instance may act: its container, the user they run as, and the
/// roots (absolute, normalised) every path must stay in.
public struct FileScope: Sendable, Equatable {
    /// The container.
    public var containerID: String
    /// The terminal's user: operations get the learner's own permissions.
    public var user: String?
    /// The folders files may be read and written in.
    public var roots: [String]

    /// Creates a scope.
    public init(containerID: String, user: String?, roots: [String]) {
        self.containerID = containerID
        self.user = user
        self.roots = roots
    }
}

/// When a write may replace what is there.
public enum WriteCondition: Sendable, Equatable {
    /// Always: create or replace.
    case always
    /// Only when nothing is at the path (`If-None-Match: *`).
    case absent
    /// Only when the file's content now has this SHA-256 (lower-case hex, `If-Match`).
    case matches(String)
}

/// The file operations of one engine, inside a running container.
///
/// Paths reach an implementation already normalised and lexically inside ``FileScope/roots``
/// (see ``FilePaths``); the implementation resolves symlinks where the files are and refuses,
/// with ``BerthError/Code/pathNotAllowed``, any path whose real location leaves the roots.
/// Failures are ``BerthError``s with the codes of the file API.
public protocol InstanceFileSystem: Sendable {
    /// The entries of the folder `path`, unsorted.
    func listFolder(_ path: String, in scope: FileScope) async throws -> [FileEntry]
    /// The content of the regular file `path`; ``BerthError/Code/fileTooLarge`` past `limit` bytes.
    func readFile(_ path: String, in scope: FileScope, limit: Int) async throws -> [UInt8]
    /// Writes `contents` to `path`, creating missing folders, keeping an existing file's mode and
    /// creating a new one 0644 as the scope's user; returns the file's entry afterwards.
    func writeFile(_ path: String, contents: [UInt8], condition: WriteCondition, in scope: FileScope) async throws -> FileEntry
    /// Removes the file, link or empty folder `path` (a folder and all it holds with `recursive`).
    func removeFile(_ path: String, recursive: Bool, in scope: FileScope) async throws
    /// Writes the folder `path` as a tar archive to `sink`, piece by piece; fails with
    /// ``BerthError/Code/fileTooLarge`` once more than `limit` bytes came.
    func archiveFolder(_ path: String, in scope: FileScope, limit: Int, to sink: @escaping @Sendable ([UInt8]) async throws -> Void) async throws
    /// Extracts `archive` (already checked) into the folder `path`, creating it when missing.
    func extractArchive(_ archive: CheckedArchive, into path: String, in scope: FileScope) async throws
}
