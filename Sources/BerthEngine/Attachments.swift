import BerthCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file an environment hands out (ctfcli `files:`), resolved inside the environment's folder.
public struct Attachment: Sendable, Equatable {
    /// The download name: the file's last path component, unique within the environment.
    public var name: String
    /// The path as found, relative to the environment's folder (`dist/cipher.txt`).
    public var relativePath: String
    /// The real path on disk (symbolic links resolved, inside the environment's folder).
    public var path: String
    /// Size in bytes when it was hashed.
    public var size: Int64
    /// Lowercase hex SHA-256 of the contents.
    public var sha256: String
    /// Modification time when it was hashed; a download of a changed file hashes it again.
    public var modified: Date
}

/// The attachments of one environment and what was wrong with its `files:` entries.
public struct AttachmentSet: Sendable, Equatable {
    /// Files served, in the order `files:` names them.
    public var files: [Attachment]
    /// Entries that matched nothing, left the folder, or repeat a name (shown to admins).
    public var problems: [String]

    /// The attachment called `name`.
    public func file(named name: String) -> Attachment? { files.first { $0.name == name } }
}

/// Resolves and hashes environments' attachments once per catalog load, not per request.
///
/// `files:` entries are paths or globs (`*`, `?`, `**`) relative to the environment's folder.
/// Absolute paths, `..` and symbolic links that resolve outside the folder are refused.
public actor AttachmentLibrary {
    private let catalog: EnvironmentCatalog
    /// Resolved sets, each with the spec it was made from: a reload that changes the spec makes a new set.
    private var cache: [String: (spec: EnvironmentSpec, set: AttachmentSet)] = [:]

    /// Creates a library over `catalog`'s folders.
    public init(catalog: EnvironmentCatalog) {
        self.catalog = catalog
    }

    /// Forgets every resolved set; call after the catalog is reloaded.
    public func invalidate() {
        cache = [:]
    }

    /// The attachments of `environment`, resolved and hashed on first use after a load.
    public func attachments(of environment: EnvironmentSpec) async -> AttachmentSet {
        if let cached = cache[environment.slug], cached.spec == environment { return cached.set }
        guard !environment.files.isEmpty else { return AttachmentSet(files: [], problems: []) }
        let folder = await catalog.folder(of: environment.slug)
        let set = Self.resolve(environment.files, in: folder)
        cache[environment.slug] = (environment, set)
        return set
    }

    /// The attachment `name` of `environment`, hashed again first when the file changed on disk
    /// since it was hashed (so the size and hash a player was shown match the bytes served).
    public func attachment(_ name: String, of environment: EnvironmentSpec) async -> Attachment? {
        guard let found = await attachments(of: environment).file(named: name) else { return nil }
        guard let now = Self.stat(found.path), now.size != found.size || now.modified != found.modified else { return found }
        cache[environment.slug] = nil
        return await attachments(of: environment).file(named: name)
    }

    // MARK: - Resolution (no actor state)

    /// Resolves `patterns` in `folder`: every regular file they name, inside the folder. Without
    /// `hashing` (the catalog's check at each load) files are not read and `sha256` is empty.
    public static func resolve(_ patterns: [String], in folder: URL, hashing: Bool = true) -> AttachmentSet {
        var files: [Attachment] = []
        var problems: [String] = []
        guard let root = realPath(folder.path) else {
            return AttachmentSet(files: [], problems: ["the environment's folder \(folder.path) cannot be read"])
        }
        var listing: [String]?
        for pattern in patterns {
            // The parser refuses these already; a spec built in code is checked the same way.
            if let problem = AttachmentPattern.problem(pattern) {
                problems.append("'\(pattern)' \(problem)")
                continue
            }
            let cleaned = pattern.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            let candidates: [String]
            if isGlob(cleaned) {
                if listing == nil { listing = walk(root) }
                let matcher = GlobPattern(cleaned)
                candidates = (listing ?? []).filter(matcher.matches)
                if candidates.isEmpty { problems.append("'\(pattern)' matches no file") }
            } else {
                candidates = [cleaned]
            }
            for relative in candidates {
                switch hashedFile(relative, root: root, hashing: hashing) {
                case .success(let attachment):
                    if files.contains(where: { $0.path == attachment.path }) { continue }
                    if let other = files.first(where: { $0.name == attachment.name }) {
                        problems.append("'\(relative)' has the same name as '\(other.relativePath)'; only the first is served")
                        continue
                    }
                    files.append(attachment)
                case .failure(let reason):
                    problems.append("'\(relative)' \(reason)")
                }
            }
        }
        return AttachmentSet(files: files, problems: problems)
    }

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    static func hashedFile(_ relative: String, root: String, hashing: Bool = true) -> Result<Attachment, Refusal> {
        let joined = root + "/" + relative
        guard let real = realPath(joined) else { return .failure(Refusal(description: "does not exist")) }
        guard real.hasPrefix(root + "/") else { return .failure(Refusal(description: "leaves the environment's folder (through a symbolic link)")) }
        guard let info = stat(real), info.isRegular else { return .failure(Refusal(description: "is not a regular file")) }
        let name = (relative as NSString).lastPathComponent
        guard hashing else {
            guard FileManager.default.isReadableFile(atPath: real) else { return .failure(Refusal(description: "cannot be read")) }
            return .success(Attachment(name: name, relativePath: relative, path: real, size: info.size, sha256: "", modified: info.modified))
        }
        guard let handle = FileHandle(forReadingAtPath: real) else { return .failure(Refusal(description: "cannot be read")) }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                size += Int64(chunk.count)
            }
        } catch {
            return .failure(Refusal(description: "cannot be read: \(error.localizedDescription)"))
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return .success(Attachment(name: name, relativePath: relative, path: real, size: size, sha256: digest, modified: info.modified))
    }

    /// Every regular file or link under `root`, as paths relative to it (links are checked when resolved).
    static func walk(_ root: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var found: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let kind = enumerator.fileAttributes?[.type] as? FileAttributeType
            if kind == .typeRegular || kind == .typeSymbolicLink { found.append(relative) }
        }
        return found.sorted()
    }

    static func isGlob(_ pattern: String) -> Bool {
        pattern.contains("*") || pattern.contains("?") || pattern.contains("[")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    struct FileFacts {
        var size: Int64
        var modified: Date
        var isRegular: Bool
    }

    static func stat(_ path: String) -> FileFacts? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileFacts(
            size: (attributes[.size] as? NSNumber)?.int64Value ?? 0,
            modified: attributes[.modificationDate] as? Date ?? .distantPast,
            isRegular: attributes[.type] as? FileAttributeType == .typeRegular
        )
    }
}

/// A shell-style glob over `/`-separated relative paths: `*` and `?` stay within one path
/// component, `**` spans any number of them, `[abc]` is a character class.
struct GlobPattern: Sendable {
    private let expression: NSRegularExpression?

    init(_ pattern: String) {
        var regex = "^"
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*":
                if characters.first == "*" {
                    characters.removeFirst()
                    if characters.first == "/" {
                        characters.removeFirst()
                        regex += "(?:.*/)?"
                    } else {
                        regex += ".*"
                    }
                } else {
                    regex += "[^/]*"
                }
            case "?":
                regex += "[^/]"
            case "[":
                if let close = characters.firstIndex(of: "]") {
                    let body = characters[characters.startIndex..<close].map { $0 == "\\" ? "\\\\" : String($0) }.joined()
                    regex += "[" + (body.hasPrefix("!") ? "^" + body.dropFirst() : body) + "]"
                    characters = characters[characters.index(after: close)...]
                } else {
                    regex += "\\["
                }
            default:
                regex += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        expression = try? NSRegularExpression(pattern: regex + "$")
    }

    func matches(_ path: String) -> Bool {
        guard let expression else { return false }
        return expression.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
    }
}
