import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The file API over HTTP on the fake engine: statuses, headers, access and audit. The real
/// engine's behaviour (symlinks, permissions, hostile archives in a container) is tested in
/// IntegrationTests' InstanceFilesTests.
@Suite("REST API: instance files (fake engine)", .timeLimit(.minutes(1)))
struct FilesAPITests {
    static let lab = """
        name: Files over HTTP
        berth:
          command: ["sleep", "infinity"]
          terminal: {user: "1000:1000", workdir: /home/player/work}
          readOnlyRoot: false
          writable: [/tmp]
        """

    /// Sends raw bytes with extra headers.
    static func send(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String, body: [UInt8]? = nil,
        headers extra: [HTTPField.Name: String] = [:]
    ) async throws -> (status: Int, headers: HTTPFields, bytes: [UInt8], json: [String: Any]) {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        for (name, value) in extra { headers[name] = value }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        let bytes = [UInt8](response.body.readableBytesView)
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
        return (Int(response.status.code), response.headers, bytes, json)
    }

    @Test("list, write, read with ETag, If-Match, delete, download and upload; another player gets 404")
    func roundTrip() async throws {
        try await APIHarness.with(environments: ["files-lab": Self.lab]) { harness in
            let alice = try await harness.player("alice")
            let mallory = try await harness.player("mallory")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"files-lab"}"#)
                let id = try #require(created.body["id"] as? String)
                let base = "/api/v1/instances/\(id)/files"
                let octet: [HTTPField.Name: String] = [.contentType: "application/octet-stream"]

                let roots = try await client.call(.get, base, token: alice.token)
                #expect(roots.status == 200, "\(roots.body)")
                #expect(roots.body["roots"] as? [String] == ["/tmp", "/home/player/work"])
                #expect(roots.body["path"] is NSNull)
                #expect((roots.body["entries"] as? [Any])?.isEmpty == true)

                let bytes = (0..<256).map { UInt8($0) }
                let written = try await Self.send(client, .put, "\(base)/content?path=/home/player/work/a%20b.bin", token: alice.token, body: bytes, headers: octet)
                #expect(written.status == 200, "\(written.json)")
                let sha = try #require(written.json["sha256"] as? String)
                #expect(sha == InstanceFiles.sha256(bytes))
                let entry = try #require(written.json["entry"] as? [String: Any])
                #expect(entry["path"] as? String == "/home/player/work/a b.bin")
                #expect(entry["type"] as? String == "file")
                #expect(entry["size"] as? Int == 256)
                #expect(entry["mode"] as? String == "0644")

                let read = try await Self.send(client, .get, "\(base)/content?path=/home/player/work/a%20b.bin", token: alice.token)
                #expect(read.status == 200)
                #expect(read.bytes == bytes)
                #expect(read.headers[.eTag] == "\"\(sha)\"")
                #expect(read.headers[HTTPField.Name("X-Content-SHA256")!] == sha)
                #expect(read.headers[.contentType] == "application/octet-stream")

                let listed = try await client.call(.get, "\(base)?path=/home/player/work", token: alice.token)
                #expect((listed.body["entries"] as? [[String: Any]])?.map { $0["name"] as? String } == ["a b.bin"])

                // If-Match: the ETag of the read succeeds once; the old one then conflicts.
                let saved = try await Self.send(
                    client, .put, "\(base)/content?path=/home/player/work/a%20b.bin", token: alice.token, body: [1, 2, 3],
                    headers: octet.merging([.ifMatch: "\"\(sha)\""]) { first, _ in first }
                )
                #expect(saved.status == 200, "\(saved.json)")
                let stale = try await Self.send(
                    client, .put, "\(base)/content?path=/home/player/work/a%20b.bin", token: alice.token, body: [4],
                    headers: octet.merging([.ifMatch: "\"\(sha)\""]) { first, _ in first }
                )
                #expect(stale.status == 412 && errorCode(stale.json) == "file_changed", "\(stale.json)")
                let createOnly = try await Self.send(
                    client, .put, "\(base)/content?path=/home/player/work/a%20b.bin", token: alice.token, body: [4],
                    headers: octet.merging([.ifNoneMatch: "*"]) { first, _ in first }
                )
                #expect(createOnly.status == 412 && errorCode(createOnly.json) == "file_changed")
                let badTag = try await Self.send(
                    client, .put, "\(base)/content?path=/tmp/x", token: alice.token, body: [4],
                    headers: octet.merging([.ifMatch: "\"nope\""]) { first, _ in first }
                )
                #expect(badTag.status == 400, "\(badTag.json)")

                let empty = try await Self.send(client, .put, "\(base)/content?path=/tmp/empty.txt", token: alice.token, body: [], headers: octet)
                #expect(empty.status == 200 && (empty.json["entry"] as? [String: Any])?["size"] as? Int == 0, "\(empty.json)")

                // Upload, then download what was uploaded.
                var archive = TarArchive()
                archive.append(TarArchive.Entry(path: "docs", isDirectory: true))
                archive.append(TarArchive.Entry(path: "docs/readme.md", contents: Array("# hi\n".utf8)))
                let uploaded = try await Self.send(
                    client, .post, "\(base)/archive?path=/home/player/work/project", token: alice.token, body: try archive.encoded(),
                    headers: [.contentType: "application/x-tar"]
                )
                #expect(uploaded.status == 200, "\(uploaded.json)")
                #expect(uploaded.json["files"] as? Int == 1 && uploaded.json["bytes"] as? Int == 5 && uploaded.json["path"] as? String == "/home/player/work/project")
                let downloaded = try await Self.send(client, .get, "\(base)/archive?path=/home/player/work/project", token: alice.token)
                #expect(downloaded.status == 200)
                #expect(downloaded.headers[.contentType] == "application/x-tar")
                #expect(downloaded.headers[.contentDisposition] == "attachment; filename=\"project.tar\"")
                let entries = try TarArchive.decode(downloaded.bytes).entries
                #expect(entries.first { $0.path == "./docs/readme.md" }?.contents == Array("# hi\n".utf8))

                var hostile = RawTarForHTTP()
                hostile.add("../escape", contents: [1])
                let refused = try await Self.send(
                    client, .post, "\(base)/archive?path=/tmp", token: alice.token, body: hostile.finished, headers: [.contentType: "application/x-tar"]
                )
                #expect(refused.status == 403 && errorCode(refused.json) == "path_not_allowed", "\(refused.json)")

                // Errors with their statuses.
                let outside = try await Self.send(client, .get, "\(base)/content?path=/etc/passwd", token: alice.token)
                #expect(outside.status == 403 && errorCode(outside.json) == "path_not_allowed")
                let dots = try await Self.send(client, .get, "\(base)/content?path=/tmp/../etc/passwd", token: alice.token)
                #expect(dots.status == 403 && errorCode(dots.json) == "path_not_allowed")
                let missing = try await Self.send(client, .get, "\(base)/content?path=/tmp/missing", token: alice.token)
                #expect(missing.status == 404 && errorCode(missing.json) == "file_not_found")
                let folder = try await Self.send(client, .get, "\(base)/content?path=/home/player/work/project", token: alice.token)
                #expect(folder.status == 409 && errorCode(folder.json) == "not_a_file")
                let notFolder = try await client.call(.get, "\(base)?path=/tmp/empty.txt", token: alice.token)
                #expect(notFolder.status == 409 && errorCode(notFolder.body) == "not_a_directory")
                let full = try await client.call(.delete, "\(base)/content?path=/home/player/work/project", token: alice.token)
                #expect(full.status == 409 && errorCode(full.body) == "directory_not_empty")
                let tooLarge = try await Self.send(
                    client, .put, "\(base)/content?path=/tmp/big", token: alice.token, body: [UInt8](repeating: 7, count: (8 << 20) + 1), headers: octet
                )
                #expect(tooLarge.status == 413, "\(tooLarge.json)")
                let justRight = try await Self.send(
                    client, .put, "\(base)/content?path=/tmp/big", token: alice.token, body: [UInt8](repeating: 7, count: 8 << 20), headers: octet
                )
                #expect(justRight.status == 200, "\(justRight.json)")

                // Another player sees none of it.
                for (method, uri) in [
                    (HTTPRequest.Method.get, base), (.get, "\(base)/content?path=/tmp/empty.txt"), (.delete, "\(base)/content?path=/tmp/empty.txt"),
                    (.get, "\(base)/archive?path=/tmp"),
                ] {
                    let peek = try await client.call(method, uri, token: mallory.token)
                    #expect(peek.status == 404 && errorCode(peek.body) == "instance_not_found", "\(method) \(uri)")
                }
                let foreignWrite = try await Self.send(client, .put, "\(base)/content?path=/tmp/x", token: mallory.token, body: [1], headers: octet)
                #expect(foreignWrite.status == 404)
                let anonymous = try await client.call(.get, base)
                #expect(anonymous.status == 401)
                #expect(try await client.call(.get, base, token: APIHarness.adminToken).status == 200, "an admin sees every instance's files")

                let deleted = try await client.call(.delete, "\(base)/content?path=/home/player/work/project&recursive=true", token: alice.token)
                #expect(deleted.status == 204)
                let gone = try await client.call(.get, "\(base)?path=/home/player/work/project", token: alice.token)
                #expect(gone.status == 404 && errorCode(gone.body) == "file_not_found")

                // Writes, deletes, uploads and reads of content are audited with the instance and the path.
                let audit = try await harness.services.store.audit.auditEntries(AuditQuery(target: id, limit: 200))
                let actions = audit.map { "\($0.action) \($0.detail ?? "")" }
                #expect(actions.contains { $0.hasPrefix("PUT /api/v1/instances/{id}/files/content write /home/player/work/a b.bin, 256 bytes") }, "\(actions)")
                #expect(actions.contains { $0.hasPrefix("GET /api/v1/instances/{id}/files/content read /home/player/work/a b.bin, 256 bytes") })
                #expect(actions.contains { $0.hasPrefix("POST /api/v1/instances/{id}/files/archive upload into /home/player/work/project") })
                #expect(actions.contains { $0.hasPrefix("DELETE /api/v1/instances/{id}/files/content delete /home/player/work/project, recursive") })
                #expect(audit.contains { $0.result == "file_changed" })
            }
        }
    }

    @Test("a stopped instance answers 409 instance_not_running; an image without tools 422 files_unavailable")
    func unavailable() async throws {
        try await APIHarness.with(environments: ["files-lab": Self.lab]) { harness in
            let alice = try await harness.player("alice")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"files-lab"}"#)
                let id = try #require(created.body["id"] as? String)
                let instance = try #require(try await harness.services.lifecycle.activeInstance(id))
                await FakeFileTrees.shared.makeUnavailable(try #require(instance.containerID))
                let broken = try await client.call(.get, "/api/v1/instances/\(id)/files?path=/tmp", token: alice.token)
                #expect(broken.status == 422 && errorCode(broken.body) == "files_unavailable", "\(broken.body)")

                #expect(try await client.call(.delete, "/api/v1/instances/\(id)", token: alice.token).status == 200)
                let stopped = try await client.call(.get, "/api/v1/instances/\(id)/files?path=/tmp", token: alice.token)
                #expect(stopped.status == 409 && errorCode(stopped.body) == "instance_not_running", "\(stopped.body)")
            }
        }
    }
}

/// A hand-made tar with names `TarArchive` refuses to write.
struct RawTarForHTTP {
    var bytes: [UInt8] = []

    mutating func add(_ name: String, contents: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int) {
            for (index, byte) in text.utf8.enumerated() { block[at + index] = byte }
        }
        put(name, 0)
        put("0000644", 100)
        put(String(format: "%011o", contents.count), 124)
        put("00000000000", 136)
        block[156] = UInt8(ascii: "0")
        put("ustar", 257)
        put("00", 263)
        for index in 148..<156 { block[index] = 32 }
        put(String(format: "%06o", block.reduce(0) { $0 + Int($1) }) + "\0", 148)
        bytes += block + contents + [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
    }

    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}
