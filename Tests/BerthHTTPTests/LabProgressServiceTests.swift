import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// A three-step lab worth 100 points: `intro` has no check, `write` and `run` have checks;
/// `write` has two authored hints.
func threeStepLab(slug: String = "lab-three", value: Int? = 100, awardsPoints: Bool = true) -> EnvironmentSpec {
    var spec = EnvironmentSpec(slug: slug, name: "Three steps", category: "labs", value: value)
    spec.scoring = .fixed(value: value ?? 0)
    spec.flags = [FlagSpec(kind: .static, content: "berth{lab-static}")]
    spec.lab = LabSpec(
        steps: [
            LabStep(id: "intro", title: "Read me", text: "Welcome."),
            LabStep(id: "write", title: "Write a file", text: "Write greeting.txt.", hints: ["Use the editor.", "The file is greeting.txt."], checkScript: "check-write"),
            LabStep(id: "run", title: "Run it", text: "Run the script.", hints: ["Try sh."], checkScript: "check-run"),
        ],
        scripts: ["check-write", "check-run"], awardsPoints: awardsPoints
    )
    return spec
}

let failedGreeting = CheckOutcome(
    status: .failed, failures: [CheckFailure(code: "missing", message: "greeting.txt is missing", hint: "Create /home/player/work/greeting.txt")],
    exitCode: 1, durationMilliseconds: 12
)

/// The lab service over the real composition root, the fake engine and a scripted check runner.
@Suite("Lab progress service")
struct LabProgressServiceTests {
    /// A running instance of `slug` for `user`.
    static func running(_ harness: APIHarness, _ slug: String, for user: User) async throws -> Instance {
        try await harness.services.lifecycle.request(environment: slug, by: user)
    }

    static func user(_ harness: APIHarness, _ name: String) async throws -> User {
        try await harness.services.accounts.createUser(name: name)
    }

    @Test("a step without a check passes at once; a failing check stores its failures and keeps the step; a pass unlocks the next step")
    func advance() async throws {
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab()], labChecks: checks) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let fresh = try await labs.progress(environment: "lab-three", for: ada)
            #expect(fresh.currentStep == "intro")
            #expect(fresh.steps.map(\.state) == [.current, .locked, .locked])
            #expect(fresh.steps[1].text == nil, "a locked step's text stays hidden")
            #expect(fresh.steps.map(\.hasCheck) == [false, true, true])
            #expect(fresh.steps.map(\.hintsAvailable) == [0, 2, 1])

            let instance = try await Self.running(harness, "lab-three", for: ada)
            let intro = try await labs.check(instance, by: ada)
            #expect(intro.check.step == "intro" && intro.check.outcome.status == .passed)
            #expect(intro.progress.currentStep == "write")
            #expect(await checks.runs.isEmpty, "a step without a check runs no script")

            await checks.answer("check-write", with: failedGreeting)
            let failed = try await labs.check(instance, by: ada)
            #expect(failed.check.step == "write" && failed.check.outcome == failedGreeting)
            #expect(failed.progress.currentStep == "write")
            #expect(failed.progress.lastCheck?.id == failed.check.id && failed.progress.lastCheck?.outcome == failed.check.outcome)
            #expect(failed.progress.steps.map(\.state) == [.passed, .current, .locked])

            let passed = try await labs.check(instance, by: ada)
            #expect(passed.check.outcome.status == .passed)
            #expect(passed.progress.currentStep == "run")
            #expect(passed.progress.steps.map(\.state) == [.passed, .passed, .current])
            #expect(passed.progress.steps[1].passedAt != nil && passed.progress.steps[2].text == "Run the script.")
            #expect(await checks.runs.map(\.script) == ["check-write", "check-write"])
            #expect(await checks.runs.allSatisfy { $0.instanceID == instance.id })
            let stored = try await harness.services.store.labs.labChecks(LabCheckQuery(owner: Owner(kind: .user, id: ada.id)))
            #expect(stored.map(\.outcome.status) == [.passed, .failed, .passed])
        }
    }

    @Test("passing the last step completes the lab and scores a solve once; checks after that change nothing")
    func lastStepAwardsOnce() async throws {
        try await APIHarness.with(specs: [threeStepLab()], labChecks: FakeLabChecks()) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let instance = try await Self.running(harness, "lab-three", for: ada)
            for _ in 0..<3 { _ = try await labs.check(instance, by: ada) }
            let done = try await labs.progress(environment: "lab-three", for: ada)
            #expect(done.currentStep == nil && done.completedAt != nil)
            #expect(done.steps.allSatisfy { $0.state == .passed })
            let solves = try await harness.services.store.play.solves(environment: "lab-three")
            #expect(solves.map(\.scorer) == [Owner(kind: .user, id: ada.id)])

            let again = try await labs.check(instance, by: ada)
            #expect(again.check.step == "run", "a completed lab re-checks its last step")
            #expect(again.progress.completedAt == done.completedAt)
            #expect(try await harness.services.store.play.solves(environment: "lab-three").count == 1)
            let board = try await harness.services.scores.scoreboard()
            #expect(board.entries.first?.points == 100)
        }
    }

    @Test("a lab that does not award points, or has no value, completes without a solve")
    func noPoints() async throws {
        try await APIHarness.with(specs: [threeStepLab(slug: "lab-free", awardsPoints: false), threeStepLab(slug: "lab-novalue", value: nil)], labChecks: FakeLabChecks()) { harness in
            let ada = try await Self.user(harness, "ada")
            for slug in ["lab-free", "lab-novalue"] {
                let instance = try await Self.running(harness, slug, for: ada)
                try await Self.passAll(harness, instance, ada)
                #expect(try await harness.services.labs.progress(environment: slug, for: ada).completedAt != nil)
                #expect(try await harness.services.store.play.solves(environment: slug).isEmpty)
            }
        }
    }

    static func passAll(_ harness: APIHarness, _ instance: Instance, _ user: User) async throws {
        for _ in 0..<3 { _ = try await harness.services.labs.check(instance, by: user) }
    }

    @Test("check_error is stored with its operator detail and changes nothing")
    func checkErrorChangesNothing() async throws {
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab()], labChecks: checks) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let instance = try await Self.running(harness, "lab-three", for: ada)
            _ = try await labs.check(instance, by: ada)
            let before = try await harness.services.store.labs.labProgress(owner: Owner(kind: .user, id: ada.id), environment: "lab-three")
            await checks.answer("check-write", with: CheckOutcome(status: .checkError, durationMilliseconds: 60_000, operatorDetail: "timed out after 60 s"))
            let result = try await labs.check(instance, by: ada)
            #expect(result.check.outcome.status == .checkError)
            #expect(result.progress.currentStep == "write")
            #expect(try await harness.services.store.labs.labProgress(owner: Owner(kind: .user, id: ada.id), environment: "lab-three") == before)
            let stored = try await harness.services.store.labs.labChecks(LabCheckQuery(owner: Owner(kind: .user, id: ada.id), limit: 1))
            #expect(stored.first?.outcome.operatorDetail == "timed out after 60 s")
        }
    }

    @Test("one check at a time per owner: a second one while the first runs is 409 check_in_progress; another owner is not held up")
    func concurrentChecks() async throws {
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab()], labChecks: checks) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let bob = try await Self.user(harness, "bob")
            let adas = try await Self.running(harness, "lab-three", for: ada)
            let bobs = try await Self.running(harness, "lab-three", for: bob)
            _ = try await labs.check(adas, by: ada)
            _ = try await labs.check(bobs, by: bob)
            await checks.hold()
            async let first = labs.check(adas, by: ada)
            while await checks.heldCount < 1 { try await Task.sleep(for: .milliseconds(5)) }
            let second = await #expect(throws: BerthError.self) { try await labs.check(adas, by: ada) }
            #expect(second?.code == .checkInProgress)
            async let bobsCheck = labs.check(bobs, by: bob)
            while await checks.heldCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
            await checks.release()
            #expect(try await first.progress.currentStep == "run")
            #expect(try await bobsCheck.progress.currentStep == "run")
            #expect(try await labs.check(adas, by: ada).progress.completedAt != nil, "the owner may check again once the first ended")
        }
    }

    @Test("hints: authored in order, asked with the step, its last failures and the secrets to redact; limited per user with the seconds to wait")
    func hints() async throws {
        let advisor = FakeLabHints()
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab()], policy: { _ in }, labChecks: checks, labHints: advisor) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let instance = try await Self.running(harness, "lab-three", for: ada)
            _ = try await labs.check(instance, by: ada)
            await checks.answer("check-write", with: failedGreeting)
            _ = try await labs.check(instance, by: ada)

            let first = try await labs.hint(instance, by: ada)
            #expect(first.step == "write" && first.hint.source == .authored && first.hint.text == "Use the editor." && first.hintsLeft == 1)
            let request = try #require(await advisor.requests.first)
            #expect(request.step.id == "write" && request.failures == failedGreeting.failures && request.authoredHintsGiven == 0)
            #expect(request.environmentName == "Three steps")
            #expect(request.secrets == ["berth{lab-static}"], "the static flag goes along only to be redacted")

            let second = try await labs.hint(instance, by: ada)
            #expect(second.hint.authoredIndex == 1 && second.hintsLeft == 0)
            await advisor.answerAI("Look at the path.")
            let ai = try await labs.hint(instance, by: ada)
            #expect(ai.hint.source == .ai && ai.hintsLeft == 0)
            await advisor.answerAI(nil)
            let none = try await labs.hint(instance, by: ada)
            #expect(none.hint.source == .none)

            let view = try await labs.progress(environment: "lab-three", for: ada)
            #expect(view.steps[1].hintsGiven == 3, "authored and AI hints count, an empty answer does not")
            let stored = try await harness.services.store.labs.labHints(owner: Owner(kind: .user, id: ada.id), environment: "lab-three")
            #expect(stored.map(\.source) == [.authored, .authored, .ai, .none])
            #expect(stored.map(\.authoredIndex) == [0, 1, nil, nil])

            // The default limit is 5 a minute per user: the fifth passes, the sixth waits.
            _ = try await labs.hint(instance, by: ada)
            let limited = await #expect(throws: BerthError.self) { try await labs.hint(instance, by: ada) }
            #expect(limited?.code == .tooManyHints)
            #expect((limited?.retryAfterSeconds ?? 0) >= 1 && (limited?.retryAfterSeconds ?? 0) <= 60)
            let bob = try await Self.user(harness, "bob")
            let bobs = try await Self.running(harness, "lab-three", for: bob)
            #expect(try await labs.hint(bobs, by: bob).step == "intro", "the limit is per user")
        }
    }

    @Test("team mode: members share one progress; a team member's pass moves the whole team")
    func teamMode() async throws {
        try await APIHarness.with(specs: [threeStepLab()], policy: { $0.assignment = .team }, labChecks: FakeLabChecks()) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let bob = try await Self.user(harness, "bob")
            let team = try await harness.services.accounts.createTeam(name: "crew")
            try await harness.services.accounts.addMember(teamID: team.id, userID: ada.id)
            try await harness.services.accounts.addMember(teamID: team.id, userID: bob.id)
            let instance = try await Self.running(harness, "lab-three", for: ada)
            #expect(instance.owner == Owner(kind: .team, id: team.id))
            _ = try await labs.check(instance, by: ada)
            _ = try await labs.check(instance, by: bob)
            let bobsView = try await labs.progress(environment: "lab-three", for: bob)
            #expect(bobsView.currentStep == "run")
            // The same progress, compared without the seconds spent, which the real clock moves between the two reads.
            let adasView = try await labs.progress(environment: "lab-three", for: ada)
            let summary = { (view: LabProgress.View) in view.steps.map { "\($0.id) \($0.state) \(String(describing: $0.passedAt))" } }
            #expect(adasView.currentStep == bobsView.currentStep && adasView.lastCheck == bobsView.lastCheck)
            #expect(summary(adasView) == summary(bobsView))
            _ = try await labs.check(instance, by: bob)
            #expect(try await harness.services.store.play.solves(environment: "lab-three").map(\.scorer) == [Owner(kind: .team, id: team.id)])
        }
    }

    @Test("progress survives a reset of the instance and a new instance after it ended")
    func survivesReset() async throws {
        try await APIHarness.with(specs: [threeStepLab()], labChecks: FakeLabChecks()) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let instance = try await Self.running(harness, "lab-three", for: ada)
            _ = try await labs.check(instance, by: ada)
            let reset = try await harness.services.lifecycle.reset(instance.id, by: ada)
            #expect(try await labs.check(reset, by: ada).progress.currentStep == "run")
            _ = try await harness.services.lifecycle.stop(instance.id, by: ada)
            let next = try await Self.running(harness, "lab-three", for: ada)
            #expect(next.id != instance.id)
            #expect(try await labs.progress(environment: "lab-three", for: ada).currentStep == "run")
            #expect(try await labs.check(next, by: ada).progress.completedAt != nil)
        }
    }

    @Test("the board: every owner's step, time on it, last failure on it, stuck after N minutes, filtered by lab")
    func board() async throws {
        let now = TestClock()
        let checks = FakeLabChecks()
        try await APIHarness.with(specs: [threeStepLab(), threeStepLab(slug: "lab-other")], clock: { now.now() }, labChecks: checks) { harness in
            let labs = harness.services.labs
            let ada = try await Self.user(harness, "ada")
            let bob = try await Self.user(harness, "bob")
            let adas = try await Self.running(harness, "lab-three", for: ada)
            _ = try await labs.check(adas, by: ada)
            await checks.answer("check-write", with: failedGreeting)
            _ = try await labs.check(adas, by: ada)
            now.advance(seconds: 20 * 60)
            let bobs = try await Self.running(harness, "lab-three", for: bob)
            _ = try await labs.check(bobs, by: bob)
            _ = try await labs.progress(environment: "lab-other", for: bob)
            now.advance(seconds: 60)

            let rows = try await labs.board(environment: "lab-three")
            #expect(rows.map(\.ownerName) == ["ada", "bob"])
            let adaRow = try #require(rows.first)
            #expect(adaRow.step == "write" && adaRow.stepTitle == "Write a file" && adaRow.stepIndex == 1 && adaRow.stepCount == 3)
            #expect(adaRow.timeOnStepSeconds == 21 * 60 && adaRow.stuck)
            #expect(adaRow.lastFailure == "greeting.txt is missing")
            #expect(rows[1].stuck == false && rows[1].lastFailure == nil && rows[1].timeOnStepSeconds == 60)
            #expect(try await labs.board(environment: "lab-three", stuckAfterMinutes: 30).allSatisfy { !$0.stuck })
            #expect(try await labs.board(environment: nil).count == 3)
            let invalid = await #expect(throws: BerthError.self) { try await labs.board(environment: nil, stuckAfterMinutes: 0) }
            #expect(invalid?.code == .invalidQuery)
        }
    }

    @Test("an environment that is not a lab is 422 not_a_lab")
    func notALab() async throws {
        try await APIHarness.with(specs: [EnvironmentSpec(slug: "plain", name: "Plain")]) { harness in
            let ada = try await Self.user(harness, "ada")
            let error = await #expect(throws: BerthError.self) { try await harness.services.labs.progress(environment: "plain", for: ada) }
            #expect(error?.code == .notALab)
        }
    }
}
