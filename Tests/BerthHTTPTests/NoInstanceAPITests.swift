import BerthCore
import BerthEngine
import BerthHTTP
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A challenge as ctfcli writes it, built directly (the parser fills these fields from YAML).
func challenge(
    _ slug: String, name: String, image: ImageSource = .none, flag: String = "flag{\(UUID().uuidString.prefix(6))}",
    files: [String] = [], visibility: Visibility = .visible, requirements: RequirementsSpec? = nil, maxAttempts: Int? = nil,
    connectionInfo: String? = nil, berth: BerthSettings = BerthSettings()
) -> EnvironmentSpec {
    var spec = EnvironmentSpec(
        slug: slug, name: name, category: "crypto", description: "About \(name).", value: 100, connectionInfo: connectionInfo,
        image: image, berth: berth
    )
    spec.flags = [FlagSpec(kind: .static, content: flag)]
    spec.scoring = .fixed(value: 100)
    spec.files = files
    spec.visibility = visibility
    spec.requirements = requirements
    spec.maxAttempts = maxAttempts
    return spec
}

func hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

/// Requests with a bearer token that keep the raw answer (headers and bytes).
extension TestClientProtocol {
    func raw(_ method: HTTPRequest.Method, _ uri: String, token: String) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        return try await execute(uri: uri, method: method, headers: headers, body: nil)
    }
}

@Suite("Attachments resolve inside their folder")
struct AttachmentResolutionTests {
    /// A temporary environment folder with files, a sub-folder and links, removed afterwards.
    func withFolder(_ body: (URL) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-files-\(UUID().uuidString)", isDirectory: true)
        let folder = root.appendingPathComponent("env", isDirectory: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("dist/deep"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "outside secret".write(to: root.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        try "cipher".write(to: folder.appendingPathComponent("cipher.txt"), atomically: true, encoding: .utf8)
        try "one".write(to: folder.appendingPathComponent("dist/one.bin"), atomically: true, encoding: .utf8)
        try "two".write(to: folder.appendingPathComponent("dist/deep/two.bin"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("escape.txt").path, withDestinationPath: "../secret.txt")
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("inside.txt").path, withDestinationPath: "cipher.txt")
        try body(folder)
    }

    @Test("paths and globs resolve to files with size and SHA-256; .., absolute paths, escaping links and missing files are refused")
    func resolution() throws {
        try withFolder { folder in
            let set = AttachmentLibrary.resolve(
                ["cipher.txt", "dist/**/*.bin", "../secret.txt", "/etc/passwd", "escape.txt", "missing.txt", "nothing/*.zip"], in: folder
            )
            #expect(set.files.map(\.name) == ["cipher.txt", "two.bin", "one.bin"] || set.files.map(\.name) == ["cipher.txt", "one.bin", "two.bin"])
            let cipher = try #require(set.file(named: "cipher.txt"))
            #expect(cipher.size == 6)
            #expect(cipher.sha256 == hex(Data("cipher".utf8)))
            #expect(set.problems.count == 5, "\(set.problems)")
            #expect(set.problems.contains { $0.contains("'../secret.txt'") && $0.contains("no '..'") })
            #expect(set.problems.contains { $0.contains("'/etc/passwd'") })
            #expect(set.problems.contains { $0.contains("'escape.txt'") && $0.contains("leaves the environment's folder") })
            #expect(set.problems.contains { $0.contains("'missing.txt'") && $0.contains("does not exist") })
            #expect(set.problems.contains { $0.contains("'nothing/*.zip'") && $0.contains("matches no file") })
            #expect(!set.files.contains { $0.path.hasSuffix("secret.txt") })
        }
    }

    @Test("a link that stays inside is served under its own name; a glob never picks up a link that leaves")
    func linksAndGlobs() throws {
        try withFolder { folder in
            let set = AttachmentLibrary.resolve(["*.txt"], in: folder)
            #expect(set.files.map(\.name) == ["cipher.txt"], "the inside link resolves to the same file, served once")
            #expect(set.problems.contains { $0.contains("'escape.txt'") })
            #expect(!set.files.contains { $0.path.hasSuffix("secret.txt") })
        }
    }

    @Test("connection_info placeholders are filled from the endpoint, unknown ones are kept")
    func connectionInfo() {
        let endpoint = Endpoint(port: 8080, protocol: .http, host: "ctf.example", hostPort: 31337, url: "http://ctf.example:31337/")
        #expect(ConnectionInfo.fill("nc {{host}} {{ port }} or {{url}} {{other}} {{", with: endpoint)
            == "nc ctf.example 31337 or http://ctf.example:31337/ {{other}} {{")
        let tcp = Endpoint(port: 22, protocol: .tcp, host: "10.0.0.1", hostPort: 31000, url: nil)
        #expect(ConnectionInfo.fill("{{url}}", with: tcp) == "10.0.0.1:31000")
    }
}

@Suite("Challenges without an instance, visibility, requirements and attempts (real store; real engine for image status)", .serialized, .timeLimit(.minutes(3)))
struct NoInstanceAPITests {
    static let cipherText = "Uryyb, jbeyq! synt{ebg13}\n"

    @Test("a challenge without an instance is listed without Start, refuses 422 no_instance, lists and serves its attachments, and audits downloads")
    func noInstanceChallenge() async throws {
        let spec = challenge("rot", name: "Rot", flag: "flag{rot13}", files: ["cipher.txt", "dist/*.bin", "../escape.txt", "link.txt"])
        try await APIHarness.with(specs: [spec]) { harness in
            let folder = harness.folder("rot")
            try Self.cipherText.write(to: folder.appendingPathComponent("cipher.txt"), atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("dist"), withIntermediateDirectories: true)
            let binary = Data((0..<3000).map { UInt8($0 % 251) })
            try binary.write(to: folder.appendingPathComponent("dist/blob.bin"))
            try "outside".write(to: folder.deletingLastPathComponent().appendingPathComponent("escape.txt"), atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.txt").path, withDestinationPath: "../escape.txt")
            let alice = try await harness.player("alice")
            try await harness.application.test(.router) { client in
                let list = try await client.call(.get, "/api/v1/environments", token: alice.token)
                let items = try #require(list.body["items"] as? [[String: Any]])
                let entry = try #require(items.first { $0["slug"] as? String == "rot" })
                #expect(entry["hasInstance"] as? Bool == false)
                #expect(entry["hasFlag"] as? Bool == true)
                #expect(entry["image"] == nil || entry["image"] is NSNull)

                let one = try await client.call(.get, "/api/v1/environments/rot", token: alice.token)
                #expect(one.status == 200)
                #expect(one.body["hasInstance"] as? Bool == false)
                let files = try #require(one.body["files"] as? [[String: Any]])
                #expect(files.map { $0["name"] as? String } == ["cipher.txt", "blob.bin"])
                #expect(files.first?["size"] as? Int == Self.cipherText.utf8.count)
                #expect(files.first?["sha256"] as? String == hex(Data(Self.cipherText.utf8)))
                #expect(files.first?["url"] as? String == "/api/v1/environments/rot/files/cipher.txt")

                let start = try await client.call(.post, "/api/v1/instances", token: alice.token, json: #"{"environment":"rot"}"#)
                #expect(start.status == 422)
                #expect(errorCode(start.body) == "no_instance")

                let listing = try await client.call(.get, "/api/v1/environments/rot/files", token: alice.token)
                let listed = try #require(listing.body["items"] as? [[String: Any]])
                #expect(listed.count == 2)
                #expect(listed.last?["size"] as? Int == 3000)
                #expect(listed.last?["sha256"] as? String == hex(binary))
                #expect(listing.body["problems"] == nil, "players are not shown the operator's problems")
                let admin = try await client.call(.get, "/api/v1/environments/rot/files", token: APIHarness.adminToken)
                let problems = try #require(admin.body["problems"] as? [String])
                #expect(problems.count == 2, "\(problems)")

                let download = try await client.raw(.get, "/api/v1/environments/rot/files/blob.bin", token: alice.token)
                #expect(download.status == .ok)
                #expect(Data(download.body.readableBytesView) == binary)
                #expect(download.headers[.contentLength] == "3000")
                #expect(download.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"blob.bin\"") == true)
                let text = try await client.raw(.get, "/api/v1/environments/rot/files/cipher.txt", token: alice.token)
                #expect(String(buffer: text.body) == Self.cipherText)

                for refused in ["link.txt", "escape.txt", "..%2Fescape.txt", "challenge.yml"] {
                    let answer = try await client.call(.get, "/api/v1/environments/rot/files/\(refused)", token: alice.token)
                    #expect(answer.status == 404, "\(refused)")
                    #expect(errorCode(answer.body) == "attachment_not_found", "\(refused)")
                }
                let anonymous = try await client.call(.get, "/api/v1/environments/rot/files/cipher.txt")
                #expect(anonymous.status == 401)

                let audited = try await harness.services.store.audit.auditEntries(AuditQuery(target: "rot/blob.bin"))
                let entry2 = try #require(audited.first)
                #expect(entry2.actorID == alice.id)
                #expect(entry2.action == "GET /api/v1/environments/{slug}/files/{name}")
                #expect(entry2.detail?.contains(hex(binary)) == true)

                let solved = try await client.call(.post, "/api/v1/environments/rot/submissions", token: alice.token, json: #"{"flag":"flag{rot13}"}"#)
                #expect(solved.body["outcome"] as? String == "correct")
                let adminList = try await client.call(.get, "/api/v1/admin/environments", token: APIHarness.adminToken)
                let row = try #require((adminList.body["items"] as? [[String: Any]])?.first { $0["slug"] as? String == "rot" })
                #expect(row["imageStatus"] as? String == "none")
                #expect(row["hasInstance"] as? Bool == false)
                #expect(row["solves"] as? Int == 1)
            }
        }
    }

    @Test("a hidden challenge is invisible to players (list, page, files, start, submit) and visible to admins")
    func hidden() async throws {
        let spec = challenge("secret", name: "Secret", flag: "flag{hidden}", files: ["note.txt"], visibility: .hidden)
        try await APIHarness.with(specs: [spec]) { harness in
            try "note".write(to: harness.folder("secret").appendingPathComponent("note.txt"), atomically: true, encoding: .utf8)
            let bob = try await harness.player("bob")
            try await harness.application.test(.router) { client in
                let list = try await client.call(.get, "/api/v1/environments", token: bob.token)
                #expect((list.body["items"] as? [[String: Any]])?.isEmpty == true)
                for (method, uri, json) in [
                    (HTTPRequest.Method.get, "/api/v1/environments/secret", nil), (.get, "/api/v1/environments/secret/files", nil),
                    (.get, "/api/v1/environments/secret/files/note.txt", nil),
                    (.post, "/api/v1/environments/secret/submissions", #"{"flag":"flag{hidden}"}"#),
                    (.post, "/api/v1/instances", #"{"environment":"secret"}"#),
                ] as [(HTTPRequest.Method, String, String?)] {
                    let answer = try await client.call(method, uri, token: bob.token, json: json)
                    #expect(answer.status == 404, "\(uri)")
                    #expect(errorCode(answer.body) == "environment_not_found", "\(uri)")
                }
                #expect(try await harness.services.store.play.solves(environment: "secret").isEmpty)

                let adminList = try await client.call(.get, "/api/v1/environments", token: APIHarness.adminToken)
                let entry = try #require((adminList.body["items"] as? [[String: Any]])?.first)
                #expect(entry["slug"] as? String == "secret")
                #expect(entry["visibility"] as? String == "hidden")
                let file = try await client.raw(.get, "/api/v1/environments/secret/files/note.txt", token: APIHarness.adminToken)
                #expect(String(buffer: file.body) == "note")
            }
        }
    }

    @Test("requirements: hidden until solved by default, a locked placeholder with anonymize; solving the prerequisite unlocks both")
    func requirements() async throws {
        let specs = [
            challenge("warmup", name: "Warm Up", flag: "flag{warm}"),
            challenge("second", name: "Second", flag: "flag{second}", files: ["data.txt"], requirements: RequirementsSpec(prerequisites: ["warmup"])),
            challenge("third", name: "Third", flag: "flag{third}", files: ["data.txt"],
                      requirements: RequirementsSpec(prerequisites: ["warm up", "Second"], anonymize: true)),
        ]
        try await APIHarness.with(specs: specs) { harness in
            for slug in ["second", "third"] {
                try "data".write(to: harness.folder(slug).appendingPathComponent("data.txt"), atomically: true, encoding: .utf8)
            }
            let carol = try await harness.player("carol")
            try await harness.application.test(.router) { client in
                func entries() async throws -> [String: [String: Any]] {
                    let list = try await client.call(.get, "/api/v1/environments", token: carol.token)
                    let items = try #require(list.body["items"] as? [[String: Any]])
                    return Dictionary(uniqueKeysWithValues: items.map { ($0["slug"] as? String ?? "", $0) })
                }
                var seen = try await entries()
                #expect(Set(seen.keys) == ["warmup", "third"])
                let locked = try #require(seen["third"])
                #expect(locked["locked"] as? Bool == true)
                #expect(locked["lockedBy"] as? [String] == ["Warm Up", "Second"])
                #expect(locked["name"] as? String != "Third")
                #expect(locked["description"] as? String == "")
                #expect((locked["files"] as? [Any])?.isEmpty == true)
                let second = try await client.call(.post, "/api/v1/environments/second/submissions", token: carol.token, json: #"{"flag":"flag{second}"}"#)
                #expect(second.status == 404)
                let third = try await client.call(.post, "/api/v1/environments/third/submissions", token: carol.token, json: #"{"flag":"flag{third}"}"#)
                #expect(third.status == 403)
                #expect(errorCode(third.body) == "environment_locked")
                #expect((third.body["error"] as? [String: Any])?["message"] as? String == "This challenge is locked: solve Warm Up and Second first.")
                let files = try await client.call(.get, "/api/v1/environments/third/files/data.txt", token: carol.token)
                #expect(files.status == 403)
                let adminView = try await client.call(.get, "/api/v1/environments/second", token: APIHarness.adminToken)
                #expect(adminView.status == 200)
                #expect(adminView.body["locked"] as? Bool == false)

                let warm = try await client.call(.post, "/api/v1/environments/warmup/submissions", token: carol.token, json: #"{"flag":"flag{warm}"}"#)
                #expect(warm.body["outcome"] as? String == "correct")
                seen = try await entries()
                #expect(Set(seen.keys) == ["warmup", "second", "third"])
                #expect(seen["third"]?["lockedBy"] as? [String] == ["Second"])
                #expect(seen["second"]?["locked"] as? Bool == false)
                #expect((seen["second"]?["files"] as? [[String: Any]])?.first?["name"] as? String == "data.txt")
                let solved = try await client.call(.post, "/api/v1/environments/second/submissions", token: carol.token, json: #"{"flag":"flag{second}"}"#)
                #expect(solved.body["outcome"] as? String == "correct")
                seen = try await entries()
                #expect(seen["third"]?["locked"] as? Bool == false)
                #expect(seen["third"]?["name"] as? String == "Third")
                let open = try await client.call(.post, "/api/v1/environments/third/submissions", token: carol.token, json: #"{"flag":"flag{third}"}"#)
                #expect(open.body["outcome"] as? String == "correct")
            }
        }
    }

    @Test("attempts: each wrong flag counts down, past the limit 403 attempts_exhausted (stored), the right flag is refused too")
    func attempts() async throws {
        try await APIHarness.with(specs: [challenge("guess", name: "Guess", flag: "flag{right}", maxAttempts: 2)]) { harness in
            let dave = try await harness.player("dave")
            let erin = try await harness.player("erin")
            try await harness.application.test(.router) { client in
                let before = try await client.call(.get, "/api/v1/environments/guess", token: dave.token)
                #expect(before.body["maxAttempts"] as? Int == 2)
                #expect(before.body["attemptsLeft"] as? Int == 2)
                let first = try await client.call(.post, "/api/v1/environments/guess/submissions", token: dave.token, json: #"{"flag":"flag{no}"}"#)
                #expect(first.body["outcome"] as? String == "incorrect")
                #expect(first.body["attemptsLeft"] as? Int == 1)
                #expect(first.body["message"] as? String == "Incorrect flag. 1 attempt left.")
                let second = try await client.call(.post, "/api/v1/environments/guess/submissions", token: dave.token, json: #"{"flag":"flag{nope}"}"#)
                #expect(second.body["attemptsLeft"] as? Int == 0)
                let after = try await client.call(.get, "/api/v1/environments/guess", token: dave.token)
                #expect(after.body["attemptsLeft"] as? Int == 0)
                let refused = try await client.call(.post, "/api/v1/environments/guess/submissions", token: dave.token, json: #"{"flag":"flag{right}"}"#)
                #expect(refused.status == 403)
                #expect(errorCode(refused.body) == "attempts_exhausted")
                let stored = try await harness.services.store.play.submissions(SubmissionQuery(environment: "guess", userID: dave.id))
                #expect(stored.map(\.outcome) == [.attemptsExhausted, .incorrect, .incorrect])
                #expect(try await harness.services.store.play.solves(environment: "guess").isEmpty)
                // Attempts are counted per owner: another player still has theirs.
                let other = try await client.call(.post, "/api/v1/environments/guess/submissions", token: erin.token, json: #"{"flag":"flag{right}"}"#)
                #expect(other.body["outcome"] as? String == "correct")
            }
        }
    }

    @Test("connection_info is filled from the instance's first endpoint; a prebuilt image starts, a missing one is 422 image_not_found at start and in the console")
    func prebuiltImagesAndConnectionInfo() async throws {
        let settings = BerthSettings(command: ["httpd", "-f", "-p", "8080", "-h", "/tmp"], ports: [PortSpec(port: 8080, protocol: .http)], network: .isolated)
        let missing = "berth-test/missing-\(UUID().uuidString.prefix(8).lowercased()):latest"
        let specs = [
            challenge("served", name: "Served", image: .prebuilt(reference: "berth/base:latest"),
                      connectionInfo: "nc {{host}} {{port}} — {{url}} <b>x</b>", berth: settings),
            challenge("gone", name: "Gone", image: .prebuilt(reference: missing), berth: settings),
        ]
        try await APIHarness.with(specs: specs, engine: .docker) { harness in
            let frank = try await harness.player("frank")
            try await harness.application.test(.router) { client in
                let started = try await client.call(.post, "/api/v1/instances", token: frank.token, json: #"{"environment":"served"}"#)
                #expect(started.status == 201, "\(started.body)")
                let endpoint = try #require((started.body["endpoints"] as? [[String: Any]])?.first)
                let host = try #require(endpoint["host"] as? String)
                let port = try #require(endpoint["hostPort"] as? Int)
                let url = try #require(endpoint["url"] as? String)
                #expect(started.body["connectionInfo"] as? String == "nc \(host) \(port) — \(url) <b>x</b>")
                let id = try #require(started.body["id"] as? String)
                let read = try await client.call(.get, "/api/v1/instances/\(id)", token: frank.token)
                #expect(read.body["connectionInfo"] as? String == started.body["connectionInfo"] as? String)
                let stopped = try await client.call(.delete, "/api/v1/instances/\(id)", token: frank.token)
                #expect(stopped.body["connectionInfo"] == nil, "an ended instance has no endpoint to fill in")

                let refused = try await client.call(.post, "/api/v1/instances", token: frank.token, json: #"{"environment":"gone"}"#)
                #expect(refused.status == 422, "\(refused.body)")
                #expect(errorCode(refused.body) == "image_not_found")
                #expect(((refused.body["error"] as? [String: Any])?["message"] as? String)?.contains(missing) == true)

                let console = try await client.call(.get, "/api/v1/admin/environments", token: APIHarness.adminToken)
                let rows = Dictionary(uniqueKeysWithValues: (console.body["items"] as? [[String: Any]] ?? []).map { ($0["slug"] as? String ?? "", $0) })
                #expect(rows["served"]?["imageStatus"] as? String == "built")
                #expect(rows["gone"]?["imageStatus"] as? String == "image_not_found")
                #expect(rows["gone"]?["image"] as? String == missing)
            }
        }
    }

    @Test("in team mode requirements and attempts belong to the team: a teammate's solve unlocks, attempts are shared, concurrent wrong flags never pass the limit")
    func teamOwnership() async throws {
        let specs = [
            challenge("first", name: "First", flag: "flag{first}"),
            challenge("next", name: "Next", flag: "flag{next}", requirements: RequirementsSpec(prerequisites: ["first"], anonymize: true), maxAttempts: 3),
        ]
        try await APIHarness.with(specs: specs) { harness in
            let solver = try await harness.player("solver")
            let mate = try await harness.player("mate")
            try await harness.application.test(.router) { client in
                let switched = try await client.call(.put, "/api/v1/admin/settings", token: APIHarness.adminToken, json: #"{"assignment":"team"}"#)
                #expect(switched.body["assignment"] as? String == "team")
                let team = try await harness.services.accounts.createTeam(name: "Green")
                try await harness.services.accounts.addMember(teamID: team.id, userID: solver.id)
                try await harness.services.accounts.addMember(teamID: team.id, userID: mate.id)

                let hint = try await client.call(.post, "/api/v1/environments/next/hints/0/unlock", token: mate.token)
                #expect(errorCode(hint.body) == "environment_locked")
                let first = try await client.call(.post, "/api/v1/environments/first/submissions", token: solver.token, json: #"{"flag":"flag{first}"}"#)
                #expect(first.body["outcome"] as? String == "correct")
                let unlocked = try await client.call(.get, "/api/v1/environments/next", token: mate.token)
                #expect(unlocked.body["locked"] as? Bool == false, "the teammate's solve unlocks it for the team")
                #expect(unlocked.body["attemptsLeft"] as? Int == 3)

                // Six wrong flags at once from two teammates: exactly three are judged, the rest refused.
                let answers = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<6 {
                        let token = index.isMultiple(of: 2) ? solver.token : mate.token
                        group.addTask { try await client.call(.post, "/api/v1/environments/next/submissions", token: token, json: "{\"flag\":\"flag{wrong\(index)}\"}").status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(answers.filter { $0 == 200 }.count <= 3, "\(answers)")
                #expect(answers.filter { $0 == 200 }.count >= 1, "\(answers)")
                let wrong = try await harness.services.store.play.submissions(SubmissionQuery(environment: "next", outcomes: [.incorrect]))
                #expect(wrong.count <= 3)
                while try await client.call(.get, "/api/v1/environments/next", token: solver.token).body["attemptsLeft"] as? Int ?? 0 > 0 {
                    _ = try await client.call(.post, "/api/v1/environments/next/submissions", token: solver.token, json: #"{"flag":"flag{again}"}"#)
                }
                let refused = try await client.call(.post, "/api/v1/environments/next/submissions", token: mate.token, json: #"{"flag":"flag{next}"}"#)
                #expect(errorCode(refused.body) == "attempts_exhausted")
                #expect(((refused.body["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("Your team has used all 3 attempts") == true)
            }
        }
    }

    @Test("over a live server, a download streams the exact bytes with their length, and HEAD answers the same headers without a body")
    func liveDownload() async throws {
        try await APIHarness.with(specs: [challenge("big", name: "Big", files: ["data/*.bin"])]) { harness in
            let folder = harness.folder("big").appendingPathComponent("data", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            // Larger than one streamed chunk, and not a multiple of it.
            let bytes = Data((0..<(300_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            try bytes.write(to: folder.appendingPathComponent("large file.bin"))
            let gina = try await harness.player("gina")
            try await harness.application.test(.live) { client in
                let list = try await client.call(.get, "/api/v1/environments/big/files", token: gina.token)
                let item = try #require((list.body["items"] as? [[String: Any]])?.first)
                #expect(item["name"] as? String == "large file.bin")
                let url = try #require(item["url"] as? String)
                #expect(url == "/api/v1/environments/big/files/large%20file.bin")
                let download = try await client.raw(.get, url, token: gina.token)
                #expect(download.status == .ok)
                #expect(Data(download.body.readableBytesView) == bytes)
                #expect(download.headers[.contentLength] == "300000")
                #expect(download.headers[HTTPField.Name("X-Content-SHA256")!] == hex(bytes))
                #expect(download.headers[.contentDisposition] == "attachment; filename=\"large file.bin\"; filename*=UTF-8''large%20file.bin")
                let head = try await client.raw(.head, url, token: gina.token)
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                #expect(head.headers[.contentDisposition] == download.headers[.contentDisposition])
                let audited = try await harness.services.store.audit.auditEntries(AuditQuery(target: "big/large file.bin"))
                #expect(audited.count >= 1)
            }
        }
    }

    @Test("a challenge.yml without image and Dockerfile, with files, state, requirements and attempts, is picked up by a reload and played as written")
    func fromFiles() async throws {
        try await APIHarness.with { harness in
            let root = harness.folder("x").deletingLastPathComponent()
            func write(_ path: String, _ text: String) throws {
                let url = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            try write("intro/challenge.yml", "name: Intro\ncategory: misc\nvalue: 10\nflags: [\"flag{intro}\"]\nfiles: [notes/*.txt]\n")
            try write("intro/notes/readme.txt", "read me\n")
            try write("locked/challenge.yml", """
                name: Locked
                category: misc
                value: 20
                flags: ["flag{locked}"]
                attempts: 1
                requirements: {prerequisites: [Intro], anonymize: true}
                """)
            try write("secret/challenge.yml", "name: Secret\nstate: hidden\nflags: [\"flag{secret}\"]\n")
            let ivy = try await harness.player("ivy")
            try await harness.application.test(.router) { client in
                let reload = try await client.call(.post, "/api/v1/admin/environments/reload", token: APIHarness.adminToken)
                #expect(reload.body["environments"] as? [String] == ["intro", "locked", "secret"], "\(reload.body)")
                #expect((reload.body["problems"] as? [String])?.isEmpty == true, "\(reload.body)")
                let list = try await client.call(.get, "/api/v1/environments", token: ivy.token)
                let items = Dictionary(uniqueKeysWithValues: (list.body["items"] as? [[String: Any]] ?? []).map { ($0["slug"] as? String ?? "", $0) })
                #expect(Set(items.keys) == ["intro", "locked"])
                #expect(items["intro"]?["hasInstance"] as? Bool == false)
                #expect((items["intro"]?["files"] as? [[String: Any]])?.first?["name"] as? String == "readme.txt")
                #expect(items["locked"]?["locked"] as? Bool == true)
                #expect(items["locked"]?["lockedBy"] as? [String] == ["Intro"])
                let start = try await client.call(.post, "/api/v1/instances", token: ivy.token, json: #"{"environment":"intro"}"#)
                #expect(errorCode(start.body) == "no_instance")
                _ = try await client.call(.post, "/api/v1/environments/intro/submissions", token: ivy.token, json: #"{"flag":"flag{intro}"}"#)
                let wrong = try await client.call(.post, "/api/v1/environments/locked/submissions", token: ivy.token, json: #"{"flag":"flag{no}"}"#)
                #expect(wrong.body["attemptsLeft"] as? Int == 0, "\(wrong.body)")
                let late = try await client.call(.post, "/api/v1/environments/locked/submissions", token: ivy.token, json: #"{"flag":"flag{locked}"}"#)
                #expect(errorCode(late.body) == "attempts_exhausted")
            }
        }
    }
}
