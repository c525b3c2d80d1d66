import BerthCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file an environment offers for download (ctfcli `files:`), resolved inside its folder.
public struct ResolvedAttachment: Sendable, Equatable, Codable {
    /// Path relative to the environment's folder, with `/` separators.
    public var relativePath: String
    /// Size in bytes.
    public var size: Int64
    /// Lowercase hex SHA-256 of the contents.
    public var sha256: String
}

/// Resolves an environment's `files:` patterns (paths or globs) to the files they name, and refuses
/// anything that would leave the folder: an absolute path, `..`, or a symlink (of the file or of a
/// folder on its way) that points outside.
public enum AttachmentResolver {
    /// The most files one environment may attach.
    public static let maximumFiles = 200

    /// The files and the problems, as `file: files[i]: reason` with `file` the environment's
    /// `challenge.yml` name (relative, e.g. `web-101/challenge.yml`).
    public struct Resolution: Sendable {
        /// Every file matched, without duplicates, in pattern order.
        public var files: [ResolvedAttachment]
        /// Why a pattern was refused or matched nothing.
        public var problems: [ValidationProblem]
    }

    /// Resolves `patterns` inside `folder`. Glob patterns use `fnmatch` rules (`*` does not cross
    /// `/`); a plain path must name a regular file. With `hashing` false (the catalog's check on
    /// every reload) sizes are read but contents are not, and `sha256` is empty.
    public static func resolve(folder: URL, patterns: [String], file: String = "challenge.yml", hashing: Bool = true) -> Resolution {
        var files: [ResolvedAttachment] = []
        var problems: [ValidationProblem] = []
        var seen: Set<String> = []
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path
        let candidates = regularFiles(under: root)
        for (index, pattern) in patterns.enumerated() {
            let field = "files[\(index)]"
            if let problem = AttachmentPattern.problem(pattern) {
                problems.append(ValidationProblem(file: file, field: field, reason: "'\(pattern)' \(problem)"))
                continue
            }
            let cleaned = pattern.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            let isGlob = cleaned.contains { "*?[".contains($0) }
            var matched: [String] = []
            if isGlob {
                matched = candidates.filter { fnmatch(cleaned, $0, FNM_PATHNAME) == 0 }
            } else {
                let full = root + "/" + cleaned
                let resolved = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
                guard resolved.hasPrefix(root + "/") else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "'\(pattern)' is a symlink that leads out of the environment's folder"))
                    continue
                }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "'\(pattern)' does not exist in the environment's folder"))
                    continue
                }
                guard !isDirectory.boolValue else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "'\(pattern)' is a folder; list its files or use a glob such as \(cleaned)/*"))
                    continue
                }
                matched = [cleaned]
            }
            if matched.isEmpty {
                problems.append(ValidationProblem(file: file, field: field, reason: "'\(pattern)' matches no file in the environment's folder"))
            }
            for relative in matched where !seen.contains(relative) {
                seen.insert(relative)
                guard files.count < maximumFiles else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "more than \(maximumFiles) files; attach an archive instead"))
                    return Resolution(files: files, problems: problems)
                }
                let resolved = URL(fileURLWithPath: root + "/" + relative).resolvingSymlinksInPath().path
                guard resolved.hasPrefix(root + "/") else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "'\(relative)' is a symlink that leads out of the environment's folder"))
                    continue
                }
                guard let digest = hashing ? sha256(ofFileAt: resolved) : size(ofFileAt: resolved) else {
                    problems.append(ValidationProblem(file: file, field: field, reason: "'\(relative)' cannot be read"))
                    continue
                }
                files.append(ResolvedAttachment(relativePath: relative, size: digest.size, sha256: digest.hex))
            }
        }
        return Resolution(files: files, problems: problems)
    }

    /// Relative paths of regular files (and symlinks to them) under `root`, without descending into
    /// symlinked folders.
    private static func regularFiles(under root: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/" + relative)
            let type = attributes?[.type] as? FileAttributeType
            if type == .typeRegular || type == .typeSymbolicLink {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                    out.append(relative)
                }
            }
            if out.count > maximumFiles * 50 { break }
        }
        return out.sorted()
    }

    private static func size(ofFileAt path: String) -> (size: Int64, hex: String)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.int64Value,
              FileManager.default.isReadableFile(atPath: path)
        else { return nil }
        return (size, "")
    }

    private static func sha256(ofFileAt path: String) -> (size: Int64, hex: String)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            // read(upToCount:) answers nil, not empty data, at the end of the file.
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 16) ?? Data() } catch { return nil }
            if chunk.isEmpty { break }
            size += Int64(chunk.count)
            hasher.update(data: chunk)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
