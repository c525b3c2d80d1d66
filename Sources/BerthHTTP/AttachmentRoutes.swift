import BerthCore
import BerthEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Environments' attachments (ctfcli `files:`): the list with sizes and SHA-256, and downloads.
/// Whoever may see an environment may download its files: signed-in players, within its
/// visibility and requirements. Each download is audited.
struct AttachmentRoutes {
    let services: BerthServices

    /// `X-Content-SHA256`: the hash listed for the file, so a client can check what it got.
    static let sha256Header = HTTPField.Name.known("X-Content-SHA256")

    /// Bytes read from disk per write while a download streams.
    static let chunkBytes = 64 << 10

    /// The environment `slug` if `caller` may see its files now.
    func environment(_ slug: String, for caller: User) async throws -> EnvironmentSpec {
        let environment = try await services.scores.playable(slug, by: caller)
        if caller.role != .admin, await services.settings.disabledEnvironments.contains(slug) {
            throw BerthError(code: "environment_disabled", message: "'\(slug.prefix(64))' is switched off by the organisers for now.", status: 403)
        }
        return environment
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/environments/:slug/files") { _, context in
            let caller = try context.requireCaller()
            let slug = try context.parameters.require("slug")
            let environment = try await environment(slug, for: caller)
            let set = await services.attachments.attachments(of: environment)
            struct Listing: Encodable {
                var items: [AttachmentView]
                /// Entries of `files:` that serve nothing, for admins.
                var problems: [String]?
            }
            return try JSONResponse.make(Listing(
                items: set.files.map { AttachmentView($0, slug: slug) }, problems: caller.role == .admin ? set.problems : nil
            ))
        }
        table.on(.get, "/api/v1/environments/:slug/files/:name") { _, context in
            let caller = try context.requireCaller()
            let slug = try context.parameters.require("slug")
            // The router hands over the segment as sent: `large%20file.bin` names `large file.bin`.
            let raw = try context.parameters.require("name")
            let name = raw.removingPercentEncoding ?? raw
            let environment = try await environment(slug, for: caller)
            context.facts.target = "\(slug)/\(name.prefix(200))"
            guard let attachment = await services.attachments.attachment(name, of: environment),
                  FileManager.default.isReadableFile(atPath: attachment.path)
            else {
                throw BerthError.notFound("attachment_not_found", "'\(slug.prefix(64))' has no file called '\(name.prefix(200))'; GET /api/v1/environments/\(slug.prefix(64))/files lists them.")
            }
            context.facts.detail = "size \(attachment.size), sha256 \(attachment.sha256)"
            context.logger.info("attachment downloaded", metadata: [
                "user.id": "\(caller.id)", "client.ip": "\(context.clientIP)", "environment": "\(slug)", "attachment": "\(attachment.name)",
            ])
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.contentDisposition] = Self.disposition(attachment.name)
            headers[.cacheControl] = "private, no-store"
            headers[Self.sha256Header] = attachment.sha256
            let size = attachment.size
            let path = attachment.path
            // Opened when the body is written, so a HEAD request (whose body is dropped) opens nothing.
            let body = ResponseBody(contentLength: Int(size)) { writer in
                guard let handle = FileHandle(forReadingAtPath: path) else {
                    throw BerthError.unavailable("attachment_unreadable", "The file \(attachment.name) can no longer be read.")
                }
                defer { try? handle.close() }
                var left = size
                // Never more than the length announced, even if the file grew since it was hashed.
                while left > 0, let chunk = try handle.read(upToCount: Int(min(Int64(Self.chunkBytes), left))), !chunk.isEmpty {
                    try await writer.write(ByteBuffer(bytes: chunk))
                    left -= Int64(chunk.count)
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    /// `attachment; filename="…"; filename*=UTF-8''…`, safe whatever the name holds.
    static func disposition(_ name: String) -> String {
        let plain = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar.value != 0x7F && scalar != "\"" && scalar != "\\" ? Character(scalar) : "_"
        })
        return "attachment; filename=\"\(plain)\"; filename*=UTF-8''\(AttachmentView.segment(name))"
    }
}
