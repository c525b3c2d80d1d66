import BerthCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The local storage of workspaces: one ext4 file-system image per workspace,
/// `<root>/<id>.img`, loop-mounted at `<root>/mnt/<id>` (`nosuid,nodev`) while an instance or
/// Berth itself uses it. The kernel enforces the quota: a full file system answers ENOSPC.
///
/// Everything here runs host tools (`mkfs.ext4`, `mount`, `tar`, …) as root. Nothing follows a
/// symlink inside a workspace: its files are the learner's, and a learner can link to anything.
public struct WorkspaceVolumes: Sendable {
    /// `<data-dir>/workspaces`.
    public let root: URL

    /// Creates the storage under `root` (made on first use).
    public init(root: URL) {
        self.root = root
    }

    /// The image file of a workspace.
    public func image(_ id: String) -> URL { root.appendingPathComponent("\(id).img") }
    /// Where a workspace is mounted on the host.
    public func mountPoint(_ id: String) -> URL { root.appendingPathComponent("mnt/\(id)", isDirectory: true) }
    /// The local version file (the object-storage version the local copy holds).
    func versionFile(_ id: String) -> URL { root.appendingPathComponent("\(id).version") }
    /// Scratch space for archives on their way in or out.
    var scratch: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    /// Why this host cannot hold workspaces, or nil when it can: Berth must run as root with loop
    /// devices and the ext4 tools.
    public func unavailableReason() -> String? {
        guard geteuid() == 0 else {
            return "Berth is not running as root, and workspaces are loop-mounted ext4 images that only root can mount"
        }
        guard FileManager.default.fileExists(atPath: "/dev/loop-control") else {
            return "this host has no loop devices (/dev/loop-control is missing; load the loop module or give the container /dev/loop-control and /dev/loop*)"
        }
        for tool in ["mkfs.ext4", "losetup", "mount", "umount", "resize2fs", "e2fsck", "tar", "find", "chown"] where Self.locate(tool) == nil {
            return "the tool \(tool) is not installed (e2fsprogs, util-linux and tar are needed)"
        }
        return nil
    }

    /// True when the workspace's image exists.
    public func exists(_ id: String) -> Bool {
        FileManager.default.fileExists(atPath: image(id).path)
    }

    /// The workspaces mounted under `<root>/mnt` now, by id.
    public func mountedIDs() -> [String] {
        let prefix = root.appendingPathComponent("mnt", isDirectory: true).path + "/"
        return Self.mountPoints().compactMap { point in
            guard point.hasPrefix(prefix) else { return nil }
            let id = String(point.dropFirst(prefix.count))
            return id.isEmpty || id.contains("/") ? nil : id
        }
    }

    /// True when the workspace is mounted.
    public func isMounted(_ id: String) -> Bool {
        let point = mountPoint(id).path
        return Self.mountPoints().contains(point)
    }

    /// Creates the image if missing (usable space at least `sizeBytes`, root owned by `owner`, or
    /// open to everyone with the sticky bit when the terminal user is a name), grows it when
    /// `sizeBytes` is larger than it holds, and mounts it. Returns the usable size in bytes.
    @discardableResult
    public func prepare(_ id: String, sizeBytes: Int64, owner: (uid: Int, gid: Int)?) async throws -> Int64 {
        try FileManager.default.createDirectory(at: mountPoint(id), withIntermediateDirectories: true)
        if !exists(id) {
            try await create(id, sizeBytes: sizeBytes, owner: owner)
        } else if !isMounted(id) {
            try await growIfNeeded(id, sizeBytes: sizeBytes)
        }
        if !isMounted(id) { try await mount(id) }
        return try usage(id).capacity
    }

    /// Unmounts the workspace when mounted and detaches its loop device.
    public func unmount(_ id: String) async throws {
        if isMounted(id) {
            try await Self.run("umount", [mountPoint(id).path])
        }
        try? FileManager.default.removeItem(at: mountPoint(id))
        await detach(id)
    }

    /// Detaches every loop device still associated with the image. Berth attaches and detaches
    /// them itself rather than with `mount -o loop`, whose automatic release is asynchronous: a
    /// mount right after an unmount then found the image "already mounted".
    private func detach(_ id: String) async {
        for device in await devices(of: id) {
            _ = try? await Self.run("losetup", ["-d", device])
        }
    }

    /// The loop devices associated with the image (`losetup -j`).
    private func devices(of id: String) async -> [String] {
        guard let listing = try? await Self.run("losetup", ["-j", image(id).path]) else { return [] }
        return listing.split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":"), line.hasPrefix("/dev/") else { return nil }
            return String(line[..<colon])
        }
    }

    /// Bytes used and the usable size of a mounted workspace (statfs).
    public func usage(_ id: String) throws -> (used: Int64, capacity: Int64) {
        var stats = statvfs()
        guard statvfs(mountPoint(id).path, &stats) == 0 else {
            throw BerthError(.workspaceUnavailable, "The workspace \(id) is not mounted (statfs failed: \(String(cString: strerror(errno)))).")
        }
        let block = Int64(stats.f_frsize)
        let used = (Int64(stats.f_blocks) - Int64(stats.f_bfree)) * block
        return (used, used + Int64(stats.f_bavail) * block)
    }

    /// Removes every file in the mounted workspace, never following a link.
    public func wipe(_ id: String) async throws {
        try await Self.run("find", [mountPoint(id).path, "-xdev", "-mindepth", "1", "-delete"])
    }

    /// Writes the mounted workspace's files as a tar to `file`: names relative to the workspace,
    /// symlinks stored as links, numeric owners. Exit status 1 ("file changed as we read it",
    /// while an instance writes) still gives a complete archive of what was read.
    public func writeArchive(_ id: String, to file: URL) async throws {
        try await Self.run("tar", acceptedStatuses: [0, 1], [
            "--create", "--file", file.path, "--directory", mountPoint(id).path, "--numeric-owner", "--format=gnu",
            "--one-file-system", "--sort=name", "--warning=no-file-ignored", ".",
        ])
    }

    /// Extracts `archive` (already checked) into the mounted workspace and gives every file to `owner`.
    func extract(_ archive: CheckedArchive, into id: String, owner: (uid: Int, gid: Int)?) async throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let file = scratch.appendingPathComponent("\(id)-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: file) }
        guard FileManager.default.createFile(atPath: file.path, contents: Data(archive.encoded()), attributes: [.posixPermissions: 0o600]) else {
            throw BerthError(.workspaceUnavailable, "Berth could not write a scratch file under \(scratch.path).")
        }
        do {
            try await Self.run("tar", [
                "--extract", "--file", file.path, "--directory", mountPoint(id).path, "--no-same-owner", "--delay-directory-restore",
                "--no-overwrite-dir",
            ])
        } catch let error as BerthError where error.message.contains("No space left") {
            throw BerthError(.workspaceFull, "The archive does not fit in the workspace (its quota is full); nothing more was written.")
        }
        if let owner {
            // -R without -L never descends through a symlink; -h changes the link itself.
            try await Self.run("chown", ["-R", "-h", "\(owner.uid):\(owner.gid)", mountPoint(id).path])
        }
    }

    /// Unmounts and removes the image, its version file and its mount point.
    public func delete(_ id: String) async throws {
        try await unmount(id)
        for file in [image(id), versionFile(id)] where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
        try? FileManager.default.removeItem(at: mountPoint(id))
    }

    /// The local version, nil without a local copy.
    func localVersion(_ id: String) -> Int? {
        guard exists(id) else { return nil }
        guard let text = try? String(contentsOf: versionFile(id), encoding: .utf8) else { return 0 }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Records the local version.
    func setLocalVersion(_ version: Int, _ id: String) throws {
        try Data("\(version)\n".utf8).write(to: versionFile(id), options: .atomic)
    }

    // MARK: - Images

    private func create(_ id: String, sizeBytes: Int64, owner: (uid: Int, gid: Int)?) async throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = image(id)
        // ext4 keeps a journal and inode tables: start with room for them, then measure the
        // usable space and make the image larger until it holds `sizeBytes`.
        var imageBytes = sizeBytes + sizeBytes / 8 + (2 << 20)
        var rootOwner = "0:0"
        if let owner { rootOwner = "\(owner.uid):\(owner.gid)" }
        for _ in 0..<4 {
            try? FileManager.default.removeItem(at: file)
            try Self.allocate(file, bytes: imageBytes)
            try await Self.run("mkfs.ext4", ["-q", "-F", "-m", "0", "-E", "root_owner=\(rootOwner)", "-L", String(id.suffix(16)), file.path])
            try await mount(id)
            let capacity = try usage(id).capacity
            if capacity >= sizeBytes {
                try? FileManager.default.removeItem(at: mountPoint(id).appendingPathComponent("lost+found"))
                if owner == nil { chmod(mountPoint(id).path, 0o1777) }
                try await unmount(id)
                try FileManager.default.createDirectory(at: mountPoint(id), withIntermediateDirectories: true)
                return
            }
            try await unmount(id)
            try FileManager.default.createDirectory(at: mountPoint(id), withIntermediateDirectories: true)
            imageBytes += (sizeBytes - capacity) + (sizeBytes - capacity) / 4 + (1 << 20)
        }
        try? FileManager.default.removeItem(at: file)
        throw BerthError(.workspaceUnavailable, "Berth could not make a file system of \(sizeBytes) usable bytes for workspace \(id).")
    }

    /// Grows an unmounted image whose usable size is below `sizeBytes` (a larger `size` in
    /// challenge.yml). A smaller `size` keeps the image as it is: shrinking could lose files.
    private func growIfNeeded(_ id: String, sizeBytes: Int64) async throws {
        try await mount(id)
        let capacity = try usage(id).capacity
        try await unmount(id)
        try FileManager.default.createDirectory(at: mountPoint(id), withIntermediateDirectories: true)
        guard capacity < sizeBytes else { return }
        let current = (try FileManager.default.attributesOfItem(atPath: image(id).path)[.size] as? NSNumber)?.int64Value ?? 0
        let missing = sizeBytes - capacity
        try Self.allocate(image(id), bytes: current + missing + missing / 8 + (1 << 20))
        await detach(id)
        try await Self.run("e2fsck", acceptedStatuses: [0, 1], ["-f", "-p", image(id).path])
        try await Self.run("resize2fs", [image(id).path])
    }

    private func mount(_ id: String) async throws {
        try FileManager.default.createDirectory(at: mountPoint(id), withIntermediateDirectories: true)
        // --nooverlap reuses a device still associated with the image instead of a second one.
        let device = try await Self.run("losetup", ["--find", "--show", "--nooverlap", image(id).path])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard device.hasPrefix("/dev/") else {
            throw BerthError(.workspaceUnavailable, "losetup gave no loop device for \(image(id).path): \(device)")
        }
        do {
            try await Self.run("mount", ["-t", "ext4", "-o", "nosuid,nodev,noatime", device, mountPoint(id).path])
        } catch {
            _ = try? await Self.run("losetup", ["-d", device])
            throw error
        }
    }

    /// Sets the image's length (sparse: blocks are allocated as files are written).
    private static func allocate(_ file: URL, bytes: Int64) throws {
        if !FileManager.default.fileExists(atPath: file.path) {
            guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw BerthError(.workspaceUnavailable, "Berth could not create \(file.path).")
            }
        }
        guard truncate(file.path, off_t(bytes)) == 0 else {
            throw BerthError(.workspaceUnavailable, "Berth could not size \(file.path): \(String(cString: strerror(errno))).")
        }
    }

    // MARK: - Tools

    /// Mount points of this mount namespace, unescaped.
    static func mountPoints() -> [String] {
        let text = readProcFile("/proc/self/mountinfo")
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            return unescape(String(fields[4]))
        }
    }

    /// The whole of a /proc file. Its size reads as 0, and Foundation's readers then stop early
    /// on a host with many mounts, so it is read with read(2) until the end.
    static func readProcFile(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func unescape(_ field: String) -> String {
        var out = ""
        var rest = Substring(field)
        while let slash = rest.firstIndex(of: "\\") {
            out += rest[..<slash]
            let code = rest[rest.index(after: slash)...].prefix(3)
            if code.count == 3, let value = UInt8(code, radix: 8) {
                out += String(decoding: [value], as: UTF8.self)
                rest = rest[rest.index(slash, offsetBy: 4)...]
            } else {
                out += "\\"
                rest = rest[rest.index(after: slash)...]
            }
        }
        return out + rest
    }

    /// Runs a host tool; a failure is `workspace_unavailable` naming the tool and its output.
    @discardableResult
    static func run(_ tool: String, acceptedStatuses: Set<Int32> = [0], _ arguments: [String]) async throws -> String {
        guard let executable = locate(tool) else {
            throw BerthError(.workspaceUnavailable, "Workspaces need \(tool), which is not installed on this host.")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let (status, output): (Int32, String)
        do {
            (status, output) = try await withCheckedThrowingContinuation { continuation in
                // Read while the tool runs, on a thread of its own, so a chatty tool never blocks on a full pipe.
                let reader = DispatchGroup()
                let collected = OutputBox()
                reader.enter()
                DispatchQueue.global().async {
                    collected.data = pipe.fileHandleForReading.readDataToEndOfFile()
                    reader.leave()
                }
                process.terminationHandler = { finished in
                    reader.wait()
                    continuation.resume(returning: (finished.terminationStatus, String(decoding: collected.data.suffix(2000), as: UTF8.self)))
                }
                do {
                    try process.run()
                    try? pipe.fileHandleForWriting.close()
                } catch {
                    process.terminationHandler = nil
                    try? pipe.fileHandleForWriting.close()
                    continuation.resume(throwing: error)
                }
            }
        } catch {
            throw BerthError(.workspaceUnavailable, "Berth could not run \(tool): \(error.localizedDescription)")
        }
        guard acceptedStatuses.contains(status) else {
            let detail = output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw BerthError(.workspaceUnavailable, "\(tool) failed (exit \(status)): \(detail.isEmpty ? "no output" : detail)")
        }
        return output
    }

    private final class OutputBox: @unchecked Sendable {
        var data = Data()
    }

    private static func locate(_ command: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return folders.lazy
            .map { URL(fileURLWithPath: $0).appendingPathComponent(command) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
