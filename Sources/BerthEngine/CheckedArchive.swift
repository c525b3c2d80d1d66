import BerthCore
import Foundation

/// A tar archive uploaded into an instance, read and checked before anything is written.
///
/// Only regular files, folders, symlinks and hard links pass. An entry is refused, and with it
/// the whole archive, when its name is absolute or holds `..`, when it is a device, a FIFO or of a
/// kind Berth does not know, when it is a link whose target leaves the destination folder, or when
/// it lies under a symlink of the same archive. What reaches the container is not the uploaded
/// bytes but ``encoded()``: the checked entries written again in one plain format, so the
/// container's `tar` cannot read a name differently from this parser.
public struct CheckedArchive: Sendable, Equatable {
    /// One checked entry.
    public struct Entry: Sendable, Equatable {
        /// What an entry is.
        public enum Kind: Sendable, Equatable {
            case file
            case directory
            /// A symlink to `target`, as written in the archive.
            case symlink(target: String)
            /// A hard link to the archive path `target`.
            case hardLink(target: String)
        }

        /// Relative path under the destination, normalised (no `.`, no trailing `/`).
        public var path: String
        /// What it is.
        public var kind: Kind
        /// Permission bits (`0o777` at most: set-id bits are dropped).
        public var mode: Int
        /// Modification time, seconds since 1970.
        public var modifiedAt: Int
        /// Content of a regular file.
        public var contents: [UInt8]

        /// Creates an entry.
        public init(path: String, kind: Kind, mode: Int, modifiedAt: Int = 0, contents: [UInt8] = []) {
            self.path = path
            self.kind = kind
            self.mode = mode
            self.modifiedAt = modifiedAt
            self.contents = contents
        }
    }

    /// The entries in archive order.
    public private(set) var entries: [Entry]

    /// Regular files in the archive.
    public var fileCount: Int { entries.filter { $0.kind == .file }.count }
    /// Bytes of regular files in the archive.
    public var byteCount: Int { entries.reduce(0) { $0 + $1.contents.count } }

    /// Every path the extraction touches in the container: each entry, each folder above one, and
    /// each hard link's target, parents before children. The container checks that none of them is
    /// an existing symlink leading out of the roots before it extracts.
    public var touchedPaths: [String] {
        var seen = Set<String>()
        var ordered: [String] = []
        func add(_ path: String) {
            let parts = path.split(separator: "/")
            for end in 1...max(1, parts.count) where !parts.isEmpty {
                let prefix = parts[..<end].joined(separator: "/")
                if seen.insert(prefix).inserted { ordered.append(prefix) }
            }
        }
        for entry in entries {
            add(entry.path)
            if case .hardLink(let target) = entry.kind { add(target) }
        }
        return ordered
    }

    /// Reads and checks `bytes`; `limits` bounds the number of entries. With `wholeWorkspace` (a
    /// workspace's files restored on the host), symlinks are kept whatever they point to, since
    /// Berth never follows them there and a learner's `ln -s /usr/bin/python3 py` must survive,
    /// and FIFOs are skipped; entries under a symlink are still refused.
    public init(tar bytes: [UInt8], maxEntries: Int, wholeWorkspace: Bool = false) throws {
        var entries: [Entry] = []
        var symlinks = Set<String>()
        var offset = 0
        var longName: String?
        var longLink: String?
        var paxPath: String?
        var paxLink: String?
        var paxSize: Int?
        while offset + 512 <= bytes.count {
            let block = bytes[offset..<offset + 512]
            if block.allSatisfy({ $0 == 0 }) { break }
            guard Self.checksumMatches(block) else {
                throw Self.malformed("the header at byte \(offset) is not a tar header (wrong checksum)")
            }
            let kind = block[block.startIndex + 156]
            guard let size = paxSize ?? Self.octal(block, 124, 12), let mode = Self.octal(block, 100, 8) else {
                throw Self.malformed("the header at byte \(offset) has an invalid size or mode")
            }
            let dataStart = offset + 512
            guard size >= 0, dataStart + size <= bytes.count else { throw Self.malformed("the archive ends inside an entry") }
            let data = Array(bytes[dataStart..<dataStart + size])
            offset = dataStart + size + (512 - size % 512) % 512
            let headerName = Self.string(block, 0, 100)
            let prefix = Self.string(block, 345, 155)
            let rawName = paxPath ?? longName ?? (prefix.isEmpty ? headerName : prefix + "/" + headerName)
            let rawLink = paxLink ?? longLink ?? Self.string(block, 157, 100)
            switch kind {
            case UInt8(ascii: "L"):
                longName = Self.text(data)
                continue
            case UInt8(ascii: "K"):
                longLink = Self.text(data)
                continue
            case UInt8(ascii: "x"):
                let records = try Self.paxRecords(data)
                paxPath = records["path"] ?? paxPath
                paxLink = records["linkpath"] ?? paxLink
                paxSize = records["size"].flatMap { Int($0) } ?? paxSize
                continue
            case UInt8(ascii: "g"):
                continue
            default:
                break
            }
            (longName, longLink, paxPath, paxLink, paxSize) = (nil, nil, nil, nil, nil)
            guard let path = try Self.entryPath(rawName) else { continue }
            if let under = symlinks.first(where: { path.hasPrefix($0 + "/") }) {
                throw Self.refusal("'\(rawName)' lies under '\(under)', a symlink of the same archive")
            }
            let entryKind: Entry.Kind
            switch kind {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                entryKind = .file
            case UInt8(ascii: "5"):
                entryKind = .directory
            case UInt8(ascii: "2"):
                guard Self.linkStaysInside(rawLink, from: path) || (wholeWorkspace && !rawLink.isEmpty && !rawLink.utf8.contains(0)) else {
                    throw Self.refusal("the symlink '\(rawName)' points to '\(rawLink)', outside the folder it is extracted into")
                }
                entryKind = .symlink(target: rawLink)
                symlinks.insert(path)
            case UInt8(ascii: "1"):
                guard let target = try Self.entryPath(rawLink) else {
                    throw Self.refusal("the hard link '\(rawName)' has no target")
                }
                if let under = symlinks.first(where: { target == $0 || target.hasPrefix($0 + "/") }) {
                    throw Self.refusal("the hard link '\(rawName)' leads through '\(under)', a symlink of the same archive")
                }
                entryKind = .hardLink(target: target)
            case UInt8(ascii: "3"), UInt8(ascii: "4"):
                throw Self.refusal("'\(rawName)' is a device; only files, folders and links can be uploaded")
            case UInt8(ascii: "6") where wholeWorkspace:
                continue
            case UInt8(ascii: "6"):
                throw Self.refusal("'\(rawName)' is a FIFO; only files, folders and links can be uploaded")
            default:
                throw Self.refusal("'\(rawName)' is of tar entry type '\(String(decoding: [kind], as: UTF8.self))', which cannot be uploaded")
            }
            entries.append(Entry(
                path: path, kind: entryKind, mode: mode & 0o777, modifiedAt: Self.octal(block, 136, 12) ?? 0,
                contents: entryKind == .file ? data : []
            ))
            guard entries.count <= maxEntries else {
                throw BerthError(.fileTooLarge, "The archive holds more than \(maxEntries) entries, the most one upload may hold.")
            }
        }
        self.entries = entries
    }

    /// The checked entries as a ustar archive (GNU long-name records for names over 100 bytes).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            var name = entry.path
            var link = ""
            let flag: UInt8
            switch entry.kind {
            case .file: flag = UInt8(ascii: "0")
            case .directory:
                flag = UInt8(ascii: "5")
                name += "/"
            case .symlink(let target):
                flag = UInt8(ascii: "2")
                link = target
            case .hardLink(let target):
                flag = UInt8(ascii: "1")
                link = target
            }
            if name.utf8.count > 100 { out += Self.longRecord(UInt8(ascii: "L"), name) }
            if link.utf8.count > 100 { out += Self.longRecord(UInt8(ascii: "K"), link) }
            out += Self.header(
                name: name, link: link, flag: flag, size: entry.contents.count, mode: entry.mode, mtime: entry.modifiedAt
            )
            out += entry.contents
            out += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
        }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    // MARK: - Checks

    private static func malformed(_ reason: String) -> BerthError {
        BerthError(.invalidBody, "The upload is not a valid tar archive (\(reason)); nothing was written.")
    }

    private static func refusal(_ reason: String) -> BerthError {
        BerthError(.pathNotAllowed, "The archive was refused and nothing was written: \(reason).")
    }

    /// The normalised relative path of an entry name; nil for the destination itself (`./`).
    static func entryPath(_ raw: String) throws -> String? {
        guard !raw.utf8.contains(0) else { throw refusal("an entry name holds a NUL byte") }
        guard !raw.hasPrefix("/") else { throw refusal("'\(raw)' is an absolute path") }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            guard part != ".." else { throw refusal("'\(raw)' holds '..'") }
            guard part.utf8.count <= FilePaths.maxComponentBytes else { throw refusal("'\(raw)' has a name longer than \(FilePaths.maxComponentBytes) bytes") }
            parts.append(part)
        }
        guard raw.utf8.count <= FilePaths.maxPathBytes else { throw refusal("an entry name is longer than \(FilePaths.maxPathBytes) bytes") }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// True when the symlink at `path` pointing to `target` resolves, by its text alone, inside the
    /// destination folder. Absolute targets are refused: where they lead depends on the container.
    static func linkStaysInside(_ target: String, from path: String) -> Bool {
        guard !target.isEmpty, !target.hasPrefix("/"), !target.utf8.contains(0) else { return false }
        var stack = path.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !stack.isEmpty else { return false }
                stack.removeLast()
            default: stack.append(String(part))
            }
        }
        return true
    }

    // MARK: - Tar plumbing

    private static func paxRecords(_ data: [UInt8]) throws -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: data[index..<space], as: UTF8.self)), length > 0, index + length <= data.count
            else { throw malformed("a PAX header is malformed") }
            let record = data[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        if let size = records["size"], Int(size) == nil { throw malformed("a PAX size is not a number") }
        return records
    }

    private static func checksumMatches(_ block: ArraySlice<UInt8>) -> Bool {
        guard let stored = octal(block, 148, 8) else { return false }
        var sum = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
        return sum == stored
    }

    private static func text(_ data: [UInt8]) -> String {
        String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func string(_ block: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> String {
        let start = block.startIndex + at
        return String(decoding: block[start..<start + length].prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func octal(_ block: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> Int? {
        let start = block.startIndex + at
        // Base-256 numbers (a set high bit) only matter past 8 GiB, far beyond any upload limit.
        guard block[start] & 0x80 == 0 else { return nil }
        let text = string(block, at, length).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return text.isEmpty ? 0 : Int(text, radix: 8)
    }

    private static func longRecord(_ flag: UInt8, _ name: String) -> [UInt8] {
        let data = Array(name.utf8) + [0]
        return header(name: "././@LongLink", link: "", flag: flag, size: data.count, mode: 0o644, mtime: 0)
            + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    private static func header(name: String, link: String, flag: UInt8, size: Int, mode: Int, mtime: Int) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[at + index] = byte }
        }
        func putOctal(_ value: Int, _ at: Int, _ length: Int) {
            let digits = String(max(0, value), radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, at, length - 1)
        }
        put(name, 0, 100)
        putOctal(mode, 100, 8)
        putOctal(0, 108, 8)
        putOctal(0, 116, 8)
        putOctal(size, 124, 12)
        putOctal(mtime, 136, 12)
        block[156] = flag
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        putOctal(block.reduce(0) { $0 + Int($1) }, 148, 7)
        block[155] = UInt8(ascii: " ")
        return block
    }
}
