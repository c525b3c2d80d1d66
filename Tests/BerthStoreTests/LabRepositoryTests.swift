import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

@Suite("LabRepository: progress, checks and hints")
struct LabRepositoryTests {
    typealias F = PlayFixtures

    static func progress(_ owner: Owner, environment: String = "lab-one", offset: TimeInterval = 0) -> LabProgressRecord {
        let start = F.epoch.addingTimeInterval(offset)
        return LabProgressRecord(
            owner: owner, environment: environment, currentStep: "two",
            steps: [LabStepRecord(id: "one", startedAt: start, passedAt: start.addingTimeInterval(90)), LabStepRecord(id: "two", startedAt: start.addingTimeInterval(90))],
            startedAt: start, updatedAt: start.addingTimeInterval(90)
        )
    }

    static func check(_ id: String, owner: Owner, status: CheckOutcome.Status, offset: TimeInterval, environment: String = "lab-one") -> LabCheckRecord {
        LabCheckRecord(
            id: id, owner: owner, environment: environment, userID: "usr_ada", instanceID: "inst_1", step: "two",
            outcome: CheckOutcome(
                status: status, failures: status == .failed ? [CheckFailure(code: "missing", message: "FAIL \(id)", hint: "look at greeting.txt")] : [],
                metrics: ["files": 2, "ratio": 0.5], notes: ["note \(id)"], exitCode: status == .checkError ? nil : (status == .passed ? 0 : 1),
                durationMilliseconds: 42, operatorDetail: status == .checkError ? "timeout after 60 s" : nil
            ),
            time: F.epoch.addingTimeInterval(offset)
        )
    }

    static func hint(_ id: String, owner: Owner = F.crew, source: LabHint.Source, index: Int?, offset: TimeInterval) -> LabHintRecord {
        LabHintRecord(
            id: id, owner: owner, environment: "lab-one", userID: "usr_ada", instanceID: "inst_1", step: "one", source: source,
            authoredIndex: index, time: F.epoch.addingTimeInterval(offset)
        )
    }

    @Test("progress is saved, replaced and listed per owner and lab; a completed lab has no current step", arguments: StoreBackend.enabled)
    func progressRoundTrip(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            #expect(try await db.labs.labProgress(owner: F.ada, environment: "lab-one") == nil)
            let first = Self.progress(F.ada)
            try await db.labs.saveLabProgress(first)
            #expect(try await db.labs.labProgress(owner: F.ada, environment: "lab-one") == first)

            var done = first
            done.currentStep = nil
            done.steps[1].passedAt = F.epoch.addingTimeInterval(300)
            done.completedAt = F.epoch.addingTimeInterval(300)
            done.updatedAt = F.epoch.addingTimeInterval(300)
            try await db.labs.saveLabProgress(done)
            #expect(try await db.labs.labProgress(owner: F.ada, environment: "lab-one") == done)
            #expect(done.steps[1].secondsSpent(now: .distantFuture) == 210)

            try await db.labs.saveLabProgress(Self.progress(F.crew, offset: 10))
            try await db.labs.saveLabProgress(Self.progress(F.crew, environment: "lab-two", offset: 20))
            #expect(try await db.labs.labProgress(environment: "lab-one").map(\.owner) == [F.ada, F.crew])
            #expect(try await db.labs.labProgress(environment: nil).count == 3)
            #expect(try await db.labs.labProgress(environment: "lab-two").map(\.owner) == [F.crew])
        }
    }

    @Test("check results keep status, failures, metrics, notes, exit code, duration and operator detail; the newest per owner can be asked for",
          arguments: StoreBackend.enabled)
    func checks(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.labs.insertLabCheck(Self.check("chk_1", owner: F.ada, status: .failed, offset: 1))
            try await db.labs.insertLabCheck(Self.check("chk_2", owner: F.ada, status: .checkError, offset: 2))
            try await db.labs.insertLabCheck(Self.check("chk_3", owner: F.crew, status: .failed, offset: 3))
            try await db.labs.insertLabCheck(Self.check("chk_4", owner: F.crew, status: .passed, offset: 4))
            try await db.labs.insertLabCheck(Self.check("chk_5", owner: F.ada, status: .failed, offset: 5, environment: "lab-two"))

            let all = try await db.labs.labChecks(LabCheckQuery())
            #expect(all.map(\.id) == ["chk_5", "chk_4", "chk_3", "chk_2", "chk_1"])
            #expect(all.last == Self.check("chk_1", owner: F.ada, status: .failed, offset: 1))
            #expect(try await db.labs.labChecks(LabCheckQuery(owner: F.ada, environment: "lab-one")).map(\.id) == ["chk_2", "chk_1"])
            #expect(try await db.labs.labChecks(LabCheckQuery(owner: F.ada, environment: "lab-one")).first?.outcome.operatorDetail == "timeout after 60 s")

            let latest = try await db.labs.labChecks(LabCheckQuery(environment: "lab-one", latestPerOwner: true))
            #expect(latest.map(\.id) == ["chk_4", "chk_2"])
            let lastFailures = try await db.labs.labChecks(LabCheckQuery(statuses: [.failed], latestPerOwner: true))
            #expect(lastFailures.map(\.id) == ["chk_5", "chk_3", "chk_1"])
            #expect(try await db.labs.labChecks(LabCheckQuery(statuses: [.passed, .checkError])).map(\.id) == ["chk_4", "chk_2"])
            #expect(try await db.labs.labChecks(LabCheckQuery(limit: 2)).count == 2)
            #expect(try await db.labs.labChecks(LabCheckQuery(latestPerOwner: true, limit: 1)).map(\.id) == ["chk_5"])

            let taken = await #expect(throws: BerthError.self) {
                try await db.labs.insertLabCheck(Self.check("chk_1", owner: F.crew, status: .passed, offset: 9))
            }
            #expect(taken?.code == .internalError)
            #expect(taken?.message == "Check result chk_1 already exists.")
        }
    }

    @Test("hints are recorded with their source and authored index, oldest first; a taken id is refused", arguments: StoreBackend.enabled)
    func hints(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let authored = Self.hint("lhint_1", source: .authored, index: 0, offset: 0)
            let ai = LabHintRecord(
                id: "lhint_2", owner: F.crew, environment: "lab-one", userID: "usr_bob", instanceID: "inst_2", step: "one", source: .ai,
                authoredIndex: nil, time: F.epoch.addingTimeInterval(5)
            )
            try await db.labs.insertLabHint(ai)
            try await db.labs.insertLabHint(authored)
            #expect(try await db.labs.labHints(owner: F.crew, environment: "lab-one") == [authored, ai])
            #expect(try await db.labs.labHints(owner: F.ada, environment: "lab-one").isEmpty)
            #expect(try await db.labs.labHints(owner: F.crew, environment: nil).count == 2)
            #expect(try await db.labs.labHints(owner: nil, environment: nil).count == 2)

            let taken = await #expect(throws: BerthError.self) { try await db.labs.insertLabHint(Self.hint("lhint_1", source: .none, index: nil, offset: 9)) }
            #expect(taken?.code == .internalError)
            #expect(taken?.message == "Hint record lhint_1 already exists.")
        }
    }

    @Test("step ids, notes, failures and operator detail keep quotes, unicode and length", arguments: StoreBackend.enabled)
    func awkwardText(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let environment = "lab 'one' \"☃\""
            var progress = Self.progress(F.ada, environment: environment)
            progress.steps[0].id = F.awkward
            progress.currentStep = F.awkward
            try await db.labs.saveLabProgress(progress)
            #expect(try await db.labs.labProgress(owner: F.ada, environment: environment) == progress)

            var check = Self.check("chk_'1'", owner: F.ada, status: .failed, offset: 1, environment: environment)
            check.outcome.failures = [CheckFailure(code: "q'uote", message: F.awkward, hint: "\"hint\" 🚩")]
            check.outcome.notes = [F.awkward, "", "\\n"]
            check.outcome.metrics = ["déjà vu": -1.5, "n'": 1e300]
            check.outcome.operatorDetail = F.awkward
            try await db.labs.insertLabCheck(check)
            #expect(try await db.labs.labChecks(LabCheckQuery(environment: environment)) == [check])
        }
    }

    @Test("a transaction over progress, checks and hints is undone whole when a later write fails", arguments: StoreBackend.enabled)
    func transactionRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.labs.insertLabCheck(Self.check("chk_1", owner: F.ada, status: .failed, offset: 1))
            let error = await #expect(throws: BerthError.self) {
                try await db.labs.withTransaction { labs in
                    try await labs.saveLabProgress(Self.progress(F.ada))
                    try await labs.insertLabHint(Self.hint("lhint_1", owner: F.ada, source: .authored, index: 0, offset: 2))
                    try await labs.insertLabCheck(Self.check("chk_1", owner: F.ada, status: .passed, offset: 3))
                }
            }
            #expect(error?.code == .internalError)
            #expect(try await db.labs.labProgress(environment: nil).isEmpty)
            #expect(try await db.labs.labHints(owner: nil, environment: nil).isEmpty)
            #expect(try await db.labs.labChecks(LabCheckQuery()).map(\.outcome.status) == [.failed])

            // The same writes without the failing one commit together.
            try await db.withTransaction { tx in
                try await tx.labs.saveLabProgress(Self.progress(F.ada))
                try await tx.labs.insertLabHint(Self.hint("lhint_1", owner: F.ada, source: .authored, index: 0, offset: 2))
            }
            #expect(try await db.labs.labProgress(environment: nil).count == 1)
            #expect(try await db.labs.labHints(owner: F.ada, environment: nil).count == 1)
        }
    }

    @Test("progress, checks and hints survive closing and reopening the database", arguments: StoreBackend.enabled)
    func survivesRestart(_ backend: StoreBackend) async throws {
        try await F.withStorage(backend) { url in
            let first = try await F.open(url)
            let progress = Self.progress(F.ada)
            let check = Self.check("chk_1", owner: F.ada, status: .failed, offset: 1)
            let hint = Self.hint("lhint_1", source: .ai, index: nil, offset: 2)
            do {
                try await first.labs.saveLabProgress(progress)
                try await first.labs.insertLabCheck(check)
                try await first.labs.insertLabHint(hint)
                try await first.close()
            } catch {
                try? await first.close()
                throw error
            }

            let second = try await F.open(url)
            do {
                #expect(try await second.appliedMigrations().contains("0005_labs"))
                #expect(try await second.labs.labProgress(owner: F.ada, environment: "lab-one") == progress)
                #expect(try await second.labs.labChecks(LabCheckQuery(owner: F.ada)) == [check])
                #expect(try await second.labs.labHints(owner: nil, environment: nil) == [hint])
                try await second.close()
            } catch {
                try? await second.close()
                throw error
            }
        }
    }

    @Test("a progress, check or hint row that does not decode is store_row_invalid naming the row and column, never dropped",
          arguments: StoreBackend.enabled)
    func invalidRows(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.labs.saveLabProgress(Self.progress(F.ada))
            try await db.labs.saveLabProgress(Self.progress(F.crew, offset: 5))
            try await db.labs.insertLabCheck(Self.check("chk_1", owner: F.ada, status: .failed, offset: 1))
            try await db.labs.insertLabCheck(Self.check("chk_2", owner: F.crew, status: .failed, offset: 2))
            try await db.labs.insertLabHint(Self.hint("lhint_1", source: .ai, index: nil, offset: 1))

            try await F.execute(db, "UPDATE lab_progress SET steps = 'not json' WHERE owner_id = 'usr_ada'")
            let steps = await #expect(throws: BerthError.self) { try await db.labs.labProgress(environment: nil) }
            #expect(steps?.code == .storeRowInvalid)
            #expect(steps?.message.contains("lab_progress(user, usr_ada, lab-one) has an invalid 'steps'") == true)
            let one = await #expect(throws: BerthError.self) { try await db.labs.labProgress(owner: F.ada, environment: "lab-one") }
            #expect(one?.code == .storeRowInvalid)
            #expect(try await db.labs.labProgress(owner: F.crew, environment: "lab-one") != nil)

            try await F.execute(db, "UPDATE lab_progress SET steps = '[]', owner_kind = 'robot' WHERE owner_id = 'usr_ada'")
            let kind = await #expect(throws: BerthError.self) { try await db.labs.labProgress(environment: "lab-one") }
            #expect(kind?.message.contains("lab_progress(robot, usr_ada, lab-one) has an invalid 'owner_kind'") == true)

            try await F.execute(db, "UPDATE lab_checks SET status = 'maybe' WHERE id = 'chk_1'")
            let status = await #expect(throws: BerthError.self) { try await db.labs.labChecks(LabCheckQuery()) }
            #expect(status?.code == .storeRowInvalid)
            #expect(status?.message.contains("lab_checks(chk_1) has an invalid 'status'") == true)
            let latest = await #expect(throws: BerthError.self) { try await db.labs.labChecks(LabCheckQuery(latestPerOwner: true)) }
            #expect(latest?.code == .storeRowInvalid)

            try await F.execute(db, "UPDATE lab_checks SET status = 'failed', metrics = '{\"files\": \"two\"}' WHERE id = 'chk_1'")
            let metrics = await #expect(throws: BerthError.self) { try await db.labs.labChecks(LabCheckQuery()) }
            #expect(metrics?.message.contains("lab_checks(chk_1) has an invalid 'metrics'") == true)

            try await F.execute(db, "UPDATE lab_hints SET source = 'oracle'")
            let source = await #expect(throws: BerthError.self) { try await db.labs.labHints(owner: nil, environment: nil) }
            #expect(source?.code == .storeRowInvalid)
            #expect(source?.message.contains("lab_hints(lhint_1) has an invalid 'source'") == true)
        }
    }
}
