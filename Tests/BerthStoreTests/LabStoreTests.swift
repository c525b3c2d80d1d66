import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import SQLiteNIO
import Testing

@Suite("SQLiteStore: labs")
struct LabStoreTests {
    static let ada = Owner(kind: .user, id: "usr_ada")
    static let crew = Owner(kind: .team, id: "team_crew")

    static func progress(_ owner: Owner, environment: String = "lab-one", offset: TimeInterval = 0) -> LabProgressRecord {
        let start = epoch.addingTimeInterval(offset)
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
            time: epoch.addingTimeInterval(offset)
        )
    }

    @Test("progress is saved, replaced and listed per owner and lab; a completed lab has no current step")
    func progressRoundTrip() async throws {
        try await withStore { store, _ in
            #expect(try await store.labProgress(owner: Self.ada, environment: "lab-one") == nil)
            let first = Self.progress(Self.ada)
            try await store.saveLabProgress(first)
            #expect(try await store.labProgress(owner: Self.ada, environment: "lab-one") == first)

            var done = first
            done.currentStep = nil
            done.steps[1].passedAt = epoch.addingTimeInterval(300)
            done.completedAt = epoch.addingTimeInterval(300)
            done.updatedAt = epoch.addingTimeInterval(300)
            try await store.saveLabProgress(done)
            #expect(try await store.labProgress(owner: Self.ada, environment: "lab-one") == done)
            #expect(done.steps[1].secondsSpent(now: .distantFuture) == 210)

            try await store.saveLabProgress(Self.progress(Self.crew, offset: 10))
            try await store.saveLabProgress(Self.progress(Self.crew, environment: "lab-two", offset: 20))
            #expect(try await store.labProgress(environment: "lab-one").map(\.owner) == [Self.ada, Self.crew])
            #expect(try await store.labProgress(environment: nil).count == 3)
            #expect(try await store.labProgress(environment: "lab-two").map(\.owner) == [Self.crew])
        }
    }

    @Test("check results keep status, failures, metrics, notes, exit code, duration and operator detail; the newest per owner can be asked for")
    func checks() async throws {
        try await withStore { store, _ in
            try await store.insertLabCheck(Self.check("chk_1", owner: Self.ada, status: .failed, offset: 1))
            try await store.insertLabCheck(Self.check("chk_2", owner: Self.ada, status: .checkError, offset: 2))
            try await store.insertLabCheck(Self.check("chk_3", owner: Self.crew, status: .failed, offset: 3))
            try await store.insertLabCheck(Self.check("chk_4", owner: Self.crew, status: .passed, offset: 4))
            try await store.insertLabCheck(Self.check("chk_5", owner: Self.ada, status: .failed, offset: 5, environment: "lab-two"))

            let all = try await store.labChecks(LabCheckQuery())
            #expect(all.map(\.id) == ["chk_5", "chk_4", "chk_3", "chk_2", "chk_1"])
            #expect(all.last == Self.check("chk_1", owner: Self.ada, status: .failed, offset: 1))
            #expect(try await store.labChecks(LabCheckQuery(owner: Self.ada, environment: "lab-one")).map(\.id) == ["chk_2", "chk_1"])
            #expect(try await store.labChecks(LabCheckQuery(owner: Self.ada, environment: "lab-one")).first?.outcome.operatorDetail == "timeout after 60 s")

            let latest = try await store.labChecks(LabCheckQuery(environment: "lab-one", latestPerOwner: true))
            #expect(latest.map(\.id) == ["chk_4", "chk_2"])
            let lastFailures = try await store.labChecks(LabCheckQuery(statuses: [.failed], latestPerOwner: true))
            #expect(lastFailures.map(\.id) == ["chk_5", "chk_3", "chk_1"])
            #expect(try await store.labChecks(LabCheckQuery(limit: 2)).count == 2)
        }
    }

    @Test("hints are recorded with their source and authored index, oldest first")
    func hints() async throws {
        try await withStore { store, _ in
            let authored = LabHintRecord(
                id: "lhint_1", owner: Self.crew, environment: "lab-one", userID: "usr_ada", instanceID: "inst_1", step: "one", source: .authored,
                authoredIndex: 0, time: epoch
            )
            let ai = LabHintRecord(
                id: "lhint_2", owner: Self.crew, environment: "lab-one", userID: "usr_bob", instanceID: "inst_2", step: "one", source: .ai,
                authoredIndex: nil, time: epoch.addingTimeInterval(5)
            )
            try await store.insertLabHint(ai)
            try await store.insertLabHint(authored)
            #expect(try await store.labHints(owner: Self.crew, environment: "lab-one") == [authored, ai])
            #expect(try await store.labHints(owner: Self.ada, environment: "lab-one").isEmpty)
            #expect(try await store.labHints(owner: nil, environment: nil).count == 2)
        }
    }

    @Test("progress, checks and hints survive closing and reopening the database file")
    func survivesRestart() async throws {
        try await TemporaryDirectory.with(prefix: "berth-store") { directory in
            let path = directory.path("berth.db").path
            let first = try await SQLiteStore.open(path: path)
            let progress = Self.progress(Self.ada)
            let check = Self.check("chk_1", owner: Self.ada, status: .failed, offset: 1)
            try await first.saveLabProgress(progress)
            try await first.insertLabCheck(check)
            try await first.close()

            let second = try await SQLiteStore.open(path: path)
            #expect(try await second.appliedMigrations().contains("0005_labs"))
            #expect(try await second.labProgress(owner: Self.ada, environment: "lab-one") == progress)
            #expect(try await second.labChecks(LabCheckQuery(owner: Self.ada)) == [check])
            try await second.close()
        }
    }

    @Test("a row that does not decode is an error naming the row and column, never dropped")
    func invalidRows() async throws {
        try await TemporaryDirectory.with(prefix: "berth-store") { directory in
            let path = directory.path("berth.db").path
            let store = try await SQLiteStore.open(path: path)
            try await store.saveLabProgress(Self.progress(Self.ada))
            try await store.insertLabCheck(Self.check("chk_1", owner: Self.ada, status: .failed, offset: 1))
            try await store.close()

            // Damage the rows behind the store's back, as a hand edit or a bad restore would.
            let logger = Logger(label: "test")
            let raw = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await raw.query("UPDATE lab_progress SET steps = 'not json'")
            _ = try await raw.query("UPDATE lab_checks SET status = 'maybe'")
            try await raw.close()

            let reopened = try await SQLiteStore.open(path: path)
            let progressError = await #expect(throws: BerthError.self) { try await reopened.labProgress(environment: nil) }
            #expect(progressError?.code == .storeRowInvalid)
            #expect(progressError?.message.contains("lab_progress(user:usr_ada, lab-one)") == true)
            #expect(progressError?.message.contains("'steps'") == true)
            let checkError = await #expect(throws: BerthError.self) { try await reopened.labChecks(LabCheckQuery()) }
            #expect(checkError?.message.contains("lab_checks(chk_1)") == true && checkError?.message.contains("'status'") == true)
            try await reopened.close()
        }
    }
}
