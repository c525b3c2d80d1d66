import BerthAPI
import DockerEngine
import Foundation
import Testing

@testable import BerthCLI

/// The `berth` binary's commands against a live `berth serve` (the same binary: its real
/// composition root, SQLite, and the real Docker Engine for one instance), checking what scripts
/// rely on: the `--json` field names, the text lines, `Error: <code>: <message>` and the exit
/// statuses.
@Suite(.serialized, .timeLimit(.minutes(5))) struct CLILiveTests {
    @Test func commandsThroughALiveServer() async throws {
        try await LiveBerth.with { berth in
            // Users and tokens.
            let created = try await berth.cli(["users", "create", "ada", "--json"])
            #expect(created.status == 0, "\(created.stderr)")
            let ada = try created.object()
            #expect(Set(ada.keys) == ["id", "name", "role", "createdAt"])
            #expect(ada["role"] as? String == "player")
            let adaID = try #require(ada["id"] as? String)

            let taken = try await berth.cli(["users", "create", "ada"])
            #expect(taken.status == 1)
            #expect(taken.stderr.contains("Error: user_name_taken: "), "\(taken.stderr)")

            let listed = try await berth.cli(["users", "list", "--json"])
            #expect(try listed.array().compactMap { $0["name"] as? String }.sorted() == ["admin", "ada"].sorted())
            let table = try await berth.cli(["users", "list"])
            #expect(table.stdout.hasPrefix("ID "), "\(table.stdout)")
            #expect(table.stdout.contains("ada") && table.stdout.contains("player"))

            let promoted = try await berth.cli(["users", "set-role", adaID, "admin"])
            #expect(promoted.stdout == "ada is now admin\n")
            let demoted = try await berth.cli(["users", "set-role", adaID, "player", "--json"])
            #expect(try demoted.object()["role"] as? String == "player")
            let missing = try await berth.cli(["users", "set-role", "usr_nobody", "admin"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("Error: user_not_found: "), "\(missing.stderr)")

            let weak = try await berth.cli(["users", "set-password", adaID], input: "short")
            #expect(weak.status == 1)
            #expect(weak.stderr.contains("Error: weak_password: "), "\(weak.stderr)")
            let password = try await berth.cli(["users", "set-password", adaID], input: "a-long-Passphrase-42")
            #expect(password.stdout == "password set\n", "\(password.stderr)")

            let token = try await berth.cli(["tokens", "create", "--user", adaID, "--name", "live", "--json"])
            let issued = try token.object()
            #expect(Set(issued.keys) == ["id", "userId", "name", "token", "createdAt"])
            let adaToken = try #require(issued["token"] as? String)

            // Teams.
            let team = try await berth.cli(["teams", "create", "blue", "--json"])
            let blue = try team.object()
            #expect(Set(blue.keys) == ["id", "name", "createdAt", "members", "inviteCode"])
            let blueID = try #require(blue["id"] as? String)
            let joined = try await berth.cli(["teams", "add-member", blueID, adaID])
            #expect(joined.stdout == "\(blueID) blue: 1 item(s)\n", "\(joined.stderr)")
            let again = try await berth.cli(["teams", "add-member", blueID, adaID])
            #expect(again.status == 1)
            #expect(again.stderr.contains("Error: already_member: "), "\(again.stderr)")
            let teams = try await berth.cli(["teams", "list", "--json"])
            #expect(try teams.array().first?["members"] as? [String] == [adaID])

            // An instance, started by the player through the generated client, listed and killed by the admin.
            let player = try ServerOptions.parse(["--server", berth.url, "--token", adaToken])
            let instance = try await player.call { client in
                switch try await client.createInstance(body: .json(.init(environment: "shell"))) {
                case .created(let answer): return try answer.body.json
                default: throw ServerCallError(code: "unexpected", message: "the instance did not start")
                }
            }
            #expect(instance.state == .running)
            let instances = try await berth.cli(["instances", "list", "--active", "--json"])
            let listedInstance = try #require(try instances.array().first)
            #expect(listedInstance["id"] as? String == instance.id)
            #expect(
                Set(listedInstance.keys).isSuperset(of: [
                    "id", "environment", "owner", "requestedBy", "state", "createdAt", "updatedAt", "expiresAt", "maxExpiresAt", "renewalsLeft",
                    "endpoints", "terminal",
                ]))
            #expect((listedInstance["owner"] as? [String: Any])?["kind"] as? String == "user")
            let killed = try await berth.cli(["instances", "kill", instance.id])
            #expect(killed.stdout == "\(instance.id) stopped\n", "\(killed.stderr)")
            let killedAgain = try await berth.cli(["instances", "kill", instance.id])
            #expect(killedAgain.status == 1)
            #expect(killedAgain.stderr.contains("Error: instance_not_active: "), "\(killedAgain.stderr)")
            let purged = try await berth.cli(["instances", "purge", "--json"])
            #expect(try purged.object()["stopped"] as? Int == 0)

            // Recordings: none, since nobody opened a terminal.
            let recordings = try await berth.cli(["recordings", "list", "--json"])
            #expect(try recordings.array().isEmpty)
            let noRecording = try await berth.cli(["recordings", "verify", "rec_nothing"])
            #expect(noRecording.status == 1)
            #expect(noRecording.stderr.contains("Error: recording_not_found: "), "\(noRecording.stderr)")

            // The audit log: exported as JSON lines that verify offline, and verified by the server.
            let export = try await berth.cli(["audit", "export"])
            let lines = export.stdout.split(separator: "\n")
            #expect(lines.count >= 8, "\(export.stdout)")
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(Set(first.keys).isSuperset(of: ["sequence", "time", "timeMilliseconds", "action", "status", "result", "previousHash", "hash"]))
            let file = berth.directory.appendingPathComponent("audit.jsonl")
            try export.stdout.write(to: file, atomically: true, encoding: .utf8)
            let offline = try await berth.cli(["audit", "verify", "--file", file.path])
            #expect(offline.status == 0)
            #expect(offline.stdout.hasPrefix("valid (\(lines.count) entries read)"), "\(offline.stdout)")
            let online = try await berth.cli(["audit", "verify", "--json"])
            let report = try online.object()
            #expect(report["valid"] as? Bool == true)
            #expect(report["headSignature"] is String && report["publicKey"] is String)
            let filtered = try await berth.cli(["audit", "export", "--action", "/teams", "--since", "2000-01-01T00:00:00Z"])
            #expect(filtered.stdout.split(separator: "\n").count >= 2)
            #expect(!filtered.stdout.contains("/users/{id}/tokens"))
            let badTime = try await berth.cli(["audit", "export", "--since", "yesterday"])
            #expect(badTime.status == 1)
            #expect(badTime.stderr.contains("Error: invalid_query: "))

            // Refusals.
            let wrongToken = try await berth.cli(["users", "list", "--token", "not-a-token"])
            #expect(wrongToken.status == 1)
            #expect(wrongToken.stderr.contains("Error: unauthorized: "), "\(wrongToken.stderr)")
            let asPlayer = try await berth.cli(["users", "list", "--token", adaToken])
            #expect(asPlayer.status == 1)
            #expect(asPlayer.stderr.contains("Error: forbidden: "), "\(asPlayer.stderr)")
        }
    }

    @Test func anUnreachableServerIsNamed() async throws {
        let url = "http://127.0.0.1:9"
        let outcome = try await LiveBerth.run(["users", "list", "--server", url, "--token", "x"], environment: [:])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("Error: server_unreachable: Cannot reach the Berth server at \(url)"), "\(outcome.stderr)")
    }
}

/// A `berth serve` process on a free loopback port, with its own data and environments folders
/// and its own engine namespace, removed with everything it started by ``with(_:)``.
struct LiveBerth {
    static let adminToken = "cli-live-admin-token-0123456789abcdef"

    let url: String
    let directory: URL

    /// The `berth` binary: `BERTH_BINARY`, else the debug build next to these sources.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["BERTH_BINARY"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/berth")
    }

    /// The outcome of one command.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String

        func object() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(stdout) \(stderr)")
        }

        func array() throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]], "\(stdout) \(stderr)")
        }
    }

    /// Runs a CLI command against this server as the admin.
    func cli(_ arguments: [String], input: String? = nil) async throws -> Outcome {
        try await Self.run(arguments, environment: ["BERTH_URL": url, "BERTH_TOKEN": Self.adminToken], input: input)
    }

    /// Starts a server, runs `body`, then stops the server and removes its containers, networks and folder.
    static func with(_ body: (LiveBerth) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-live-\(UUID().uuidString)", isDirectory: true)
        let environments = directory.appendingPathComponent("environments/shell", isDirectory: true)
        try FileManager.default.createDirectory(at: environments, withIntermediateDirectories: true)
        try """
            name: Shell
            category: test
            description: A shell for the CLI's live test.
            value: 10
            image: berth/base:latest
            berth:
              command: ["sleep", "infinity"]
              resources: {memory: 64m, cpus: 0.5, pids: 64}
              network: none
            """.write(to: environments.appendingPathComponent("challenge.yml"), atomically: true, encoding: .utf8)
        let namespace = "test-cli-\(UUID().uuidString.prefix(8).lowercased())"
        let output = directory.appendingPathComponent("serve.out")
        let errors = directory.appendingPathComponent("serve.err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let server = Process()
        server.executableURL = binary
        server.arguments = [
            "serve", "--port", "0", "--data-dir", directory.appendingPathComponent("data").path,
            "--environments", directory.appendingPathComponent("environments").path, "--log-level", "warning",
        ]
        server.environment = ProcessInfo.processInfo.environment.merging(
            ["BERTH_ADMIN_TOKEN": adminToken, "BERTH_NAMESPACE": namespace]) { _, new in new }
        server.standardOutput = try FileHandle(forWritingTo: output)
        server.standardError = try FileHandle(forWritingTo: errors)
        try server.run()
        defer {
            if server.isRunning { server.terminate() }
        }
        do {
            let url = try await serverURL(in: output, of: server, errors: errors)
            try await body(LiveBerth(url: url, directory: directory))
        } catch {
            await stop(server, namespace: namespace, directory: directory)
            throw error
        }
        await stop(server, namespace: namespace, directory: directory)
    }

    /// Waits (up to a minute, for a loaded machine) for the line `berth serve` prints once it listens.
    static func serverURL(in output: URL, of server: Process, errors: URL) async throws -> String {
        for _ in 0..<600 {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Berth is running at ") }) {
                var url = String(line.dropFirst("Berth is running at ".count))
                if url.hasSuffix("/") { url.removeLast() }
                return url
            }
            guard server.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        throw ServerCallError(code: "serve_failed", message: "berth serve did not start: \(stderr.suffix(2000))")
    }

    static func stop(_ server: Process, namespace: String, directory: URL) async {
        if server.isRunning {
            server.terminate()
            for _ in 0..<300 where server.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        }
        if let docker = try? DockerClient.fromEnvironment() {
            let filter = "berth.namespace=\(namespace)"
            for container in (try? await docker.listContainers(labels: [filter])) ?? [] {
                try? await docker.removeContainer(container.id, force: true)
            }
            for network in (try? await docker.listNetworks(labels: [filter])) ?? [] {
                try? await docker.removeNetwork(network.id)
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs the `berth` binary with `arguments`; its output goes through files, so no pipe fills up.
    static func run(_ arguments: [String], environment: [String: String], input: String? = nil) async throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-run-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = ["in", "out", "err"].map { directory.appendingPathComponent($0) }
        _ = FileManager.default.createFile(atPath: files[0].path, contents: Data((input ?? "").utf8))
        _ = FileManager.default.createFile(atPath: files[1].path, contents: nil)
        _ = FileManager.default.createFile(atPath: files[2].path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for name in ["BERTH_URL", "BERTH_TOKEN", "BERTH_ADMIN_TOKEN"] { variables[name] = nil }
        process.environment = variables.merging(environment) { _, new in new }
        process.standardInput = try FileHandle(forReadingFrom: files[0])
        process.standardOutput = try FileHandle(forWritingTo: files[1])
        process.standardError = try FileHandle(forWritingTo: files[2])
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Outcome(
            status: status, stdout: try String(contentsOf: files[1], encoding: .utf8), stderr: try String(contentsOf: files[2], encoding: .utf8))
    }
}
