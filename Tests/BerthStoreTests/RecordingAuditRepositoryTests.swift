import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

@Suite("RecordingRepository on SQLite and PostgreSQL")
struct RecordingRepositoryTests {
    typealias F = InstanceFixtures

    static func recording(
        _ id: String, instanceID: String = "inst_1", environment: String = "shell", owner: Owner = Owner(kind: .user, id: "usr_a"),
        started: TimeInterval, ended: TimeInterval? = nil
    ) -> RecordingRecord {
        RecordingRecord(
            id: id, instanceID: instanceID, environment: environment, owner: owner, terminal: "main",
            path: "recordings/\(instanceID)/main-\(id).cast", startedAt: F.epoch.addingTimeInterval(started),
            endedAt: ended.map { F.epoch.addingTimeInterval($0) }
        )
    }

    @Test("recordings round-trip, can be finished, and a taken id or file is 409 recording_exists", arguments: StoreBackend.enabled)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.recordings
            let first = Self.recording("rec_1", started: 0.25)
            try await repository.insertRecording(first)
            #expect(try await repository.recording(id: "rec_1") == first)
            #expect(try await repository.recording(id: "rec_1")?.endedAt == nil)
            await expectBerthError(.recordingExists) { try await repository.insertRecording(first) }
            var samePath = Self.recording("rec_other", started: 1)
            samePath.path = first.path
            await expectBerthError(.recordingExists) { try await repository.insertRecording(samePath) }

            try await repository.finishRecording(id: "rec_1", endedAt: F.epoch.addingTimeInterval(500.5))
            #expect(try await repository.recording(id: "rec_1")?.endedAt == F.epoch.addingTimeInterval(500.5))
            try await repository.finishRecording(id: "rec_missing", endedAt: F.epoch)
            #expect(try await repository.recording(id: "rec_missing") == nil)

            // An already ended recording inserted as such, through the adapter.
            let ended = Self.recording("rec_2", started: 2, ended: 3)
            try await database.recordings.insertRecording(ended)
            #expect(try await database.recordings.recording(id: "rec_2") == ended)
        }
    }

    @Test("recordings are listed by instance, owner, environment and end time, newest first, limited", arguments: StoreBackend.enabled)
    func queries(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.recordings
            let alice = Owner(kind: .user, id: "usr_a")
            let teamA = Owner(kind: .team, id: "usr_a")
            let rows = [
                Self.recording("rec_1", instanceID: "inst_1", environment: "shell", owner: alice, started: 1, ended: 10),
                Self.recording("rec_2", instanceID: "inst_2", environment: "web", owner: teamA, started: 2, ended: 100),
                Self.recording("rec_3", instanceID: "inst_1", environment: "shell", owner: alice, started: 3),
                Self.recording("rec_4", instanceID: "inst_3", environment: "web", owner: alice, started: 4, ended: 50),
            ]
            for row in rows.shuffled() { try await repository.insertRecording(row) }

            #expect(try await repository.recordings(RecordingQuery()).map(\.id) == ["rec_4", "rec_3", "rec_2", "rec_1"])
            #expect(try await repository.recordings(RecordingQuery(instanceID: "inst_1")).map(\.id) == ["rec_3", "rec_1"])
            #expect(try await repository.recordings(RecordingQuery(owner: alice)).map(\.id) == ["rec_4", "rec_3", "rec_1"])
            #expect(try await repository.recordings(RecordingQuery(owner: teamA)).map(\.id) == ["rec_2"], "a team and a user with the same id differ")
            #expect(try await repository.recordings(RecordingQuery(environment: "web")).map(\.id) == ["rec_4", "rec_2"])
            #expect(try await repository.recordings(RecordingQuery(endedBefore: F.epoch.addingTimeInterval(50))).map(\.id) == ["rec_1"])
            #expect(try await repository.recordings(RecordingQuery(endedBefore: F.epoch.addingTimeInterval(51))).map(\.id) == ["rec_4", "rec_1"])
            #expect(
                try await repository.recordings(RecordingQuery(endedBefore: F.epoch.addingTimeInterval(1_000_000))).map(\.id) == ["rec_4", "rec_2", "rec_1"],
                "a live recording never matches endedBefore"
            )
            #expect(try await repository.recordings(RecordingQuery(owner: alice, environment: "web", endedBefore: F.epoch.addingTimeInterval(51))).map(\.id) == ["rec_4"])
            #expect(try await repository.recordings(RecordingQuery(limit: 2)).map(\.id) == ["rec_4", "rec_3"])
            #expect(try await database.recordings.recordings(RecordingQuery(instanceID: "inst_none")).isEmpty)
        }
    }

    @Test("recordings can be deleted once; false when they did not exist", arguments: StoreBackend.enabled)
    func deletion(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.recordings
            for (id, ended) in [("rec_a", 0.0), ("rec_b", 100.0)] {
                try await repository.insertRecording(Self.recording(id, started: -10, ended: ended))
            }
            try await repository.insertRecording(Self.recording("rec_live", started: -10))
            #expect(try await repository.deleteRecording(id: "rec_a"))
            #expect(try await repository.deleteRecording(id: "rec_a") == false)
            #expect(try await database.recordings.deleteRecording(id: "rec_never") == false)
            #expect(try await repository.recording(id: "rec_a") == nil)
            #expect(try await repository.recordings(RecordingQuery()).map(\.id).sorted() == ["rec_b", "rec_live"])
        }
    }

    @Test("a recording with an unknown owner kind is store_row_invalid naming it, and fails the listing", arguments: StoreBackend.enabled)
    func invalidRow(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.recordings
            try await repository.insertRecording(Self.recording("rec_good", started: 1))
            try await repository.insertRecording(Self.recording("rec_bad", started: 2))
            try await F.tamper(database, "UPDATE recordings SET owner_kind = \(bind: "robot") WHERE id = \(bind: "rec_bad")")
            let single = await F.error { _ = try await repository.recording(id: "rec_bad") }
            #expect(single?.code == .storeRowInvalid)
            #expect(single?.message.contains("recordings(rec_bad)") == true, "\(single?.message ?? "")")
            await expectBerthError(.storeRowInvalid) { _ = try await repository.recordings(RecordingQuery()) }
            #expect(try await repository.recording(id: "rec_good") != nil)
        }
    }

    @Test("quotes, unicode and long strings in recordings are stored exactly", arguments: StoreBackend.enabled)
    func awkwardText(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            var recording = Self.recording("rec_'\"🚢", environment: "Zoë's \"env\" 日本語", owner: Owner(kind: .team, id: "t'; --"), started: 0)
            recording.terminal = String(repeating: "tab'\"é", count: 5_000)
            recording.path = "recordings/" + String(repeating: "ø", count: 2_000) + ".cast"
            try await database.recordings.insertRecording(recording)
            #expect(try await database.recordings.recording(id: recording.id) == recording)
            #expect(try await database.recordings.recordings(RecordingQuery(owner: recording.owner, environment: recording.environment)) == [recording])
        }
    }
}

@Suite("AuditRepository on SQLite and PostgreSQL")
struct AuditRepositoryTests {
    typealias F = InstanceFixtures

    /// Seals `entry` after the stored head and appends it, again after another writer's entry
    /// (what `AuditLog` does), so concurrent appenders form one chain.
    static func append(_ entry: AuditEntry, to repository: AuditRepository) async throws -> AuditEntry {
        while true {
            let sealed = AuditChain.seal(entry, after: try await repository.lastAuditEntry())
            do {
                try await repository.appendAudit(sealed)
                return sealed
            } catch let error as BerthError where error.code == .auditConflict {
                continue
            }
        }
    }

    static func entry(_ index: Int) -> AuditEntry {
        AuditEntry(
            time: F.epoch.addingTimeInterval(Double(index)), actorID: index.isMultiple(of: 2) ? "usr_even" : "usr_odd",
            actorName: "name", actorRole: "player", clientIP: "10.0.0.\(index)", userAgent: "ua",
            action: index == 5 ? "DELETE /api/v1/instances/{id}" : index == 4 ? "POST /x%_y" : "POST /x",
            target: "inst_\(index % 3)", status: 200 + index, result: "ok", detail: index == 0 ? nil : "d\(index)"
        )
    }

    @Test("the audit log keeps every field, chains, and refuses a taken sequence with 409 audit_conflict", arguments: StoreBackend.enabled)
    func appendAndConflict(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.audit
            #expect(try await repository.lastAuditEntry() == nil)
            var written: [AuditEntry] = []
            for index in 0..<6 { written.append(try await Self.append(Self.entry(index), to: repository)) }
            let all = try await repository.auditEntries(AuditQuery(limit: 100))
            #expect(all == written)
            #expect(all.map(\.sequence) == [1, 2, 3, 4, 5, 6])
            #expect(all[0].detail == nil)
            #expect(all[1].clientIP == "10.0.0.1")
            #expect(all[3].time == F.epoch.addingTimeInterval(3))
            #expect(AuditChain.firstProblem(in: all) == nil)
            #expect(try await repository.lastAuditEntry() == written.last)

            var duplicate = all[5]
            duplicate.detail = "second writer"
            let conflict = await F.error { try await repository.appendAudit(duplicate) }
            #expect(conflict?.code == .auditConflict)
            #expect(conflict?.message.contains("6") == true)
            #expect(try await repository.lastAuditEntry()?.detail == "d5", "the first writer's entry stays")

            // Inside a transaction the conflict does not abort it (PostgreSQL); the resealed entry commits.
            let second = duplicate
            let resealed = try await database.withTransaction { tx in
                await expectBerthError(.auditConflict) { try await tx.audit.appendAudit(second) }
                let sealed = AuditChain.seal(second, after: try await tx.audit.lastAuditEntry())
                try await tx.audit.appendAudit(sealed)
                return sealed
            }
            #expect(resealed.sequence == 7)
            #expect(try await database.audit.lastAuditEntry() == resealed)
            #expect(AuditChain.firstProblem(in: try await database.audit.auditEntries(AuditQuery(limit: 100))) == nil)
        }
    }

    @Test("each audit filter selects what it says: actor, action text, target, time range, cursor both ways, limit", arguments: StoreBackend.enabled)
    func filters(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.audit
            for index in 0..<6 { _ = try await Self.append(Self.entry(index), to: repository) }
            func sequences(_ query: AuditQuery) async throws -> [Int64] { try await repository.auditEntries(query).map(\.sequence) }

            #expect(try await sequences(AuditQuery(actorID: "usr_odd")) == [2, 4, 6])
            #expect(try await sequences(AuditQuery(actorID: "usr_nobody")) == [])
            #expect(try await sequences(AuditQuery(action: "DELETE")) == [6])
            #expect(try await sequences(AuditQuery(action: "{id}")) == [6])
            #expect(try await sequences(AuditQuery(action: "POST")) == [1, 2, 3, 4, 5])
            #expect(try await sequences(AuditQuery(action: "delete")) == [], "the action filter is case-sensitive")
            #expect(try await sequences(AuditQuery(action: "%_")) == [5], "% and _ are plain text, not wildcards")
            #expect(try await sequences(AuditQuery(action: "x_")) == [])
            #expect(try await sequences(AuditQuery(target: "inst_1")) == [2, 5])
            #expect(try await sequences(AuditQuery(since: F.epoch.addingTimeInterval(2), until: F.epoch.addingTimeInterval(4))) == [3, 4])
            #expect(try await sequences(AuditQuery(since: F.epoch.addingTimeInterval(4))) == [5, 6])
            #expect(try await sequences(AuditQuery(until: F.epoch.addingTimeInterval(1))) == [1])
            #expect(try await sequences(AuditQuery(afterSequence: 4)) == [5, 6])
            #expect(try await sequences(AuditQuery(afterSequence: 4, newestFirst: true, limit: 2)) == [3, 2])
            #expect(try await sequences(AuditQuery(newestFirst: true)) == [6, 5, 4, 3, 2, 1])
            #expect(try await sequences(AuditQuery(limit: 2)) == [1, 2])
            #expect(try await sequences(AuditQuery(actorID: "usr_even", newestFirst: true)) == [5, 3, 1])
            #expect(try await sequences(AuditQuery(actorID: "usr_even", target: "inst_1")) == [5])
            #expect(try await database.audit.auditEntries(AuditQuery(action: "POST", afterSequence: 2, limit: 2)).map(\.sequence) == [3, 4])
        }
    }

    @Test("fifty writers appending at once each get their entry, in one unbroken chain", arguments: StoreBackend.enabled)
    func concurrentAppends(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.audit
            try await withThrowingTaskGroup(of: AuditEntry.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await Self.append(AuditEntry(
                            time: F.epoch.addingTimeInterval(Double(index)), actorID: "usr_\(index)", actorName: "n", actorRole: "player",
                            clientIP: "10.0.0.1", userAgent: nil, action: "GET /api/v1/instances", target: nil, status: 200, result: "ok"
                        ), to: repository)
                    }
                }
                try await group.waitForAll()
            }
            let all = try await repository.auditEntries(AuditQuery(limit: 1000))
            #expect(all.map(\.sequence) == Array(1...50))
            #expect(Set(all.compactMap(\.actorID)).count == 50)
            #expect(AuditChain.firstProblem(in: all) == nil)
        }
    }

    @Test("entries are read exactly as stored: quotes, unicode, long text; an edited entry breaks the chain instead of being repaired", arguments: StoreBackend.enabled)
    func exactText(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let repository = database.audit
            var entry = AuditEntry(
                time: F.epoch, actorID: "usr_'\"", actorName: "Zoë 🚢 O'Brien", actorRole: "admin", clientIP: "::1",
                userAgent: "Mozilla/5.0 \"quoted\"", action: "DELETE /api/v1/users/{id}", target: "usr_日本",
                status: 204, result: "ok", detail: String(repeating: "long 'detail' ✓ ", count: 10_000)
            )
            entry = try await Self.append(entry, to: repository)
            #expect(try await repository.lastAuditEntry() == entry)

            // A user agent longer than Berth writes (edited by hand) comes back untruncated, so the chain check sees it.
            let edited = String(repeating: "u", count: 300)
            try await F.tamper(database, "UPDATE audit_log SET user_agent = \(bind: edited) WHERE sequence = \(bind: 1)")
            let stored = try #require(try await repository.lastAuditEntry())
            #expect(stored.userAgent == edited)
            #expect(AuditChain.firstProblem(in: [stored])?.sequence == 1)
        }
    }

    @Test("an audit row that does not decode is store_row_invalid naming its sequence (SQLite keeps text in an INTEGER column)")
    func invalidRow() async throws {
        try await withTestDatabase(.sqlite) { database in
            _ = try await Self.append(Self.entry(0), to: database.audit)
            try await F.tamper(database, "UPDATE audit_log SET time_ms = \(bind: "yesterday") WHERE sequence = \(bind: 1)")
            let error = await F.error { _ = try await database.audit.lastAuditEntry() }
            #expect(error?.code == .storeRowInvalid)
            #expect(error?.message.contains("audit_log(1)") == true, "\(error?.message ?? "")")
        }
    }
}
