import BerthCore
import DockerEngine
import Foundation
import NIOCore

/// The file API on a Docker Engine: each operation is one `docker exec` of a short `sh` script as
/// the terminal's user, with the file's bytes on stdin or stdout.
///
/// Not the archive API (`GET`/`PUT /containers/{id}/archive`): on Docker 20.10 it cannot write into
/// a container whose root is read-only ("container rootfs is marked read-only") and does not see
/// tmpfs mounts, which is where most writable paths are. Exec also runs as the learner, so the
/// learner's own permissions apply and root-only folders such as `/run/berth-checks` stay closed.
///
/// The scripts resolve every path with `realpath` where the files are and refuse one whose real
/// location leaves the roots (for a file to create, the real location of its deepest existing
/// folder). Values reach the scripts as arguments, never inside the script text.
extension DockerRuntime: InstanceFileSystem {}

extension EngineBackedRuntime {
    public func listFolder(_ path: String, in scope: FileScope) async throws -> [FileEntry] {
        let result = try await run(FileScripts.list, [path], in: scope, for: path)
        return try FileScripts.parseEntries(result.stdout, folder: path)
    }

    public func readFile(_ path: String, in scope: FileScope, limit: Int) async throws -> [UInt8] {
        // A file that grows between its size check and `cat` still cannot pass the limit.
        let result = try await run(FileScripts.read, [path, String(limit)], in: scope, for: path, maxStdout: limit, fileLimit: limit)
        return result.stdout
    }

    public func writeFile(_ path: String, contents: [UInt8], condition: WriteCondition, in scope: FileScope) async throws -> FileEntry {
        let argument = switch condition {
        case .always: "always"
        case .absent: "absent"
        case .matches(let hash): "sha256:" + hash
        }
        let result = try await run(FileScripts.write, [path, argument], in: scope, for: path, input: contents)
        let entries = try FileScripts.parseEntries(result.stdout, folder: nil)
        guard var entry = entries.first else {
            throw BerthError(.fileOperationFailed, "The container did not report \(path) after writing it.")
        }
        entry.path = path
        entry.name = String(path.split(separator: "/").last ?? "")
        return entry
    }

    public func removeFile(_ path: String, recursive: Bool, in scope: FileScope) async throws {
        _ = try await run(FileScripts.remove, [path, recursive ? "true" : "false"], in: scope, for: path)
    }

    public func archiveFolder(
        _ path: String, in scope: FileScope, limit: Int, to sink: @escaping @Sendable ([UInt8]) async throws -> Void
    ) async throws {
        var total = 0
        let outcome = try await exec(FileScripts.archive, [path], in: scope) { chunk in
            total += chunk.readableBytes
            guard total <= limit else {
                throw BerthError(.fileTooLarge, "The archive of \(path) is larger than \(limit) bytes, the most one download may be; download a smaller folder.")
            }
            try await sink(Array(chunk.readableBytesView))
        }
        try FileScripts.check(outcome.exitCode, stderr: outcome.stderr, path: path)
    }

    public func extractArchive(_ archive: CheckedArchive, into path: String, in scope: FileScope) async throws {
        let touched = archive.touchedPaths
        let argumentBytes = touched.reduce(0) { $0 + $1.utf8.count + 1 }
        guard argumentBytes <= FileScripts.maxArgumentBytes else {
            throw BerthError(.fileTooLarge, "The archive's names add up to \(argumentBytes) bytes; at most \(FileScripts.maxArgumentBytes) can be checked in one upload. Upload it in parts.")
        }
        _ = try await run(FileScripts.extract, [path] + touched, in: scope, for: path, input: archive.encoded())
    }

    // MARK: - Running scripts

    /// Runs `script` with `arguments`, failing with the file API's error when it refused.
    private func run(
        _ script: String, _ arguments: [String], in scope: FileScope, for path: String, input: [UInt8]? = nil,
        maxStdout: Int = 32 << 20, fileLimit: Int? = nil
    ) async throws -> (stdout: [UInt8], stderr: [UInt8]) {
        var stdout: [UInt8] = []
        let outcome = try await exec(script, arguments, in: scope, input: input) { chunk in
            guard stdout.count + chunk.readableBytes <= maxStdout else {
                throw BerthError(.fileTooLarge, "\(path) is larger than \(maxStdout) bytes, the most the file API reads at once.")
            }
            stdout += chunk.readableBytesView
        }
        try FileScripts.check(outcome.exitCode, stderr: outcome.stderr, path: path, limit: fileLimit)
        return (stdout, outcome.stderr)
    }

    private func exec(
        _ script: String, _ arguments: [String], in scope: FileScope, input: [UInt8]? = nil, stdout: (ByteBuffer) async throws -> Void
    ) async throws -> (exitCode: Int, stderr: [UInt8]) {
        let request = PlainExecRequest(
            command: ["/bin/sh", "-c", FileScripts.prelude + script, "berth-files"] + arguments, user: scope.user,
            env: ["BERTH_ROOTS=" + scope.roots.joined(separator: "\n")]
        )
        do {
            return try await engines.engine(forContainer: scope.containerID).execStreaming(scope.containerID, request, input: input, timeout: FileLimits().operationTimeout, stdout: stdout)
        } catch let error as DockerError {
            if error.isNotFound || error.isConflict {
                throw BerthError(.instanceNotRunning, "The instance's container is not running (\(error.message)).")
            }
            if error.isUnreachable {
                throw BerthError(.engineUnavailable, "The engine did not complete the file operation: \(error.message)")
            }
            throw BerthError(.fileOperationFailed, "The engine refused the file operation: \(error.message)")
        }
    }
}

/// The scripts of ``DockerRuntime``'s file operations and the reading of their answers.
///
/// Each script exits with one of ``Refusal``'s codes when it refuses, so the error has the right
/// code; any other failure leaves the failing command's own message on stderr.
enum FileScripts {
    /// The most bytes of names an upload passes to its script as arguments (Linux allows 2 MiB).
    static let maxArgumentBytes = 1 << 20

    /// Exit codes of refusals.
    enum Refusal: Int {
        case notAllowed = 10
        case notFound = 11
        case notAFile = 12
        case notADirectory = 13
        case changed = 14
        case tooLarge = 15
        case unavailable = 20
    }

    /// Shared functions. `real` sets `r` to the real path of its argument: its deepest existing
    /// part resolved by `realpath`, the rest appended (it does not exist, so it is no link).
    /// `inside` succeeds when its argument is one of `$BERTH_ROOTS` (resolved alike) or lies under
    /// one; with a second argument, only strictly under one.
    static let prelude = #"""
    set -f -u
    umask 022
    nl='
    '
    no() { c=$1; shift; [ $# -gt 0 ] && printf '%s\n' "$*" >&2; exit "$c"; }
    for tool in realpath stat find cat mkdir mktemp mv chmod rm rmdir tar sha256sum; do
      command -v "$tool" >/dev/null 2>&1 || no 20 "$tool is missing"
    done
    real() {
      a=$1; rest=
      while [ "$a" != / ] && [ ! -e "$a" ] && [ ! -L "$a" ]; do
        rest=/${a##*/}$rest; a=${a%/*}; [ -n "$a" ] || a=/
      done
      r=$(realpath "$a" && echo /) || return 1
      r=${r%?/}
      if [ "$r" = / ]; then r=${rest:-/}; else r=$r$rest; fi
    }
    inside() {
      want=$1; strict=${2:-}
      saved=$IFS; IFS=$nl
      for root in $BERTH_ROOTS; do
        IFS=$saved
        real "$root" || continue
        [ "$r" = / ] && { [ -z "$strict" ] || [ "$want" != / ]; } && return 0
        case "$want" in "$r"/*) return 0 ;; "$r") [ -z "$strict" ] && return 0 ;; esac
      done
      IFS=$saved
      return 1
    }

    """#

    static let list = #"""
    p=$1
    real "$p" || no 10; t=$r
    inside "$t" || no 10
    [ -e "$t" ] || no 11
    [ -d "$t" ] || no 13
    cd "$t" || exit 1
    exec find . -mindepth 1 -maxdepth 1 -exec stat -c '%f %s %Y %n' {} +
    """#

    static let read = #"""
    p=$1; limit=$2
    real "$p" || no 10; t=$r
    inside "$t" || no 10
    [ -e "$t" ] || no 11
    [ -f "$t" ] || no 12
    size=$(stat -c %s "$t") || exit 1
    [ "$size" -le "$limit" ] || no 15 "$size"
    exec cat "$t"
    """#

    static let write = #"""
    p=$1; cond=$2
    real "$p" || no 10; t=$r
    inside "$t" || no 10
    if [ -e "$t" ]; then
      [ -f "$t" ] || no 12
      [ "$cond" = absent ] && no 14 exists
      [ -w "$t" ] || no 16 "$p: Permission denied"
      case "$cond" in
        sha256:*) s=$(sha256sum < "$t") || exit 1; [ "${s%% *}" = "${cond#sha256:}" ] || no 14 changed ;;
      esac
      mode=$(stat -c %a "$t") || exit 1
    else
      case "$cond" in sha256:*) no 14 gone ;; esac
      d=${t%/*}; [ -n "$d" ] || d=/
      [ -e "$d" ] && { [ -d "$d" ] || no 13 "$d"; }
      mkdir -p "$d" || exit 1
      mode=644
    fi
    d=${t%/*}; [ -n "$d" ] || d=/
    if tmp=$(mktemp "$d/.berth-write.XXXXXX" 2>/dev/null); then
      if cat > "$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$t"; then :; else rm -f "$tmp"; exit 1; fi
    else
      cat > "$t" || exit 1
    fi
    exec stat -c '%f %s %Y %n' "$t"
    """#

    static let remove = #"""
    p=$1; recursive=$2
    pp=${p%/*}; [ -n "$pp" ] || pp=/
    real "$pp" || no 10
    if [ "$r" = / ]; then t=/${p##*/}; else t=$r/${p##*/}; fi
    inside "$t" strict || no 10
    [ -e "$t" ] || [ -L "$t" ] || no 11
    if [ -d "$t" ] && [ ! -L "$t" ]; then
      if [ "$recursive" = true ]; then exec rm -rf "$t"; else exec rmdir "$t"; fi
    fi
    exec rm -f "$t"
    """#

    static let archive = #"""
    p=$1
    real "$p" || no 10; t=$r
    inside "$t" || no 10
    [ -e "$t" ] || no 11
    [ -d "$t" ] || no 13
    cd "$t" || exit 1
    exec tar -cf - .
    """#

    static let extract = #"""
    p=$1; shift
    real "$p" || no 10; t=$r
    inside "$t" || no 10
    [ -e "$t" ] && { [ -d "$t" ] || no 13; }
    mkdir -p "$t" || exit 1
    cd "$t" || exit 1
    for n in "$@"; do
      if [ -L "$n" ]; then real "$t/$n" || no 10 "$n"; inside "$r" || no 10 "$n"; fi
    done
    exec tar -xof -
    """#

    /// Throws the file API's error for a script's exit, or returns when it succeeded.
    static func check(_ exitCode: Int, stderr: [UInt8], path: String, limit: Int? = nil) throws {
        guard exitCode != 0 else { return }
        let detail = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let lastLine = detail.split(separator: "\n").last.map(String.init) ?? ""
        switch Refusal(rawValue: exitCode) {
        case .notAllowed?:
            let through = lastLine.isEmpty ? "" : " ('\(lastLine)')"
            throw BerthError(.pathNotAllowed, "\(path) leads outside the folders whose files can be reached\(through): a symlink points elsewhere.")
        case .notFound?:
            throw BerthError(.fileNotFound, "Nothing is at \(path).")
        case .notAFile?:
            throw BerthError(.notAFile, "\(path) is not a regular file.")
        case .notADirectory?:
            throw BerthError(.notADirectory, "\(lastLine.isEmpty ? path : lastLine) is not a folder.")
        case .changed?:
            switch lastLine {
            case "exists": throw BerthError(.fileChanged, "\(path) already exists, and the request asked to create it only (If-None-Match: *).")
            case "gone": throw BerthError(.fileChanged, "\(path) no longer exists; it was deleted since it was read.")
            default: throw BerthError(.fileChanged, "\(path) changed since it was read (its SHA-256 differs from If-Match); reload it before saving.")
            }
        case .tooLarge?:
            throw BerthError(.fileTooLarge, "\(path) is \(lastLine) bytes; the file API reads at most \(limit ?? 0) bytes at once (download its folder as a tar archive).")
        case .unavailable?:
            throw BerthError(.filesUnavailable, "The instance's image cannot serve files: \(lastLine). The file API needs /bin/sh and the tools of BusyBox or coreutils (tar, stat, find, realpath).")
        case nil:
            break
        }
        if exitCode == 126 || exitCode == 127 {
            throw BerthError(.filesUnavailable, "The instance's image cannot serve files (\(lastLine.isEmpty ? "no /bin/sh" : lastLine)). The file API needs /bin/sh, tar, stat, find and realpath.")
        }
        let lowered = detail.lowercased()
        if lowered.contains("read-only file system") {
            throw BerthError(.filePermissionDenied, "\(path) is on a read-only file system: \(lastLine)")
        }
        if lowered.contains("permission denied") || lowered.contains("operation not permitted") {
            throw BerthError(.filePermissionDenied, "The terminal's user may not do that to \(path): \(lastLine)")
        }
        if lowered.contains("not empty") {
            throw BerthError(.directoryNotEmpty, "The folder \(path) is not empty; delete it with recursive=true.")
        }
        if lowered.contains("no space left") || lowered.contains("disk quota") {
            throw BerthError(.fileTooLarge, "The instance's file system is full: \(lastLine)")
        }
        throw BerthError(.fileOperationFailed, "The file operation on \(path) failed (exit \(exitCode)): \(detail.isEmpty ? "no message" : String(detail.prefix(500)))")
    }

    /// Entries from `stat -c '%f %s %Y %n'` lines. A line that does not start a record continues
    /// the name of the one before (a name holding a newline). With `folder`, names are relative
    /// (`./name`) and paths are built under it; without, the line's name is the path.
    static func parseEntries(_ output: [UInt8], folder: String?) throws -> [FileEntry] {
        var records: [(mode: Int, size: Int64, time: Int, name: String)] = []
        var text = String(decoding: output, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { return [] }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let record = record(line, relative: folder != nil) {
                records.append(record)
            } else if !records.isEmpty {
                records[records.count - 1].name += "\n" + line
            } else if !line.isEmpty {
                throw BerthError(.fileOperationFailed, "The container's listing could not be read: '\(line.prefix(200))'.")
            }
        }
        return records.map { record in
            let kind: FileEntry.Kind = switch record.mode & 0o170000 {
            case 0o100000: .file
            case 0o040000: .directory
            case 0o120000: .symlink
            default: .other
            }
            let name: String
            let path: String
            if let folder {
                name = String(record.name.dropFirst(2))
                path = folder == "/" ? "/" + name : folder + "/" + name
            } else {
                path = record.name
                name = String(path.split(separator: "/").last ?? "")
            }
            return FileEntry(
                name: name, path: path, kind: kind, size: record.size, mode: record.mode & 0o7777,
                modifiedAt: Date(timeIntervalSince1970: TimeInterval(record.time))
            )
        }
    }

    private static func record(_ line: Substring, relative: Bool) -> (mode: Int, size: Int64, time: Int, name: String)? {
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let mode = Int(parts[0], radix: 16), let size = Int64(parts[1]), let time = Int(parts[2]) else { return nil }
        let name = String(parts[3])
        guard relative ? name.hasPrefix("./") : name.hasPrefix("/") else { return nil }
        return (mode, size, time, name)
    }
}
