import BerthCore
import BerthEngine
import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Workspaces over HTTP on the real engine: the instance view, the file API into a full
/// workspace (507), export and import, a clean reset, and the admin's list and delete.
@Suite("REST API: workspaces (real engine)", .timeLimit(.minutes(3)))
struct WorkspacesAPITests {
    static let environment = """
        name: Workspace over HTTP
        berth:
          command: ["sleep", "infinity"]
          terminal: {user: "1000:1000", workdir: /home/player/work}
          readOnlyRoot: true
          writable: [/tmp]
          workspace: {path: /home/player/work, size: 2m}
        """

    static func tar(_ name: String, _ contents: String) -> [UInt8] {
        var archive = TarArchive()
        archive.append(TarArchive.Entry(path: name, contents: Array(contents.utf8)))
        return (try? archive.encoded()) ?? []
    }

    @Test("the instance shows its workspace; a full workspace answers 507; export, import, clean reset, admin list and delete")
    func endToEnd() async throws {
        try await APIHarness.with(environments: ["ws-http": Self.environment], engine: .docker()) { harness in
            guard harness.services.workspaces?.volumes.unavailableReason() == nil else { return }
            let alice = try await harness.player("alice")
            let mallory = try await harness.player("mallory")
            let admin = APIHarness.adminToken
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"ws-http"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)
                let workspace = try #require(created.body["workspace"] as? [String: Any])
                let workspaceID = try #require(workspace["id"] as? String)
                #expect(workspace["path"] as? String == "/home/player/work")
                #expect(workspace["sizeBytes"] as? Int == 2 << 20)

                let octet: [HTTPField.Name: String] = [.contentType: "application/octet-stream"]
                let note = try await FilesAPITests.send(
                    client, .put, "/api/v1/instances/\(id)/files/content?path=/home/player/work/note.txt", token: alice.token,
                    body: Array("kept\n".utf8), headers: octet
                )
                #expect(note.status == 200, "\(note.json)")
                // Fill it: 1 MiB at a time until the file system refuses.
                var full: (status: Int, headers: HTTPFields, bytes: [UInt8], json: [String: Any])?
                for index in 0..<4 {
                    let answer = try await FilesAPITests.send(
                        client, .put, "/api/v1/instances/\(id)/files/content?path=/home/player/work/fill\(index)", token: alice.token,
                        body: [UInt8](repeating: 7, count: 1 << 20), headers: octet
                    )
                    if answer.status != 200 { full = answer; break }
                }
                let refused = try #require(full)
                #expect(refused.status == 507, "\(refused.json)")
                #expect(errorCode(refused.json) == "workspace_full")
                #expect(((refused.json["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("Your workspace is full") == true)
                let shown = try await client.call(.get, "/api/v1/instances/\(id)", token: alice.token)
                let used = try #require((shown.body["workspace"] as? [String: Any])?["usedBytes"] as? Int)
                #expect(Double(used) / Double(2 << 20) >= 0.95, "\(used)")

                // Export while it runs; import is refused while it runs.
                let exported = try await FilesAPITests.send(client, .get, "/api/v1/workspaces/\(workspaceID)/archive", token: alice.token)
                #expect(exported.status == 200)
                #expect(exported.headers[.contentDisposition] == "attachment; filename=\"ws-http-\(workspaceID).tar\"")
                let names = try TarArchive.decode(exported.bytes).entries.map(\.path)
                #expect(names.contains { $0.hasSuffix("note.txt") }, "\(names)")
                let tarType: [HTTPField.Name: String] = [.contentType: "application/x-tar"]
                let busy = try await FilesAPITests.send(
                    client, .put, "/api/v1/workspaces/\(workspaceID)/archive", token: alice.token, body: Self.tar("new.txt", "new\n"), headers: tarType
                )
                #expect(busy.status == 409 && errorCode(busy.json) == "workspace_in_use", "\(busy.json)")
                let hidden = try await FilesAPITests.send(client, .get, "/api/v1/workspaces/\(workspaceID)/archive", token: mallory.token)
                #expect(hidden.status == 404 && errorCode(hidden.json) == "workspace_not_found")
                let refusedDelete = try await client.call(.delete, "/api/v1/admin/workspaces/\(workspaceID)", token: admin)
                #expect(refusedDelete.status == 409 && errorCode(refusedDelete.body) == "workspace_in_use")
                let adminList = try await client.call(.get, "/api/v1/admin/workspaces", token: admin)
                let row = try #require((adminList.body["items"] as? [[String: Any]])?.first { $0["id"] as? String == workspaceID })
                #expect(row["inUse"] as? Bool == true && row["ownerName"] as? String == "alice")
                #expect((row["sync"] as? [String: Any])?["state"] as? String == "local_only")

                // Clean reset empties it.
                let reset = try await client.call(.post, "/api/v1/instances/\(id)/reset", token: alice.token, json: #"{"cleanWorkspace":true}"#)
                #expect(reset.status == 200, "\(reset.body)")
                let listing = try await client.call(.get, "/api/v1/instances/\(id)/files?path=/home/player/work", token: alice.token)
                #expect((listing.body["entries"] as? [Any])?.isEmpty == true, "\(listing.body)")
                let plainReset = try await client.call(.post, "/api/v1/instances/\(id)/reset", token: alice.token)
                #expect(plainReset.status == 200, "\(plainReset.body)")

                // Stopped: import replaces its files; a hostile archive is refused.
                #expect(try await client.call(.delete, "/api/v1/instances/\(id)", token: alice.token).status == 200)
                let imported = try await FilesAPITests.send(
                    client, .put, "/api/v1/workspaces/\(workspaceID)/archive", token: alice.token, body: Self.tar("new.txt", "new\n"), headers: tarType
                )
                #expect(imported.status == 200, "\(imported.json)")
                #expect(imported.json["inUse"] as? Bool == false)
                var hostile = RawTarForHTTP()
                hostile.add("../escape.txt", contents: [1])
                let bad = try await FilesAPITests.send(
                    client, .put, "/api/v1/workspaces/\(workspaceID)/archive", token: alice.token, body: hostile.finished, headers: tarType
                )
                #expect(bad.status == 422 && errorCode(bad.json) == "workspace_invalid_archive", "\(bad.json)")
                let sync = try await client.call(.post, "/api/v1/workspaces/\(workspaceID)/sync", token: alice.token)
                #expect(sync.status == 503 && errorCode(sync.body) == "object_storage_unavailable")

                let again = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"ws-http"}"#)
                let againID = try #require(again.body["id"] as? String)
                let read = try await FilesAPITests.send(client, .get, "/api/v1/instances/\(againID)/files/content?path=/home/player/work/new.txt", token: alice.token)
                #expect(read.bytes == Array("new\n".utf8))
                #expect(try await client.call(.delete, "/api/v1/instances/\(againID)", token: alice.token).status == 200)

                let mine = try await client.call(.get, "/api/v1/workspaces", token: alice.token)
                #expect((mine.body["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [workspaceID])
                #expect((try await client.call(.get, "/api/v1/workspaces", token: mallory.token).body["items"] as? [Any])?.isEmpty == true)
                let deleted = try await client.call(.delete, "/api/v1/admin/workspaces/\(workspaceID)", token: admin)
                #expect(deleted.status == 204)
                let audit = try await harness.services.store.audit.auditEntries(AuditQuery(limit: 200))
                #expect(audit.contains { $0.target == workspaceID && ($0.detail ?? "").hasPrefix("workspace.deleted") })
                #expect(audit.contains { $0.target == workspaceID && ($0.detail ?? "").hasPrefix("export workspace") })
            }
        }
    }
}

@Suite("Workspace retention")
struct WorkspaceRetentionTests {
    @Test("a workspace unused for longer than the retention is deleted and audited with the reason; 0 keeps it")
    func retention() async throws {
        try await APIHarness.with(environments: ["ws-keep": WorkspacesAPITests.environment]) { harness in
            let workspaces = try #require(harness.services.workspaces)
            guard workspaces.volumes.unavailableReason() == nil else { return }
            let environment = try #require(await harness.services.catalog.environment("ws-keep"))
            let record = try await workspaces.workspace(for: Owner(kind: .user, id: "usr_ada"), environment: environment)
            let file = harness.directory.appendingPathComponent("one.tar")
            try Data(WorkspacesAPITests.tar("a.txt", "a\n")).write(to: file)
            try await workspaces.importArchive(from: file, into: record)
            #expect(workspaces.volumes.exists(record.id))

            let forever = WorkspaceRetention(services: harness.services, retentionSeconds: 0, interval: .seconds(60), logger: harness.logger)
            #expect(await forever.sweep(now: Date().addingTimeInterval(1e9)) == 0)
            let sweep = WorkspaceRetention(services: harness.services, retentionSeconds: 86400, interval: .seconds(60), logger: harness.logger)
            #expect(await sweep.sweep(now: Date()) == 0)
            #expect(await sweep.sweep(now: Date().addingTimeInterval(2 * 86400)) == 1)
            #expect(try await harness.services.store.workspaces.workspace(id: record.id) == nil)
            #expect(!workspaces.volumes.exists(record.id))
            let entry = try #require(try await harness.services.store.audit.auditEntries(AuditQuery(limit: 50)).first { $0.target == record.id })
            #expect(entry.action == "workspace.deleted")
            #expect(entry.detail?.hasPrefix("retention: last used") == true && entry.detail?.contains("kept 1d") == true, "\(entry.detail ?? "")")
        }
    }
}
