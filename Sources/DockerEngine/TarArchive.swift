import Foundation

/// Writes and reads POSIX ustar archives, the format of Docker build contexts and archive
/// endpoints. Regular files and directories only; long names use the ustar prefix field.
public struct TarArchive: Sendable {
    /// One entry of an archive.
    public struct Entry: Sendable, Equatable {
        /// Path inside the archive, with `/` separators and no leading slash.
        public var path: String
        /// File contents; empty for directories.
        public var contents: [UInt8]
        /// Permission bits.
        public var mode: Int
        /// True for a directory.
        public var isDirectory: Bool

        /// Creates an entry.
        public init(path: String, contents: [UInt8] = [], mode: Int = 0o644, isDirectory: Bool = false) {
            self.path = path
            self.contents = contents
            self.mode = mode
            self.isDirectory = isDirectory
        }
    }

    /// The entries, in archive order.
    public private(set) var entries: [Entry] = []

    /// Creates an empty archive.
    public init() {}

    /// Appends an entry.
    public mutating func append(_ entry: Entry) {
        entries.append(entry)
    }

    /// Reads every regular file and directory under `folder` (hidden files included, symlinks skipped).
    public static func ofFolder(_ folder: URL) throws -> TarArchive {
        var archive = TarArchive()
        let fileManager = FileManager.default
        let base = folder.standardizedFileURL.path
        guard let enumerator = fileManager.enumerator(atPath: base) else {
            throw DockerError(status: 0, message: "cannot read folder \(base)", operation: "build context")
        }
        var relativePaths: [String] = []
        while let next = enumerator.nextObject() as? String { relativePaths.append(next) }
        for relative in relativePaths.sorted() {
            let full = base + "/" + relative
            let attributes = try fileManager.attributesOfItem(atPath: full)
            let mode = (attributes[.posixPermissions] as? Int) ?? 0o644
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                archive.append(Entry(path: relative, mode: mode, isDirectory: true))
            case .typeRegular?:
                let data = try Data(contentsOf: URL(fileURLWithPath: full))
                archive.append(Entry(path: relative, contents: [UInt8](data), mode: mode))
            default:
                continue
            }
        }
        return archive
    }

    /// The archive as bytes, terminated by two zero blocks.
    public func encoded() throws -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            out += try header(for: entry)
            out += entry.contents
            out += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
        }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    /// Parses ustar (and GNU/PAX-tolerant) archive bytes; unknown entry kinds are skipped.
    public static func decode(_ bytes: [UInt8]) throws -> TarArchive {
        var archive = TarArchive()
        var offset = 0
        var longName: String?
        while offset + 512 <= bytes.count {
            let block = Array(bytes[offset..<offset + 512])
            if block.allSatisfy({ $0 == 0 }) { break }
            let name = string(block, 0, 100)
            let prefix = string(block, 345, 155)
            guard let size = octal(block, 124, 12), let mode = octal(block, 100, 8) else {
                throw DockerError(status: 0, message: "corrupt tar header at byte \(offset)", operation: "read archive")
            }
            let kind = block[156]
            let dataStart = offset + 512
            guard dataStart + size <= bytes.count else {
                throw DockerError(status: 0, message: "truncated tar entry '\(name)'", operation: "read archive")
            }
            let data = Array(bytes[dataStart..<dataStart + size])
            var path = longName ?? (prefix.isEmpty ? name : prefix + "/" + name)
            longName = nil
            switch kind {
            case UInt8(ascii: "L"):
                longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "5"):
                if path.hasSuffix("/") { path.removeLast() }
                archive.append(Entry(path: path, mode: mode, isDirectory: true))
            case UInt8(ascii: "0"), 0:
                archive.append(Entry(path: path, contents: data, mode: mode))
            default:
                break
            }
            offset = dataStart + size + (512 - size % 512) % 512
        }
        return archive
    }

    private func header(for entry: Entry) throws -> [UInt8] {
        var path = entry.path
        if entry.isDirectory && !path.hasSuffix("/") { path += "/" }
        var name = path
        var prefix = ""
        if Array(name.utf8).count > 100 {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            var split: Int?
            for index in stride(from: parts.count - 1, to: 0, by: -1) {
                let candidatePrefix = parts[..<index].joined(separator: "/")
                let candidateName = parts[index...].joined(separator: "/")
                if candidatePrefix.utf8.count <= 155 && candidateName.utf8.count <= 100 {
                    split = index
                    break
                }
            }
            guard let split else {
                throw DockerError(status: 0, message: "path too long for tar: \(path)", operation: "write archive")
            }
            prefix = parts[..<split].joined(separator: "/")
            name = parts[split...].joined(separator: "/")
        }
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[at + index] = byte }
        }
        func putOctal(_ value: Int, _ at: Int, _ length: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, at, length - 1)
        }
        put(name, 0, 100)
        putOctal(entry.mode & 0o7777, 100, 8)
        putOctal(0, 108, 8)
        putOctal(0, 116, 8)
        putOctal(entry.isDirectory ? 0 : entry.contents.count, 124, 12)
        putOctal(0, 136, 12)
        block[156] = entry.isDirectory ? UInt8(ascii: "5") : UInt8(ascii: "0")
        put("ustar", 257, 6)
        put("00", 263, 2)
        put(prefix, 345, 155)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let checksum = block.reduce(0) { $0 + Int($1) }
        putOctal(checksum, 148, 7)
        block[155] = UInt8(ascii: " ")
        return block
    }

    private static func string(_ block: [UInt8], _ at: Int, _ length: Int) -> String {
        String(decoding: block[at..<at + length].prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func octal(_ block: [UInt8], _ at: Int, _ length: Int) -> Int? {
        let text = string(block, at, length).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return text.isEmpty ? 0 : Int(text, radix: 8)
    }
}
