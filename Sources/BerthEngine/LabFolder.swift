import BerthCore
import Foundation

/// Reads what the parser needs to know about a lab's folder: the entries of `checks/` (without
/// following symlinks) and the Markdown files steps name, and the scripts the check runner copies
/// into instances.
public enum LabFolder {
    /// What `<folder>/checks` holds.
    public static func checks(in folder: URL) -> ChecksListing {
        let path = folder.appendingPathComponent("checks").path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return .absent }
        guard attributes[.type] as? FileAttributeType == .typeDirectory else { return .notAFolder }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return .notAFolder }
        var entries: [String: ScriptFile] = [:]
        for name in names {
            let item = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)) ?? [:]
            switch item[.type] as? FileAttributeType {
            case .typeRegular?: entries[name] = .regular(bytes: (item[.size] as? NSNumber)?.intValue ?? 0)
            case .typeSymbolicLink?: entries[name] = .symlink
            default: entries[name] = .other
            }
        }
        return .entries(entries)
    }

    /// The UTF-8 text of `relative` (no `..`, checked by the parser) inside `folder`, refusing
    /// symlinks that lead out of it and files over ``LabBounds/maximumTextBytes``.
    public static func text(_ relative: String, in folder: URL) -> FolderText {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path
        let resolved = URL(fileURLWithPath: root + "/" + relative).resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root + "/") else { return .outside }
        switch readBytes(resolved, limit: LabBounds.maximumTextBytes) {
        case .success(let data):
            guard let text = String(data: data, encoding: .utf8) else { return .notText }
            return .text(text)
        case .failure(.missing): return .missing
        case .failure(.tooLarge): return .tooLarge
        }
    }

    /// Why a script could not be read.
    public enum ReadFailure: Error, Sendable {
        /// No regular file there (or a symlink, which is never followed).
        case missing
        /// Over the limit.
        case tooLarge
    }

    /// The bytes of `checks/<name>` in `folder`: a regular file (never a symlink) of at most
    /// ``LabBounds/maximumScriptBytes``.
    public static func script(_ name: String, in folder: URL) -> Result<Data, ReadFailure> {
        let path = folder.appendingPathComponent("checks").appendingPathComponent(name).path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular
        else { return .failure(.missing) }
        return readBytes(path, limit: LabBounds.maximumScriptBytes)
    }

    private static func readBytes(_ path: String, limit: Int) -> Result<Data, ReadFailure> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: path)
        else { return .failure(.missing) }
        defer { try? handle.close() }
        // One byte past the limit tells "at the limit" from "over it" without reading a huge file.
        guard let data = try? handle.read(upToCount: limit + 1) else { return .failure(.missing) }
        return data.count > limit ? .failure(.tooLarge) : .success(data)
    }
}
