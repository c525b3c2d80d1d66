import BerthCore
import BerthEngine
import DockerEngine
import Foundation

/// The files of the fake engine's containers, in memory, for HTTP tests of the file API that are
/// not about the engine (statuses, access, audit). Symlinks are not modelled; the real engine's
/// tests cover them.
public actor FakeFileTrees {
    /// One node of a container's tree.
    public enum Node: Sendable, Equatable {
        case file([UInt8], mode: Int)
        case directory
    }

    /// The trees of every fake container, by container id (ids are unique across tests).
    public static let shared = FakeFileTrees()

    private var trees: [String: [String: Node]] = [:]
    private var unavailable: Set<String> = []

    /// The nodes of a container by absolute path.
    public func tree(_ containerID: String) -> [String: Node] {
        trees[containerID] ?? [:]
    }

    /// Makes the container answer as an image without `sh` or `tar`.
    public func makeUnavailable(_ containerID: String) {
        unavailable.insert(containerID)
    }

    func update<R: Sendable>(_ scope: FileScope, _ body: @Sendable (inout [String: Node]) throws -> R) throws -> R {
        guard !unavailable.contains(scope.containerID) else {
            throw BerthError(.filesUnavailable, "The instance's image cannot serve files (the fake engine was told so).")
        }
        var tree = trees[scope.containerID] ?? Self.initial(scope.roots)
        defer { trees[scope.containerID] = tree }
        return try body(&tree)
    }

    private static func initial(_ roots: [String]) -> [String: Node] {
        var tree: [String: Node] = ["/": .directory]
        for root in roots { addFolders(root, to: &tree) }
        return tree
    }

    static func addFolders(_ path: String, to tree: inout [String: Node]) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if tree[current] == nil { tree[current] = .directory }
        }
    }

    static func parent(_ path: String) -> String {
        let parent = path.split(separator: "/").dropLast().joined(separator: "/")
        return "/" + parent
    }

    static func children(of folder: String, in tree: [String: Node]) -> [String] {
        tree.keys.filter { $0 != "/" && $0 != folder && parent($0) == folder }
    }

    static func entry(_ path: String, _ node: Node) -> FileEntry {
        let name = String(path.split(separator: "/").last ?? "")
        return switch node {
        case .file(let bytes, let mode):
            FileEntry(name: name, path: path, kind: .file, size: Int64(bytes.count), mode: mode, modifiedAt: Date(timeIntervalSince1970: 1_800_000_000))
        case .directory:
            FileEntry(name: name, path: path, kind: .directory, size: 4096, mode: 0o755, modifiedAt: Date(timeIntervalSince1970: 1_800_000_000))
        }
    }
}

extension FakeInstanceRuntime: InstanceFileSystem {
    public nonisolated func listFolder(_ path: String, in scope: FileScope) async throws -> [FileEntry] {
        try await FakeFileTrees.shared.update(scope) { tree in
            guard let node = tree[path] else { throw BerthError(.fileNotFound, "Nothing is at \(path).") }
            guard node == .directory else { throw BerthError(.notADirectory, "\(path) is not a folder.") }
            return FakeFileTrees.children(of: path, in: tree).compactMap { child in tree[child].map { FakeFileTrees.entry(child, $0) } }
        }
    }

    public nonisolated func readFile(_ path: String, in scope: FileScope, limit: Int) async throws -> [UInt8] {
        try await FakeFileTrees.shared.update(scope) { tree in
            guard let node = tree[path] else { throw BerthError(.fileNotFound, "Nothing is at \(path).") }
            guard case .file(let bytes, _) = node else { throw BerthError(.notAFile, "\(path) is not a regular file.") }
            guard bytes.count <= limit else { throw BerthError(.fileTooLarge, "\(path) is \(bytes.count) bytes; the file API reads at most \(limit).") }
            return bytes
        }
    }

    public nonisolated func writeFile(_ path: String, contents: [UInt8], condition: WriteCondition, in scope: FileScope) async throws -> FileEntry {
        try await FakeFileTrees.shared.update(scope) { tree in
            var mode = 0o644
            switch tree[path] {
            case .directory?:
                throw BerthError(.notAFile, "\(path) is not a regular file.")
            case .file(let bytes, let existing)?:
                if condition == .absent { throw BerthError(.fileChanged, "\(path) already exists.") }
                if case .matches(let hash) = condition, hash != InstanceFiles.sha256(bytes) {
                    throw BerthError(.fileChanged, "\(path) changed since it was read.")
                }
                mode = existing
            case nil:
                if case .matches = condition { throw BerthError(.fileChanged, "\(path) no longer exists.") }
            }
            let parent = FakeFileTrees.parent(path)
            if case .file? = tree[parent] { throw BerthError(.notADirectory, "\(parent) is not a folder.") }
            FakeFileTrees.addFolders(parent, to: &tree)
            tree[path] = .file(contents, mode: mode)
            return FakeFileTrees.entry(path, .file(contents, mode: mode))
        }
    }

    public nonisolated func removeFile(_ path: String, recursive: Bool, in scope: FileScope) async throws {
        try await FakeFileTrees.shared.update(scope) { tree in
            guard let node = tree[path] else { throw BerthError(.fileNotFound, "Nothing is at \(path).") }
            let below = tree.keys.filter { $0.hasPrefix(path + "/") }
            if node == .directory, !below.isEmpty, !recursive {
                throw BerthError(.directoryNotEmpty, "The folder \(path) is not empty; delete it with recursive=true.")
            }
            for key in below { tree[key] = nil }
            tree[path] = nil
        }
    }

    public nonisolated func archiveFolder(
        _ path: String, in scope: FileScope, limit: Int, to sink: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        let archive: [UInt8] = try await FakeFileTrees.shared.update(scope) { tree in
            guard let node = tree[path] else { throw BerthError(.fileNotFound, "Nothing is at \(path).") }
            guard node == .directory else { throw BerthError(.notADirectory, "\(path) is not a folder.") }
            var archive = TarArchive()
            for key in tree.keys.filter({ $0.hasPrefix(path == "/" ? "/" : path + "/") && $0 != path }).sorted() {
                let relative = "./" + key.dropFirst(path == "/" ? 1 : path.count + 1)
                switch tree[key] {
                case .file(let bytes, let mode)?: archive.append(TarArchive.Entry(path: relative, contents: bytes, mode: mode))
                case .directory?: archive.append(TarArchive.Entry(path: relative, mode: 0o755, isDirectory: true))
                case nil: break
                }
            }
            let bytes = try archive.encoded()
            guard bytes.count <= limit else { throw BerthError(.fileTooLarge, "The archive of \(path) is larger than \(limit) bytes.") }
            return bytes
        }
        try await sink(archive)
    }

    public nonisolated func extractArchive(_ archive: CheckedArchive, into path: String, in scope: FileScope) async throws {
        try await FakeFileTrees.shared.update(scope) { tree in
            if case .file? = tree[path] { throw BerthError(.notADirectory, "\(path) is not a folder.") }
            FakeFileTrees.addFolders(path, to: &tree)
            for entry in archive.entries {
                let target = path == "/" ? "/" + entry.path : path + "/" + entry.path
                switch entry.kind {
                case .directory: FakeFileTrees.addFolders(target, to: &tree)
                case .file:
                    FakeFileTrees.addFolders(FakeFileTrees.parent(target), to: &tree)
                    tree[target] = .file(entry.contents, mode: entry.mode)
                case .symlink, .hardLink: break
                }
            }
        }
    }
}
