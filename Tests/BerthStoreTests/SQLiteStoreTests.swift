import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import Testing

/// Opens a store on a file in a fresh temporary directory and closes it afterwards.
func withStore<Result: Sendable>(_ body: (SQLiteStore, TemporaryDirectory) async throws -> Result) async throws -> Result {
    try await TemporaryDirectory.with(prefix: "berth-store") { directory in
        let store = try await SQLiteStore.open(path: directory.path("berth.db").path)
        do {
            let result = try await body(store, directory)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}

let epoch = Date(timeIntervalSince1970: 1_700_000_000)

func makeInstance(
    _ id: String, owner: Owner, environment: String = "linux-basics", state: InstanceState = .running, createdOffset: TimeInterval
) -> Instance {
    let created = epoch.addingTimeInterval(createdOffset)
    return Instance(
        id: id, environment: environment, owner: owner, requestedBy: owner.id, state: state, createdAt: created, updatedAt: created,
        expiresAt: created.addingTimeInterval(1800), maxExpiresAt: created.addingTimeInterval(7200), renewalsLeft: 3
    )
}

@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("migrations are applied by name once; reopening applies nothing again and keeps the data")
    func migrations() async throws {
        try await TemporaryDirectory.with(prefix: "berth-store") { directory in
            let path = directory.path("berth.db").path
            let first = try await SQLiteStore.open(path: path)
            let applied = try await first.appliedMigrations()
            #expect(applied == SQLiteStore.migrationNames)
            #expect(applied.prefix(2) == ["0001_initial", "0002_recordings"])
            try await first.createUser(User(id: "usr_1", name: "ada", role: .admin, createdAt: epoch))
            try await first.close()

            let second = try await SQLiteStore.open(path: path)
            #expect(try await second.appliedMigrations() == applied)
            #expect(try await second.user(named: "ada")?.id == "usr_1")
            try await second.ping()
            try await second.close()
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("an in-memory store works too")
    func inMemory() async throws {
        let store = try await SQLiteStore.open(path: nil)
        try await store.ping()
        #expect(try await store.appliedMigrations() == SQLiteStore.migrationNames)
        try await store.close()
    }

    @Test("recordings are listed by instance, owner and environment, newest first, and can be finished")
    func recordings() async throws {
        let store = try await SQLiteStore.open(path: nil)
        let alice = Owner(kind: .user, id: "usr_a")
        let first = RecordingRecord(
            id: "rec_1", instanceID: "inst_1", environment: "shell", owner: alice, terminal: "main",
            path: "recordings/inst_1/main-rec_1.cast", startedAt: Date(timeIntervalSince1970: 1000)
        )
        var second = first
        second.id = "rec_2"
        second.instanceID = "inst_2"
        second.environment = "web"
        second.owner = Owner(kind: .team, id: "team_b")
        second.path = "recordings/inst_2/main-rec_2.cast"
        second.startedAt = Date(timeIntervalSince1970: 2000)
        try await store.insertRecording(first)
        try await store.insertRecording(second)
        await expectBerthError(.recordingExists) { try await store.insertRecording(first) }
        #expect(try await store.recordings(RecordingQuery()).map(\.id) == ["rec_2", "rec_1"])
        #expect(try await store.recordings(RecordingQuery(instanceID: "inst_1")).map(\.id) == ["rec_1"])
        #expect(try await store.recordings(RecordingQuery(owner: Owner(kind: .team, id: "team_b"))).map(\.id) == ["rec_2"])
        #expect(try await store.recordings(RecordingQuery(environment: "shell")).map(\.id) == ["rec_1"])
        #expect(try await store.recording(id: "rec_1")?.endedAt == nil)
        try await store.finishRecording(id: "rec_1", endedAt: Date(timeIntervalSince1970: 1500))
        #expect(try await store.recording(id: "rec_1")?.endedAt == Date(timeIntervalSince1970: 1500))
        #expect(try await store.recording(id: "rec_missing") == nil)
        try await store.close()
    }

    @Test("a database that cannot be opened fails with store_unavailable")
    func unopenable() async throws {
        await expectBerthError(.storeUnavailable) {
            _ = try await SQLiteStore.open(path: "/nonexistent-dir-\(UniqueName.make())/berth.db")
        }
    }

    @Test("users are stored, found by id and name, listed oldest first; a taken name is 409 user_name_taken")
    func users() async throws {
        try await withStore { store, _ in
            let bob = User(id: "usr_b", name: "bob", role: .player, createdAt: epoch.addingTimeInterval(10))
            let ada = User(id: "usr_a", name: "ada", role: .admin, createdAt: epoch)
            try await store.createUser(bob)
            try await store.createUser(ada)
            #expect(try await store.user(id: "usr_b") == bob)
            #expect(try await store.user(named: "ada") == ada)
            #expect(try await store.user(id: "usr_missing") == nil)
            #expect(try await store.users() == [ada, bob])
            await expectBerthError(.userNameTaken) {
                try await store.createUser(User(id: "usr_c", name: "bob", role: .player, createdAt: epoch))
            }
            #expect(try await store.users().count == 2)
        }
    }

    @Test("tokens resolve to their user by hash; duplicates are 409 token_exists, unknown users 422")
    func tokens() async throws {
        try await withStore { store, _ in
            let user = User(id: "usr_t", name: "tess", role: .player, createdAt: epoch)
            try await store.createUser(user)
            let hash = String(repeating: "ab", count: 32)
            try await store.createToken(APIToken(id: "tok_1", userID: user.id, name: "ci", secretHash: hash, createdAt: epoch))
            #expect(try await store.user(forTokenHash: hash) == user)
            #expect(try await store.user(forTokenHash: String(repeating: "cd", count: 32)) == nil)
            let tokens = try await store.tokens(userID: user.id)
            #expect(tokens.map(\.secretHash) == [hash])
            #expect(tokens.map(\.name) == ["ci"])

            await expectBerthError(.tokenExists) {
                try await store.createToken(APIToken(id: "tok_2", userID: user.id, name: "dup", secretHash: hash, createdAt: epoch))
            }
            await expectBerthError(.invalidReference) {
                try await store.createToken(APIToken(id: "tok_3", userID: "usr_ghost", name: "x", secretHash: "ff", createdAt: epoch))
            }
        }
    }

    @Test("an issued token's secret authenticates, but only its hash reaches the database files")
    func onlyHashesStored() async throws {
        try await withStore { store, directory in
            let accounts = Accounts(store: store)
            let user = try await accounts.createUser(name: "tess")
            let (token, secret) = try await accounts.issueToken(userID: user.id, name: "ci")
            #expect(secret.hasPrefix("berth_"))
            #expect(token.secretHash == Accounts.hash(secret))
            #expect(token.secretHash != secret)
            // Compared by id: a Date() loses sub-microsecond precision on its way through REAL columns.
            #expect(try await accounts.authenticate(secret: secret)?.id == user.id)
            #expect(try await accounts.authenticate(secret: secret + "x") == nil)
            #expect(try await store.tokens(userID: user.id).map(\.secretHash) == [token.secretHash])

            let files = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
            #expect(files.contains("berth.db"))
            var hashFound = false
            for file in files {
                let bytes = try Data(contentsOf: directory.path(file))
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "the secret leaked into \(file)")
                if bytes.range(of: Data(token.secretHash.utf8)) != nil { hashFound = true }
            }
            #expect(hashFound, "the hash must be somewhere in the database files, or the scan proves nothing")
        }
    }

    @Test("teams and memberships; a user is in one team only (409 already_member); team names are unique (409 team_name_taken)")
    func teams() async throws {
        try await withStore { store, _ in
            let red = Team(id: "team_r", name: "red", createdAt: epoch)
            let blue = Team(id: "team_b", name: "blue", createdAt: epoch.addingTimeInterval(1))
            try await store.createTeam(red)
            try await store.createTeam(blue)
            await expectBerthError(.teamNameTaken) {
                try await store.createTeam(Team(id: "team_x", name: "red", createdAt: epoch))
            }
            #expect(try await store.teams() == [red, blue])
            #expect(try await store.team(id: "team_b") == blue)

            let zoe = User(id: "usr_z", name: "zoe", role: .player, createdAt: epoch)
            let amy = User(id: "usr_y", name: "amy", role: .player, createdAt: epoch)
            try await store.createUser(zoe)
            try await store.createUser(amy)
            try await store.addMember(teamID: red.id, userID: zoe.id)
            try await store.addMember(teamID: red.id, userID: amy.id)
            #expect(try await store.members(teamID: red.id) == [amy, zoe], "members are listed by name")
            #expect(try await store.team(ofUser: zoe.id) == red)
            #expect(try await store.members(teamID: blue.id).isEmpty)

            await expectBerthError(.alreadyMember) {
                try await store.addMember(teamID: blue.id, userID: zoe.id)
            }
            await expectBerthError(.alreadyMember) {
                try await store.addMember(teamID: red.id, userID: zoe.id)
            }
            let loner = User(id: "usr_l", name: "loner", role: .player, createdAt: epoch)
            try await store.createUser(loner)
            await expectBerthError(.invalidReference) {
                try await store.addMember(teamID: "team_ghost", userID: loner.id)
            }
            #expect(try await store.team(ofUser: loner.id) == nil)
            #expect(try await store.team(ofUser: zoe.id) == red)
        }
    }

    @Test("instances round-trip every field and update in place")
    func instanceRoundTrip() async throws {
        try await withStore { store, _ in
            var instance = makeInstance("inst_1", owner: Owner(kind: .team, id: "team_r"), createdOffset: 0)
            instance.state = .requested
            try await store.insertInstance(instance)
            #expect(try await store.instance(id: "inst_1") == instance)
            await expectBerthError(.instanceExists) {
                try await store.insertInstance(instance)
            }

            instance.state = .running
            instance.containerID = "c0ffee"
            instance.networkID = "net1"
            instance.renewalsLeft = 1
            instance.updatedAt = epoch.addingTimeInterval(5)
            instance.expiresAt = epoch.addingTimeInterval(3000)
            instance.endpoints = [
                Endpoint(port: 8080, protocol: .http, host: "127.0.0.1", hostPort: 20001, url: "http://127.0.0.1:20001/"),
                Endpoint(port: 22, protocol: .tcp, host: "127.0.0.1", hostPort: 20002, url: nil),
            ]
            instance.reason = "because"
            try await store.updateInstance(instance)
            #expect(try await store.instance(id: "inst_1") == instance)
            #expect(try await store.instance(id: "inst_other") == nil)
        }
    }

    @Test("instance queries: active only, by owner, by environment, newest first, limited")
    func instanceQueries() async throws {
        try await withStore { store, _ in
            let ada = Owner(kind: .user, id: "usr_a")
            let bob = Owner(kind: .user, id: "usr_b")
            let team = Owner(kind: .team, id: "usr_a")
            let rows = [
                makeInstance("inst_1", owner: ada, state: .stopped, createdOffset: 1),
                makeInstance("inst_2", owner: ada, state: .running, createdOffset: 2),
                makeInstance("inst_3", owner: bob, environment: "web", state: .requested, createdOffset: 3),
                makeInstance("inst_4", owner: ada, environment: "web", state: .starting, createdOffset: 4),
                makeInstance("inst_5", owner: bob, state: .expired, createdOffset: 5),
                makeInstance("inst_6", owner: team, state: .stopping, createdOffset: 6),
                makeInstance("inst_7", owner: bob, state: .failed, createdOffset: 7),
            ]
            for row in rows.shuffled() { try await store.insertInstance(row) }

            #expect(try await store.instances(InstanceQuery()).map(\.id) == ["inst_7", "inst_6", "inst_5", "inst_4", "inst_3", "inst_2", "inst_1"])
            #expect(try await store.instances(InstanceQuery(activeOnly: true)).map(\.id) == ["inst_6", "inst_4", "inst_3", "inst_2"])
            #expect(try await store.instances(InstanceQuery(owner: ada)).map(\.id) == ["inst_4", "inst_2", "inst_1"])
            #expect(try await store.instances(InstanceQuery(activeOnly: true, owner: bob)).map(\.id) == ["inst_3"])
            #expect(try await store.instances(InstanceQuery(owner: team)).map(\.id) == ["inst_6"], "a team and a user with the same id are different owners")
            #expect(try await store.instances(InstanceQuery(environment: "web")).map(\.id) == ["inst_4", "inst_3"])
            #expect(try await store.instances(InstanceQuery(activeOnly: true, owner: ada, environment: "web")).map(\.id) == ["inst_4"])
            #expect(try await store.instances(InstanceQuery(limit: 2)).map(\.id) == ["inst_7", "inst_6"])
        }
    }

    @Test("the event log appends with increasing sequence numbers and reads newest first")
    func events() async throws {
        try await withStore { store, _ in
            var sequences: [Int64] = []
            for index in 0..<5 {
                let stored = try await store.appendEvent(EventRecord(
                    time: epoch.addingTimeInterval(TimeInterval(index)), kind: "instance.step\(index)",
                    instanceID: index.isMultiple(of: 2) ? "inst_even" : "inst_odd", userID: index == 0 ? nil : "usr_a",
                    detail: "detail \(index)"
                ))
                sequences.append(stored.sequence)
            }
            #expect(sequences == sequences.sorted())
            #expect(Set(sequences).count == 5)
            #expect(sequences.allSatisfy { $0 > 0 })

            let all = try await store.events(instanceID: nil, limit: 100)
            #expect(all.map(\.kind) == (0..<5).reversed().map { "instance.step\($0)" })
            #expect(all.last?.userID == nil)
            #expect(all.last?.detail == "detail 0")
            #expect(all.last?.time == epoch)
            #expect(try await store.events(instanceID: "inst_even", limit: 100).map(\.detail) == ["detail 4", "detail 2", "detail 0"])
            #expect(try await store.events(instanceID: nil, limit: 2).map(\.sequence) == Array(sequences.suffix(2).reversed()))
            #expect(try await store.events(instanceID: "inst_none", limit: 10).isEmpty)
        }
    }

    @Test("concurrent writers through one store lose nothing")
    func concurrentWrites() async throws {
        try await withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.appendEvent(EventRecord(time: epoch, kind: "k", detail: "\(index)"))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.events(instanceID: nil, limit: 1000).count == 50)
        }
    }

    @Test("the audit log keeps every field, filters, pages both ways, and refuses a taken sequence")
    func auditLog() async throws {
        try await withStore { store, _ in
            let log = AuditLog(store: store, logger: Logger(label: "test"))
            for index in 0..<6 {
                await log.append(AuditEntry(
                    time: epoch.addingTimeInterval(Double(index)), actorID: index.isMultiple(of: 2) ? "usr_even" : "usr_odd",
                    actorName: "name", actorRole: "player", clientIP: "10.0.0.\(index)", userAgent: "ua", action: index == 5 ? "DELETE /x" : "POST /x",
                    target: "inst_\(index % 3)", status: 200 + index, result: "ok", detail: index == 0 ? nil : "d\(index)"
                ))
            }
            let all = try await store.auditEntries(AuditQuery(limit: 100))
            #expect(all.map(\.sequence) == [1, 2, 3, 4, 5, 6])
            #expect(all[0].detail == nil)
            #expect(all[1].clientIP == "10.0.0.1")
            #expect(all[3].time == epoch.addingTimeInterval(3))
            #expect(AuditChain.firstProblem(in: all) == nil)
            #expect(try await store.lastAuditEntry()?.sequence == 6)
            #expect(try await store.auditEntries(AuditQuery(actorID: "usr_odd")).map(\.sequence) == [2, 4, 6])
            #expect(try await store.auditEntries(AuditQuery(action: "DELETE")).map(\.sequence) == [6])
            #expect(try await store.auditEntries(AuditQuery(target: "inst_1")).map(\.sequence) == [2, 5])
            #expect(try await store.auditEntries(AuditQuery(since: epoch.addingTimeInterval(2), until: epoch.addingTimeInterval(4))).map(\.sequence) == [3, 4])
            #expect(try await store.auditEntries(AuditQuery(afterSequence: 4)).map(\.sequence) == [5, 6])
            #expect(try await store.auditEntries(AuditQuery(afterSequence: 4, newestFirst: true, limit: 2)).map(\.sequence) == [3, 2])
            #expect(try await log.verify(pageSize: 4).valid)

            var duplicate = all[5]
            duplicate.detail = "second writer"
            await #expect(throws: BerthError.self) { try await store.appendAudit(duplicate) }
        }
    }

    @Test("a hundred requests finishing at once each get their audit entry, in one unbroken chain")
    func concurrentAuditAppends() async throws {
        try await withStore { store, _ in
            let log = AuditLog(store: store, logger: Logger(label: "test"))
            let stored = await withTaskGroup(of: AuditEntry?.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        await log.append(AuditEntry(
                            time: epoch.addingTimeInterval(Double(index)), actorID: "usr_\(index)", actorName: "n", actorRole: "player",
                            clientIP: "10.0.0.1", userAgent: nil, action: "GET /api/v1/instances", target: nil, status: 200, result: "ok", detail: nil
                        ))
                    }
                }
                var entries: [AuditEntry] = []
                for await entry in group { if let entry { entries.append(entry) } }
                return entries
            }
            #expect(stored.count == 100)
            let all = try await store.auditEntries(AuditQuery(limit: 1000))
            #expect(all.map(\.sequence) == Array(1...100))
            #expect(Set(all.compactMap(\.actorID)).count == 100)
            #expect(try await log.verify().valid)
        }
    }

    @Test("refused requests: a few per address and minute are logged one by one, the rest counted and summed up")
    func refusalThrottle() async throws {
        try await withStore { store, _ in
            let log = AuditLog(store: store, logger: Logger(label: "test"), refusalLimit: 3, refusalWindow: 60)
            func refusal(_ ip: String, at seconds: Double, _ path: String = "/api/v1/instances") -> AuditEntry {
                AuditEntry(
                    time: epoch.addingTimeInterval(seconds), actorID: nil, actorName: nil, actorRole: nil, clientIP: ip,
                    userAgent: "scanner", action: "GET \(path)", target: nil, status: 401, result: "unauthorized", detail: nil
                )
            }
            for index in 0..<10 { await log.appendRefusal(refusal("10.0.0.1", at: Double(index), "/api/v1/p\(index)")) }
            for index in 0..<2 { await log.appendRefusal(refusal("10.0.0.2", at: Double(index))) }
            var all = try await store.auditEntries(AuditQuery(limit: 100))
            #expect(all.filter { $0.clientIP == "10.0.0.1" }.count == 3, "three logged one by one, seven counted")
            #expect(all.filter { $0.clientIP == "10.0.0.2" }.count == 2)

            // Before the window ends nothing is summed up; after, one summary with the count and the last action.
            #expect(await log.writeRefusalSummaries(now: epoch.addingTimeInterval(59)) == 0)
            #expect(await log.writeRefusalSummaries(now: epoch.addingTimeInterval(61)) == 1)
            all = try await store.auditEntries(AuditQuery(limit: 100))
            let summary = try #require(all.last)
            #expect(summary.action == "audit.refusals_counted" && summary.clientIP == "10.0.0.1" && summary.status == 401)
            #expect(summary.detail?.hasPrefix("7 more refused requests (401)") == true, "\(summary.detail ?? "")")
            #expect(summary.detail?.hasSuffix("the last was GET /api/v1/p9") == true)
            #expect(summary.time == epoch.addingTimeInterval(9))

            // A new window logs again; a refusal that opens it first writes the previous window's summary.
            for index in 0..<5 { await log.appendRefusal(refusal("10.0.0.1", at: 100 + Double(index))) }
            await log.appendRefusal(refusal("10.0.0.1", at: 170))
            all = try await store.auditEntries(AuditQuery(limit: 100))
            #expect(all.suffix(2).map(\.action) == ["audit.refusals_counted", "GET /api/v1/instances"])
            #expect(all.suffix(2).first?.detail?.hasPrefix("2 more") == true)

            // At shutdown, windows still open are summed up too; then nothing is pending.
            for index in 0..<4 { await log.appendRefusal(refusal("10.0.0.3", at: 200 + Double(index))) }
            #expect(await log.writeRefusalSummaries(now: epoch.addingTimeInterval(201), all: true) == 1)
            #expect(await log.writeRefusalSummaries(now: epoch.addingTimeInterval(999), all: true) == 0)
            #expect(try await log.verify().valid)
        }
    }

    @Test("recordings can be deleted, and found by when they ended")
    func recordingDeletion() async throws {
        try await withStore { store, _ in
            let owner = Owner(kind: .user, id: "usr_a")
            for (id, ended) in [("rec_a", epoch), ("rec_b", epoch.addingTimeInterval(100)), ("rec_live", nil)] as [(String, Date?)] {
                try await store.insertRecording(RecordingRecord(
                    id: id, instanceID: "inst_1", environment: "e", owner: owner, terminal: "main", path: "recordings/\(id).cast",
                    startedAt: epoch.addingTimeInterval(-10), endedAt: ended
                ))
            }
            #expect(try await store.recordings(RecordingQuery(endedBefore: epoch.addingTimeInterval(50))).map(\.id) == ["rec_a"])
            #expect(try await store.recordings(RecordingQuery(endedBefore: epoch.addingTimeInterval(500))).count == 2)
            #expect(try await store.deleteRecording(id: "rec_a"))
            #expect(try await store.deleteRecording(id: "rec_a") == false)
            #expect(try await store.recording(id: "rec_a") == nil)
            #expect(try await store.recordings(RecordingQuery()).map(\.id).sorted() == ["rec_b", "rec_live"])
        }
    }
}
