import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import OpenAPIRuntime

extension BerthAPIHandler {
    public func listInstanceFiles(_ input: Operations.ListInstanceFiles.Input) async throws -> Operations.ListInstanceFiles.Output {
        let (files, instance) = try await filesOf(input.path.id)
        let listing = try await files.list(instance, path: input.query.path)
        return .ok(.init(body: .json(.init(
            path: listing.path, roots: listing.roots, entries: listing.entries.map(Components.Schemas.FileEntry.init)
        ))))
    }

    public func readInstanceFile(_ input: Operations.ReadInstanceFile.Input) async throws -> Operations.ReadInstanceFile.Output {
        let here = try APIRequest.here()
        let (files, instance) = try await filesOf(input.path.id)
        here.facts.detail = "read \(Self.auditPath(input.query.path))"
        let content = try await files.read(instance, path: input.query.path)
        here.facts.detail = "read \(Self.auditPath(input.query.path)), \(content.bytes.count) bytes, sha256 \(content.sha256)"
        return .ok(.init(
            headers: .init(eTag: "\"\(content.sha256)\"", xContentSHA256: content.sha256, contentLength: content.bytes.count),
            body: .binary(HTTPBody(content.bytes))
        ))
    }

    public func writeInstanceFile(_ input: Operations.WriteInstanceFile.Input) async throws -> Operations.WriteInstanceFile.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let (files, instance) = try await filesOf(input.path.id)
        let condition = try Self.writeCondition(ifMatch: input.headers.ifMatch, ifNoneMatch: input.headers.ifNoneMatch)
        var bytes: [UInt8] = []
        if case .binary(let body)? = input.body {
            bytes = try await [UInt8](collecting: body, upTo: files.limits.fileBytes + 1)
        }
        here.facts.detail = "write \(Self.auditPath(input.query.path)), \(bytes.count) bytes"
        let written = try await files.write(instance, path: input.query.path, bytes: bytes, condition: condition)
        here.facts.detail = "write \(Self.auditPath(written.entry.path)), \(bytes.count) bytes, sha256 \(written.sha256)"
        here.logger.info("instance file written", metadata: [
            "instance.id": "\(instance.id)", "user.id": "\(caller.id)", "file.bytes": "\(bytes.count)",
        ])
        return .ok(.init(body: .json(.init(entry: .init(written.entry), sha256: written.sha256))))
    }

    public func deleteInstanceFile(_ input: Operations.DeleteInstanceFile.Input) async throws -> Operations.DeleteInstanceFile.Output {
        let here = try APIRequest.here()
        let (files, instance) = try await filesOf(input.path.id)
        let recursive = input.query.recursive ?? false
        here.facts.detail = "delete \(Self.auditPath(input.query.path))\(recursive ? ", recursive" : "")"
        try await files.remove(instance, path: input.query.path, recursive: recursive)
        return .noContent(.init())
    }

    public func downloadInstanceFiles(_ input: Operations.DownloadInstanceFiles.Input) async throws -> Operations.DownloadInstanceFiles.Output {
        let here = try APIRequest.here()
        let (files, instance) = try await filesOf(input.path.id)
        here.facts.detail = "download \(Self.auditPath(input.query.path))"
        let archive = try await files.download(instance, path: input.query.path)
        here.facts.detail = "download \(Self.auditPath(input.query.path)), \(archive.size) bytes"
        let name = input.query.path.split(separator: "/").last.map(String.init) ?? "files"
        let safe = String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "_" }.prefix(100))
        return .ok(.init(
            headers: .init(contentDisposition: "attachment; filename=\"\(safe.isEmpty ? "files" : safe).tar\"", contentLength: Int(archive.size)),
            body: .applicationXTar(SpooledChunks(handle: archive.handle, size: archive.size).body)
        ))
    }

    public func uploadInstanceFiles(_ input: Operations.UploadInstanceFiles.Input) async throws -> Operations.UploadInstanceFiles.Output {
        let here = try APIRequest.here()
        let (files, instance) = try await filesOf(input.path.id)
        let tar: [UInt8]
        switch input.body {
        case .applicationXTar(let body): tar = try await [UInt8](collecting: body, upTo: files.limits.uploadBytes + 1)
        }
        here.facts.detail = "upload into \(Self.auditPath(input.query.path)), \(tar.count) bytes"
        let uploaded = try await files.upload(instance, path: input.query.path, tar: tar)
        here.facts.detail = "upload into \(Self.auditPath(uploaded.path)), \(tar.count) bytes, \(uploaded.files) files of \(uploaded.bytes) bytes"
        return .ok(.init(body: .json(.init(path: uploaded.path, files: uploaded.files, bytes: Int64(uploaded.bytes)))))
    }

    // MARK: - Helpers

    /// The file service and the instance `id` as the caller may see it (404 for another player's),
    /// with the instance as the audit target.
    private func filesOf(_ id: String) async throws -> (InstanceFiles, Instance) {
        let here = try APIRequest.here()
        here.facts.target = id
        let caller = try APIRequest.caller()
        let instance = try await services.lifecycle.instance(id, for: caller)
        // The editor works through these calls: each one is a sign its owner is there.
        try await services.editorSeen(instance, by: caller, at: Date())
        guard let files = services.files else {
            throw BerthError(.filesUnavailable, "This engine cannot reach files inside instances.")
        }
        return (files, instance)
    }

    /// A path as the audit log keeps it: cut, so a hostile path cannot fill the log.
    static func auditPath(_ path: String) -> String {
        path.count > 300 ? String(path.prefix(300)) + "…" : path
    }

    /// The write condition of `If-Match` (a quoted SHA-256, as the ETag gave it) and `If-None-Match: *`.
    static func writeCondition(ifMatch: String?, ifNoneMatch: String?) throws -> WriteCondition {
        if let ifNoneMatch {
            guard ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*" else {
                throw BerthError(.invalidRequest, "If-None-Match accepts only '*' (create the file only when nothing is at the path).")
            }
            guard ifMatch == nil else { throw BerthError(.invalidRequest, "Send If-Match or If-None-Match, not both.") }
            return .absent
        }
        guard var tag = ifMatch?.trimmingCharacters(in: .whitespaces) else { return .always }
        if tag.hasPrefix("W/") { tag.removeFirst(2) }
        if tag.count >= 2, tag.hasPrefix("\""), tag.hasSuffix("\"") { tag = String(tag.dropFirst().dropLast()) }
        return .matches(tag.lowercased())
    }
}

extension Components.Schemas.FileEntry {
    init(_ entry: FileEntry) {
        let kind: _TypePayload = switch entry.kind {
        case .file: .file
        case .directory: .directory
        case .symlink: .symlink
        case .other: .other
        }
        self.init(name: entry.name, path: entry.path, _type: kind, size: entry.size, mode: entry.modeText, modifiedAt: entry.modifiedAt)
    }
}

/// A response body that streams a spooled archive from its open handle in bounded reads and
/// closes the handle at the end (an unlinked file's space comes back then).
struct SpooledChunks: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk

    let handle: FileHandle
    let size: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        var left: Int64

        mutating func next() async throws -> HTTPBody.ByteChunk? {
            guard left > 0, let data = try handle.read(upToCount: Int(Swift.min(Int64(FileChunks.chunkBytes), left))), !data.isEmpty else {
                try? handle.close()
                return nil
            }
            left -= Int64(data.count)
            return ArraySlice(data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle, left: size)
    }

    /// The body, with its length announced.
    var body: HTTPBody {
        HTTPBody(self, length: .known(size), iterationBehavior: .single)
    }
}
