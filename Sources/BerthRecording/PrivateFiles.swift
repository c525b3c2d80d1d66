#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Files only Berth's own user can read: directories 0700, files 0600, created without following
/// an existing name.
enum PrivateFiles {
    /// Permissions of every file this module creates.
    static let fileMode: mode_t = 0o600
    /// Permissions of every directory this module creates.
    static let directoryMode: mode_t = 0o700

    /// Creates `directory` (and missing parents) as 0700; an existing directory is left as it is.
    static func ensureDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return
        }
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: Int(directoryMode)])
        } catch {
            throw RecordingError.io("create the directory", directory.path, cause: error)
        }
    }

    /// Creates a new 0600 file for appending; fails when the name exists (also as a symlink).
    static func createExclusive(_ url: URL) throws -> FileHandle {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST { throw RecordingError.exists(url.path) }
            throw RecordingError.io("create", url.path, errno: code)
        }
        // The umask can only remove bits, but set the mode explicitly so it never depends on it.
        _ = fchmod(descriptor, fileMode)
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Writes all of `bytes`, retrying short writes and interrupted calls.
    static func writeAll(_ bytes: [UInt8], to handle: FileHandle, path: String) throws {
        let descriptor = handle.fileDescriptor
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                guard let base = buffer.baseAddress else { return }
                let written = write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw RecordingError.io("write", path, errno: code)
                }
                offset += written
            }
        }
    }

    /// Flushes a file to the disk, so it survives a power loss and not only a crash of Berth.
    static func sync(_ handle: FileHandle, path: String) throws {
        guard fsync(handle.fileDescriptor) == 0 else { throw RecordingError.io("sync", path, errno: errno) }
    }
}
