import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

@Suite("PlayRepository: settings, submissions, solves and hint unlocks")
struct PlayRepositoryTests {
    typealias F = PlayFixtures

    static func submission(
        _ id: String, scorer: Owner = F.ada, userID: String = "usr_ada", environment: String = "web", outcome: SubmissionOutcome = .incorrect,
        offset: TimeInterval = 0
    ) -> SubmissionRecord {
        SubmissionRecord(
            id: id, time: F.epoch.addingTimeInterval(offset), userID: userID, scorer: scorer, environment: environment, submitted: "flag{\(id)}",
            outcome: outcome
        )
    }

    static func solve(_ scorer: Owner = F.ada, userID: String = "usr_ada", environment: String = "web", offset: TimeInterval = 0) -> SolveRecord {
        SolveRecord(scorer: scorer, environment: environment, userID: userID, time: F.epoch.addingTimeInterval(offset))
    }

    @Test("settings are stored, replaced and removed; values keep quotes, unicode and length", arguments: StoreBackend.enabled)
    func settings(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            #expect(try await db.play.settings().isEmpty)
            try await db.play.setSetting(key: "event.name", value: "Spring CTF")
            try await db.play.setSetting(key: "event.ends", value: "2026-12-01T00:00:00Z")
            try await db.play.setSetting(key: "event.name", value: F.awkward)
            try await db.play.setSetting(key: "event.ends", value: nil)
            try await db.play.setSetting(key: "never.set", value: nil)
            #expect(try await db.play.settings() == ["event.name": F.awkward])
            #expect(try await db.play.settings() == ["event.name": F.awkward])
        }
    }

    @Test("submissions keep every field and filter by environment, scorer, user and outcome, newest first; a taken id is submission_exists",
          arguments: StoreBackend.enabled)
    func submissions(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            var shared = Self.submission("sub_1", scorer: F.crew, userID: "usr_bob", outcome: .shared, offset: 1)
            shared.sharedFromInstance = "inst_9"
            shared.sharedFromOwner = Owner(kind: .team, id: "team_other")
            shared.clientIP = "2001:db8::1"
            shared.submitted = F.awkward
            try await db.play.insertSubmission(shared)
            try await db.play.insertSubmission(Self.submission("sub_2", offset: 2))
            try await db.play.insertSubmission(Self.submission("sub_3", outcome: .correct, offset: 3))
            try await db.play.insertSubmission(Self.submission("sub_4", environment: "crypto", outcome: .rateLimited, offset: 4))
            try await db.play.insertSubmission(Self.submission("sub_5", environment: "it's \"web\" ☃", offset: 5))

            let all = try await db.play.submissions(SubmissionQuery())
            #expect(all.map(\.id) == ["sub_5", "sub_4", "sub_3", "sub_2", "sub_1"])
            #expect(all.last == shared)
            #expect(try await db.play.submissions(SubmissionQuery(environment: "web")).map(\.id) == ["sub_3", "sub_2", "sub_1"])
            #expect(try await db.play.submissions(SubmissionQuery(environment: "it's \"web\" ☃")).map(\.id) == ["sub_5"])
            #expect(try await db.play.submissions(SubmissionQuery(scorer: F.crew)).map(\.id) == ["sub_1"])
            #expect(try await db.play.submissions(SubmissionQuery(scorer: Owner(kind: .team, id: "usr_ada"))).isEmpty)
            #expect(try await db.play.submissions(SubmissionQuery(userID: "usr_ada")).count == 4)
            #expect(try await db.play.submissions(SubmissionQuery(outcomes: [.shared, .correct])).map(\.id) == ["sub_3", "sub_1"])
            #expect(try await db.play.submissions(SubmissionQuery(environment: "web", userID: "usr_ada", outcomes: [.incorrect])).map(\.id) == ["sub_2"])
            #expect(try await db.play.submissions(SubmissionQuery(limit: 2)).map(\.id) == ["sub_5", "sub_4"])
            #expect(try await db.play.submissions(SubmissionQuery(limit: 0)).count == 1)

            let taken = await #expect(throws: BerthError.self) { try await db.play.insertSubmission(Self.submission("sub_2", offset: 9)) }
            #expect(taken?.code == .submissionExists)
            #expect(taken?.message == "Submission sub_2 already exists.")
            #expect(try await db.play.submissions(SubmissionQuery(environment: "web")).count == 3)
        }
    }

    @Test("a solve is recorded once per scorer and environment; the first one stays", arguments: StoreBackend.enabled)
    func solves(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let new = try await db.play.insertSolve(Self.solve(offset: 10))
            #expect(new)
            #expect(try await db.play.insertSolve(Self.solve(userID: "usr_other", offset: 20)) == false)
            #expect(try await db.play.insertSolve(Self.solve(F.crew, userID: "usr_bob", offset: 5)))
            #expect(try await db.play.insertSolve(Self.solve(environment: "crypto", offset: 30)))
            #expect(try await db.play.solves(environment: nil) == [
                Self.solve(F.crew, userID: "usr_bob", offset: 5), Self.solve(offset: 10), Self.solve(environment: "crypto", offset: 30),
            ])
            #expect(try await db.play.solves(environment: "web").map(\.scorer) == [F.crew, F.ada])
            #expect(try await db.play.solves(environment: "nothing").isEmpty)
        }
    }

    @Test("a hint is unlocked once per scorer, environment and hint; unlocks list oldest first, by scorer", arguments: StoreBackend.enabled)
    func hintUnlocks(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let first = HintUnlockRecord(scorer: F.crew, environment: "web", hint: 0, userID: "usr_bob", cost: 25, time: F.epoch.addingTimeInterval(2))
            let second = HintUnlockRecord(scorer: F.crew, environment: "web", hint: 1, userID: "usr_ada", cost: 50, time: F.epoch.addingTimeInterval(3))
            let mine = HintUnlockRecord(scorer: F.ada, environment: "web", hint: 0, userID: "usr_ada", cost: 25, time: F.epoch.addingTimeInterval(1))
            let new = try await db.play.insertHintUnlock(second)
            #expect(new)
            #expect(try await db.play.insertHintUnlock(first))
            #expect(try await db.play.insertHintUnlock(mine))
            var again = first
            again.cost = 999
            #expect(try await db.play.insertHintUnlock(again) == false)
            #expect(try await db.play.hintUnlocks(scorer: F.crew) == [first, second])
            #expect(try await db.play.hintUnlocks(scorer: nil) == [mine, first, second])
            #expect(try await db.play.hintUnlocks(scorer: Owner(kind: .user, id: "usr_nobody")).isEmpty)
        }
    }

    @Test("recordSubmission stores a wrong flag alone, a first right flag with its solve, and a second right flag as already_solved",
          arguments: StoreBackend.enabled)
    func recordSubmission(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            #expect(try await db.play.recordSubmission(Self.submission("sub_1", scorer: F.crew, userID: "usr_bob", offset: 1), solve: nil) == false)
            #expect(try await db.play.solves(environment: "web").isEmpty)

            let right = Self.submission("sub_2", scorer: F.crew, userID: "usr_bob", outcome: .correct, offset: 2)
            #expect(try await db.play.recordSubmission(right, solve: Self.solve(F.crew, userID: "usr_bob", offset: 2)))

            let again = Self.submission("sub_3", scorer: F.crew, userID: "usr_ada", outcome: .correct, offset: 3)
            #expect(try await db.play.recordSubmission(again, solve: Self.solve(F.crew, userID: "usr_ada", offset: 3)) == false)

            #expect(try await db.play.solves(environment: "web") == [Self.solve(F.crew, userID: "usr_bob", offset: 2)])
            let stored = try await db.play.submissions(SubmissionQuery(scorer: F.crew))
            #expect(stored.map(\.id) == ["sub_3", "sub_2", "sub_1"])
            #expect(stored.map(\.outcome) == [.alreadySolved, .correct, .incorrect])
        }
    }

    @Test("team members sending the right flag at once: one solve, one true, the others already_solved", arguments: StoreBackend.enabled)
    func concurrentSolves(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
                for member in 0..<12 {
                    group.addTask {
                        try await db.play.recordSubmission(
                            Self.submission("sub_\(member)", scorer: F.crew, userID: "usr_\(member)", outcome: .correct, offset: Double(member)),
                            solve: Self.solve(F.crew, userID: "usr_\(member)", offset: Double(member))
                        )
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(answers.filter { $0 }.count == 1)
            #expect(try await db.play.solves(environment: "web").count == 1)
            let outcomes = try await db.play.submissions(SubmissionQuery(scorer: F.crew)).map(\.outcome)
            #expect(outcomes.count == 12)
            #expect(outcomes.filter { $0 == .correct }.count == 1 && outcomes.filter { $0 == .alreadySolved }.count == 11)
        }
    }

    @Test("recordSubmission stores both rows or neither: a taken submission id or a failing insert undoes the solve",
          arguments: StoreBackend.enabled)
    func recordSubmissionRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let first = Self.submission("sub_1", outcome: .incorrect, offset: 1)
            try await db.play.insertSubmission(first)

            // The solve is written first, then the submission fails on its taken id.
            let taken = await #expect(throws: BerthError.self) {
                try await db.play.recordSubmission(Self.submission("sub_1", outcome: .correct, offset: 2), solve: Self.solve(offset: 2))
            }
            #expect(taken?.code == .submissionExists)
            #expect(try await db.play.solves(environment: nil).isEmpty)
            #expect(try await db.play.submissions(SubmissionQuery()) == [first])

            // The submission's insert fails after the solve's succeeded (its table is gone).
            try await F.execute(db, "ALTER TABLE submissions RENAME TO submissions_away")
            await #expect(throws: BerthError.self) {
                try await db.play.recordSubmission(Self.submission("sub_2", outcome: .correct, offset: 3), solve: Self.solve(offset: 3))
            }
            try await F.execute(db, "ALTER TABLE submissions_away RENAME TO submissions")
            #expect(try await db.play.solves(environment: nil).isEmpty)

            // The solve's insert fails: the submission is not stored either.
            try await F.execute(db, "ALTER TABLE solves RENAME TO solves_away")
            await #expect(throws: BerthError.self) {
                try await db.play.recordSubmission(Self.submission("sub_3", outcome: .correct, offset: 4), solve: Self.solve(offset: 4))
            }
            try await F.execute(db, "ALTER TABLE solves_away RENAME TO solves")
            #expect(try await db.play.submissions(SubmissionQuery()) == [first])

            // Inside an outer transaction it joins it: a later failure undoes it too.
            await #expect(throws: BerthError.self) {
                try await db.withTransaction { tx in
                    #expect(try await tx.play.recordSubmission(Self.submission("sub_4", outcome: .correct, offset: 5), solve: Self.solve(offset: 5)))
                    try await tx.play.insertSubmission(first)
                }
            }
            #expect(try await db.play.solves(environment: nil).isEmpty)
            #expect(try await db.play.submissions(SubmissionQuery()) == [first])

            #expect(try await db.play.recordSubmission(Self.submission("sub_5", outcome: .correct, offset: 6), solve: Self.solve(offset: 6)))
            #expect(try await db.play.submissions(SubmissionQuery()).map(\.id) == ["sub_5", "sub_1"])
        }
    }

    @Test("a setting that does not decode is store_row_invalid naming its key, never dropped", arguments: StoreBackend.enabled)
    func invalidSetting(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.play.setSetting(key: "event.name", value: "Spring CTF")
            try await db.play.setSetting(key: "theme", value: "dark")
            switch db.dialect {
            case .sqlite:
                try await F.execute(db, "UPDATE settings SET value = X'FF' WHERE key = 'theme'")
            case .postgres:
                try await F.execute(db, "ALTER TABLE settings ALTER COLUMN value DROP NOT NULL", "UPDATE settings SET value = NULL WHERE key = 'theme'")
            }
            let error = await #expect(throws: BerthError.self) { try await db.play.settings() }
            #expect(error?.code == .storeRowInvalid)
            #expect(error?.message.contains("settings(theme)") == true)
        }
    }

    @Test("a submission, solve or hint unlock that does not decode is store_row_invalid naming the row and column", arguments: StoreBackend.enabled)
    func invalidRows(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.play.insertSubmission(Self.submission("sub_1"))
            try await db.play.insertSubmission(Self.submission("sub_2", offset: 1))
            _ = try await db.play.insertSolve(Self.solve())
            _ = try await db.play.insertHintUnlock(HintUnlockRecord(scorer: F.ada, environment: "web", hint: 2, userID: "usr_ada", cost: 5, time: F.epoch))

            try await F.execute(db, "UPDATE submissions SET outcome = 'maybe' WHERE id = 'sub_1'")
            let outcome = await #expect(throws: BerthError.self) { try await db.play.submissions(SubmissionQuery()) }
            #expect(outcome?.code == .storeRowInvalid)
            #expect(outcome?.message.contains("submissions(sub_1) has an invalid 'outcome'") == true)

            try await F.execute(db, "UPDATE submissions SET outcome = 'incorrect', shared_from_owner = 'nobody' WHERE id = 'sub_1'")
            let owner = await #expect(throws: BerthError.self) { try await db.play.submissions(SubmissionQuery()) }
            #expect(owner?.message.contains("submissions(sub_1) has an invalid 'shared_from_owner'") == true)

            try await F.execute(db, "UPDATE solves SET scorer_kind = 'robot'")
            let solve = await #expect(throws: BerthError.self) { try await db.play.solves(environment: nil) }
            #expect(solve?.code == .storeRowInvalid)
            #expect(solve?.message.contains("solves(robot, usr_ada, web) has an invalid 'scorer_kind'") == true)

            try await F.execute(db, "UPDATE hint_unlocks SET scorer_kind = 'robot'")
            let unlock = await #expect(throws: BerthError.self) { try await db.play.hintUnlocks(scorer: nil) }
            #expect(unlock?.message.contains("hint_unlocks(robot, usr_ada, web, 2) has an invalid 'scorer_kind'") == true)
        }
    }
}
