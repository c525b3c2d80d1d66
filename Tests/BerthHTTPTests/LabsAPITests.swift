import BerthCore
import BerthEngine
import BerthTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The four lab operations through the router, on the fake engine and a scripted check runner.
@Suite("Labs API")
struct LabsAPITests {
    @Test("progress, a failing then passing check that unlocks the next step, audit facts, and lab on the environment")
    func checkRoundTrip() async throws {
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab(), challenge("plain-challenge", name: "Plain")], labChecks: checks) { harness in
            let ada = try await harness.player("ada")
            try await harness.application.test(.router) { client in
                let environment = try await client.call(.get, "/api/v1/environments/lab-three", token: ada.token)
                #expect((environment.body["lab"] as? [String: Any])?["stepCount"] as? Int == 3)
                let plain = try await client.call(.get, "/api/v1/environments/plain-challenge", token: ada.token)
                #expect(plain.body.keys.contains("lab") && plain.body["lab"] is NSNull, "lab is null, not left out, for other environments")

                let fresh = try await client.call(.get, "/api/v1/environments/lab-three/lab", token: ada.token)
                #expect(fresh.status == 200)
                #expect(fresh.body["currentStep"] as? String == "intro")
                #expect(fresh.body["lastCheck"] is NSNull && fresh.body["completedAt"] is NSNull)
                let steps = try #require(fresh.body["steps"] as? [[String: Any]])
                #expect(steps.map { $0["state"] as? String } == ["current", "locked", "locked"])
                #expect(steps[1]["text"] is NSNull && steps[1]["hintsAvailable"] as? Int == 2)

                let created = try await client.call(.post, "/api/v1/instances", token: ada.token, json: #"{"environment":"lab-three"}"#)
                let id = try #require(created.body["id"] as? String)
                let intro = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(intro.status == 200 && intro.body["status"] as? String == "passed" && intro.body["step"] as? String == "intro")

                await checks.answer("check-write", with: failedGreeting)
                let failed = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(failed.status == 200)
                #expect(failed.body["status"] as? String == "failed")
                let failures = try #require(failed.body["failures"] as? [[String: Any]])
                #expect(failures.first?["message"] as? String == "greeting.txt is missing")
                #expect(failures.first?["hint"] as? String == "Create /home/player/work/greeting.txt")
                #expect((failed.body["progress"] as? [String: Any])?["currentStep"] as? String == "write")

                await checks.answer("check-write", with: CheckOutcome(status: .passed, metrics: ["lines": 1], notes: ["well done"], exitCode: 0))
                let passed = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(passed.body["status"] as? String == "passed")
                #expect((passed.body["metrics"] as? [String: Any])?["lines"] as? Double == 1)
                #expect(passed.body["notes"] as? [String] == ["well done"])
                let progress = try #require(passed.body["progress"] as? [String: Any])
                #expect(progress["currentStep"] as? String == "run")
                let unlocked = try #require(progress["steps"] as? [[String: Any]])
                #expect(unlocked.map { $0["state"] as? String } == ["passed", "passed", "current"])
                #expect(unlocked[2]["text"] as? String == "Run the script.")
                #expect((progress["lastCheck"] as? [String: Any])?["id"] as? String == passed.body["id"] as? String)

                let audit = try await harness.services.store.audit.auditEntries(AuditQuery(target: id, limit: 100))
                let details = audit.filter { $0.action == "POST /api/v1/instances/{id}/checks" }.compactMap(\.detail)
                #expect(details.sorted() == ["step intro, passed", "step write, failed", "step write, passed"])

                let other = try await harness.player("bob")
                let hidden = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: other.token)
                #expect(hidden.status == 404, "another player's instance does not exist for them")
                let notLab = try await client.call(.get, "/api/v1/environments/plain-challenge/lab", token: ada.token)
                #expect(notLab.status == 422 && errorCode(notLab.body) == "not_a_lab")
                let missing = try await client.call(.get, "/api/v1/environments/nope/lab", token: ada.token)
                #expect(missing.status == 404 && errorCode(missing.body) == "environment_not_found")
            }
        }
    }

    @Test("a check while one runs for the same owner is 409 check_in_progress; a stopped instance is 409 instance_not_running")
    func conflicts() async throws {
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab()], labChecks: checks) { harness in
            let ada = try await harness.player("ada")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: ada.token, json: #"{"environment":"lab-three"}"#)
                let id = try #require(created.body["id"] as? String)
                _ = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                await checks.hold()
                async let first = client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                while await checks.heldCount < 1 { try await Task.sleep(for: .milliseconds(5)) }
                let second = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(second.status == 409 && errorCode(second.body) == "check_in_progress")
                await checks.release()
                #expect(try await first.status == 200)

                _ = try await client.call(.delete, "/api/v1/instances/\(id)", token: ada.token)
                let stopped = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(stopped.status == 409 && errorCode(stopped.body) == "instance_not_running")
            }
        }
    }

    @Test("hints answer the source, text, authored index and hints left; the sixth in a minute is 429 too_many_hints with Retry-After")
    func hints() async throws {
        try await APIHarness.with(specs: [threeStepLab()], labChecks: FakeLabChecks(), labHints: FakeLabHints()) { harness in
            let ada = try await harness.player("ada")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: ada.token, json: #"{"environment":"lab-three"}"#)
                let id = try #require(created.body["id"] as? String)
                _ = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                let hint = try await client.call(.post, "/api/v1/instances/\(id)/hints", token: ada.token)
                #expect(hint.status == 200)
                #expect(hint.body["step"] as? String == "write" && hint.body["source"] as? String == "authored")
                #expect(hint.body["text"] as? String == "Use the editor." && hint.body["authoredIndex"] as? Int == 0 && hint.body["hintsLeft"] as? Int == 1)
                for _ in 0..<2 { _ = try await client.call(.post, "/api/v1/instances/\(id)/hints", token: ada.token) }
                let none = try await client.call(.post, "/api/v1/instances/\(id)/hints", token: ada.token)
                #expect(none.body["source"] as? String == "none" && none.body["authoredIndex"] is NSNull, "null is kept, not left out")
                _ = try await client.call(.post, "/api/v1/instances/\(id)/hints", token: ada.token)

                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(ada.token)"
                let limited = try await client.execute(uri: "/api/v1/instances/\(id)/hints", method: .post, headers: headers, body: nil)
                #expect(limited.status.code == 429)
                let wait = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
                #expect(wait >= 1 && wait <= 60)
                let body = try JSONSerialization.jsonObject(with: Data(limited.body.readableBytesView)) as? [String: Any] ?? [:]
                #expect(errorCode(body) == "too_many_hints")

                let audit = try await harness.services.store.audit.auditEntries(AuditQuery(target: id, limit: 100))
                let details = audit.filter { $0.action == "POST /api/v1/instances/{id}/hints" && $0.status == 200 }.compactMap(\.detail)
                #expect(details.count == 5 && details.contains("step write, authored") && details.contains("step write, none"))
            }
        }
    }

    @Test("the board: admins see every owner's row; players are refused; an unknown or non-lab filter and a bad threshold are refused")
    func board() async throws {
        try await APIHarness.with(specs: [threeStepLab(), challenge("plain-challenge", name: "Plain")], labChecks: FakeLabChecks()) { harness in
            let ada = try await harness.player("ada")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: ada.token, json: #"{"environment":"lab-three"}"#)
                let id = try #require(created.body["id"] as? String)
                _ = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                let board = try await client.call(.get, "/api/v1/admin/labs/progress?environment=lab-three&stuckAfterMinutes=5", token: APIHarness.adminToken)
                #expect(board.status == 200)
                let rows = try #require(board.body["items"] as? [[String: Any]])
                #expect(rows.count == 1)
                let row = try #require(rows.first)
                #expect((row["owner"] as? [String: Any])?["name"] as? String == "ada")
                #expect(row["step"] as? String == "write" && row["stepIndex"] as? Int == 1 && row["stepCount"] as? Int == 3)
                #expect(row["stuck"] as? Bool == false && row["lastFailure"] is NSNull && row["completedAt"] is NSNull)

                let refused = try await client.call(.get, "/api/v1/admin/labs/progress", token: ada.token)
                #expect(refused.status == 403)
                let unknown = try await client.call(.get, "/api/v1/admin/labs/progress?environment=nope", token: APIHarness.adminToken)
                #expect(unknown.status == 404)
                let notLab = try await client.call(.get, "/api/v1/admin/labs/progress?environment=plain-challenge", token: APIHarness.adminToken)
                #expect(notLab.status == 422)
                let bad = try await client.call(.get, "/api/v1/admin/labs/progress?stuckAfterMinutes=0", token: APIHarness.adminToken)
                #expect(bad.status == 400)
            }
        }
    }
}

/// A two-step lab on the real engine: `write` is checked by `checks/check-write`, `done` has no check.
let engineLab = """
    name: Progress engine lab
    category: test
    value: 30
    berth:
      command: ["sleep", "infinity"]
      terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
      resources: {memory: 64m, cpus: 0.5, pids: 64}
      network: none
      readOnlyRoot: false
      writable: [/tmp]
    steps:
      - id: write
        title: Write the answer
        text: Write 42 into /tmp/answer.txt.
        hints: [Use echo and a redirection.]
      - id: done
        title: Done
        text: Nothing left to do.
    """

let engineLabCheck = """
    #!/bin/sh
    if [ "$(cat /tmp/answer.txt 2>/dev/null)" = "42" ]; then exit 0; fi
    echo "FAIL: /tmp/answer.txt does not hold 42"
    exit 1

    """

@Suite("Labs API on the real engine", .serialized)
struct LabsEngineTests {
    @Test("a check that fails on a fresh instance passes once the file is written, and unlocks the next step; the last one scores")
    func checkUnlocksNextStep() async throws {
        try await APIHarness.with(
            environments: ["progress-lab": engineLab], engine: .docker, files: ["progress-lab/checks/check-write": engineLabCheck]
        ) { harness in
            let ada = try await harness.player("ada")
            try await harness.application.test(.router) { client in
                let created = try await client.call(.post, "/api/v1/instances", token: ada.token, json: #"{"environment":"progress-lab"}"#)
                #expect(created.status == 201, "\(created.body)")
                let id = try #require(created.body["id"] as? String)

                let failed = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(failed.status == 200, "\(failed.body)")
                #expect(failed.body["status"] as? String == "failed", "\(failed.body)")
                #expect((failed.body["failures"] as? [[String: Any]])?.first?["message"] as? String == "/tmp/answer.txt does not hold 42")
                #expect((failed.body["progress"] as? [String: Any])?["currentStep"] as? String == "write")

                let container = try #require(try await harness.services.store.instances.instance(id: id)?.containerID)
                try await harness.services.runtime.writeFile(containerID: container, path: "/tmp/answer.txt", contents: "42", user: "1000:1000")
                let passed = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect(passed.body["status"] as? String == "passed", "\(passed.body)")
                let progress = try #require(passed.body["progress"] as? [String: Any])
                #expect(progress["currentStep"] as? String == "done")
                let steps = try #require(progress["steps"] as? [[String: Any]])
                #expect(steps.map { $0["state"] as? String } == ["passed", "current"])
                #expect(steps[1]["text"] as? String == "Nothing left to do." && steps[1]["hasCheck"] as? Bool == false)

                let finished = try await client.call(.post, "/api/v1/instances/\(id)/checks", token: ada.token)
                #expect((finished.body["progress"] as? [String: Any])?["completedAt"] is String)
                let scoreboard = try await client.call(.get, "/api/v1/scoreboard")
                #expect((scoreboard.body["entries"] as? [[String: Any]])?.first?["points"] as? Int == 30, "\(scoreboard.body)")
            }
        }
    }
}
