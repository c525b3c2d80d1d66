import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

private let start = Date(timeIntervalSince1970: 1_700_000_000)

private func player(_ id: String, _ name: String, at offset: TimeInterval = 0, role: Role = .player) -> User {
    User(id: id, name: name, role: role, createdAt: start.addingTimeInterval(offset))
}

private func session(_ hash: String, of userID: String, expiresIn lifetime: TimeInterval = 3600) -> SessionRecord {
    SessionRecord(
        secretHash: hash, userID: userID, createdAt: start, expiresAt: start.addingTimeInterval(lifetime),
        clientIP: "203.0.113.7", userAgent: "Mozilla/5.0 (X11; Linux x86_64)"
    )
}

/// Runs one statement behind the repositories' back, as an operator with a SQL shell would.
private func tamper(_ database: BerthDatabase, _ statement: SQLQueryString) async throws {
    try await database.accounts.sql.run { db in try await db.raw(statement).run() }
}

@Suite("AccountRepository and TeamRepository on SQLite and PostgreSQL")
struct AccountRepositoryTests {
    // MARK: Users

    @Test("users are stored, found by id and by name in any case, listed oldest first; a taken name is 409 user_name_taken", arguments: StoreBackend.enabled)
    func users(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let bob = player("usr_b", "bob", at: 10)
            let ada = player("usr_a", "ada", role: .admin)
            try await db.accounts.createUser(bob)
            try await db.accounts.createUser(ada)
            #expect(try await db.accounts.user(id: "usr_b") == bob)
            #expect(try await db.accounts.user(named: "ada") == ada)
            #expect(try await db.accounts.user(named: "ADA") == ada, "names are found without regard to case")
            #expect(try await db.accounts.user(id: "usr_missing") == nil)
            #expect(try await db.accounts.user(named: "nobody") == nil)
            #expect(try await db.accounts.users() == [ada, bob])
            await expectBerthError(.userNameTaken) {
                try await db.accounts.createUser(player("usr_c", "bob"))
            }
            await expectBerthError(.userNameTaken) {
                try await db.accounts.createUser(player("usr_d", "BoB"))
            }
            #expect(try await db.accounts.users() == [ada, bob], "a refused user leaves nothing behind")
        }
    }

    @Test("names with quotes, SQL and unicode, and a 10,000-character label, are stored and found as they are", arguments: StoreBackend.enabled)
    func awkwardNames(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let quoted = player("usr_q", #"O'Brien "the" ; DROP TABLE users; --"#)
            let unicode = player("usr_u", "Zoë 🚀 Ünïcødé 名前", at: 1)
            // 64 characters is the longest name Accounts accepts; 256 bytes in UTF-8.
            let long = player("usr_l", String(repeating: "🚀", count: 64), at: 2)
            for user in [quoted, unicode, long] { try await db.accounts.createUser(user) }
            #expect(try await db.accounts.user(named: quoted.name) == quoted)
            #expect(try await db.accounts.user(named: #"o'brien "THE" ; drop table USERS; --"#) == quoted)
            #expect(try await db.accounts.user(named: unicode.name) == unicode)
            #expect(try await db.accounts.user(named: long.name) == long)
            #expect(try await db.accounts.users() == [quoted, unicode, long])
            // Columns without an index take any length: a 10,000-character token name.
            let label = String((0..<278).map { _ in UUID().uuidString }.joined().prefix(10_000))
            try await db.accounts.createToken(APIToken(id: "tok_l", userID: long.id, name: label, secretHash: "h'l", createdAt: start))
            #expect(try await db.accounts.tokens(userID: long.id).map(\.name) == [label])
            #expect(try await db.accounts.user(forTokenHash: "h'l") == long)

            let team = Team(id: "team_q", name: #"l'équipe "δ" 🛡"#, createdAt: start)
            try await db.teams.createTeam(team)
            try await db.teams.addMember(teamID: team.id, userID: quoted.id)
            try await db.teams.setInviteCode(teamID: team.id, code: #"c'o"de"#)
            #expect(try await db.teams.team(inviteCode: #"c'o"de"#) == team)
            #expect(try await db.teams.members(teamID: team.id) == [quoted])
        }
    }

    @Test("a user row with a role Berth does not know is store_row_invalid naming users(<id>), wherever it is read", arguments: StoreBackend.enabled)
    func unknownRole(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let bad = player("usr_bad", "mallory")
            try await db.accounts.createUser(bad)
            try await db.accounts.createUser(player("usr_ok", "olive", at: 1))
            try await db.teams.createTeam(Team(id: "team_m", name: "moles", createdAt: start))
            try await db.teams.addMember(teamID: "team_m", userID: bad.id)
            try await db.accounts.createToken(APIToken(id: "tok_m", userID: bad.id, name: "ci", secretHash: "hash_m", createdAt: start))
            try await db.accounts.createSession(session("sess_m", of: bad.id))
            try await tamper(db, "UPDATE users SET role = 'wizard' WHERE id = 'usr_bad'")

            let reads: [@Sendable () async throws -> Void] = [
                { _ = try await db.accounts.user(id: "usr_bad") },
                { _ = try await db.accounts.user(named: "MALLORY") },
                { _ = try await db.accounts.users() },
                { _ = try await db.accounts.user(forTokenHash: "hash_m") },
                { _ = try await db.accounts.session(secretHash: "sess_m", now: start) },
                { _ = try await db.teams.members(teamID: "team_m") },
            ]
            for read in reads {
                do {
                    try await read()
                    Issue.record("a user with an unknown role was read without an error")
                } catch let error as BerthError {
                    #expect(error.code == .storeRowInvalid)
                    #expect(error.message.contains("users(usr_bad)"), "\(error.message)")
                    #expect(error.message.contains("wizard"), "\(error.message)")
                }
            }
            #expect(try await db.accounts.user(id: "usr_ok")?.name == "olive", "other rows still read")
        }
    }

    // MARK: Tokens

    @Test("tokens resolve to their user by hash; duplicates are 409 token_exists, unknown users 422; a user revokes only their own", arguments: StoreBackend.enabled)
    func tokens(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let tess = player("usr_t", "tess")
            let uma = player("usr_u", "uma")
            try await db.accounts.createUser(tess)
            try await db.accounts.createUser(uma)
            let hash = String(repeating: "ab", count: 32)
            try await db.accounts.createToken(APIToken(id: "tok_1", userID: tess.id, name: "ci", secretHash: hash, createdAt: start))
            try await db.accounts.createToken(APIToken(id: "tok_2", userID: tess.id, name: "laptop", secretHash: "cd", createdAt: start.addingTimeInterval(5)))
            #expect(try await db.accounts.user(forTokenHash: hash) == tess)
            #expect(try await db.accounts.user(forTokenHash: String(repeating: "ef", count: 32)) == nil)
            let tokens = try await db.accounts.tokens(userID: tess.id)
            #expect(tokens.map(\.id) == ["tok_1", "tok_2"])
            #expect(tokens.first == APIToken(id: "tok_1", userID: tess.id, name: "ci", secretHash: hash, createdAt: start))

            await expectBerthError(.tokenExists) {
                try await db.accounts.createToken(APIToken(id: "tok_3", userID: tess.id, name: "dup", secretHash: hash, createdAt: start))
            }
            await expectBerthError(.invalidReference) {
                try await db.accounts.createToken(APIToken(id: "tok_4", userID: "usr_ghost", name: "x", secretHash: "ff", createdAt: start))
            }
            #expect(try await db.accounts.deleteToken(id: "tok_1", userID: uma.id) == false, "uma cannot revoke tess's token")
            #expect(try await db.accounts.deleteToken(id: "tok_1", userID: tess.id))
            #expect(try await db.accounts.deleteToken(id: "tok_1", userID: tess.id) == false)
            #expect(try await db.accounts.user(forTokenHash: hash) == nil)
            #expect(try await db.accounts.tokens(userID: tess.id).map(\.id) == ["tok_2"])
        }
    }

    @Test("a token's secret never reaches the database files, only its hash (SQLite file)")
    func onlyHashesStored() async throws {
        try await TemporaryDirectory.with(prefix: "berth-accounts") { directory in
            let db = try await BerthDatabase.open(location: .sqlite(path: directory.path("berth.db").path))
            let secret = "berth_" + String(repeating: "s3cr3t", count: 7)
            let hash = Secrets.sha256Hex(secret)
            try await db.accounts.createUser(player("usr_t", "tess"))
            try await db.accounts.createToken(APIToken(id: "tok_1", userID: "usr_t", name: "ci", secretHash: hash, createdAt: start))
            #expect(try await db.accounts.user(forTokenHash: hash)?.id == "usr_t")
            try await db.close()

            let files = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
            #expect(files.contains("berth.db"))
            var hashFound = false
            for file in files {
                let bytes = try Data(contentsOf: directory.path(file))
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "the secret leaked into \(file)")
                if bytes.range(of: Data(hash.utf8)) != nil { hashFound = true }
            }
            #expect(hashFound, "the hash must be somewhere in the database files, or the scan proves nothing")
        }
    }

    // MARK: Passwords, roles, GitHub

    @Test("password hashes, roles and GitHub links are set, read and cleared; writes to a missing user are user_not_found", arguments: StoreBackend.enabled)
    func passwordsRolesGitHub(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let pia = player("usr_p", "pia")
            let quinn = player("usr_q", "quinn")
            try await db.accounts.createUser(pia)
            try await db.accounts.createUser(quinn)
            #expect(try await db.accounts.passwordHash(userID: pia.id) == nil)
            try await db.accounts.setPasswordHash(userID: pia.id, hash: "$2b$12$abc")
            #expect(try await db.accounts.passwordHash(userID: pia.id) == "$2b$12$abc")
            try await db.accounts.setPasswordHash(userID: pia.id, hash: nil)
            #expect(try await db.accounts.passwordHash(userID: pia.id) == nil)
            #expect(try await db.accounts.passwordHash(userID: "usr_ghost") == nil)

            try await db.accounts.setRole(userID: pia.id, role: .admin)
            #expect(try await db.accounts.user(id: pia.id)?.role == .admin)

            #expect(try await db.accounts.user(githubID: "1234") == nil)
            try await db.accounts.setGitHubID(userID: pia.id, githubID: "1234")
            #expect(try await db.accounts.user(githubID: "1234")?.id == pia.id)
            await expectBerthError(.storeConflict) {
                try await db.accounts.setGitHubID(userID: quinn.id, githubID: "1234")
            }
            #expect(try await db.accounts.user(githubID: "1234")?.id == pia.id, "the refused link changed nothing")

            await expectBerthError(.userNotFound) { try await db.accounts.setPasswordHash(userID: "usr_ghost", hash: "x") }
            await expectBerthError(.userNotFound) { try await db.accounts.setRole(userID: "usr_ghost", role: .admin) }
            await expectBerthError(.userNotFound) { try await db.accounts.setGitHubID(userID: "usr_ghost", githubID: "99") }
        }
    }

    // MARK: Sessions

    @Test("sessions: a live one returns itself and its user, an expired one nothing; they end one by one or all at once", arguments: StoreBackend.enabled)
    func sessions(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let sam = player("usr_s", "sam")
            try await db.accounts.createUser(sam)
            let live = session("h_live", of: sam.id, expiresIn: 3600)
            try await db.accounts.createSession(live)
            try await db.accounts.createSession(session("h_other", of: sam.id, expiresIn: 7200))
            try await db.accounts.createSession(session("h_old", of: sam.id, expiresIn: 60))

            let found = try #require(try await db.accounts.session(secretHash: "h_live", now: start.addingTimeInterval(10)))
            #expect(found.session == live)
            #expect(found.user == sam)
            #expect(try await db.accounts.session(secretHash: "h_old", now: start.addingTimeInterval(60)) == nil, "expired at now")
            #expect(try await db.accounts.session(secretHash: "h_old", now: start.addingTimeInterval(61)) == nil, "expired before now")
            #expect(try await db.accounts.session(secretHash: "h_old", now: start.addingTimeInterval(59)) != nil, "live a second before")
            #expect(try await db.accounts.session(secretHash: "h_none", now: start) == nil)

            await expectBerthError(.sessionExists) { try await db.accounts.createSession(session("h_live", of: sam.id)) }
            await expectBerthError(.invalidReference) { try await db.accounts.createSession(session("h_ghost", of: "usr_ghost")) }

            try await db.accounts.deleteSession(secretHash: "h_live")
            #expect(try await db.accounts.session(secretHash: "h_live", now: start) == nil)
            #expect(try await db.accounts.session(secretHash: "h_other", now: start) != nil)
            try await db.accounts.deleteSessions(userID: sam.id)
            #expect(try await db.accounts.session(secretHash: "h_other", now: start) == nil)
        }
    }

    // MARK: Registration (one transaction)

    @Test("register stores the user, its password hash, GitHub link and first session together", arguments: StoreBackend.enabled)
    func register(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let rae = player("usr_r", "rae")
            try await db.accounts.register(rae, passwordHash: "$2b$12$rae", session: session("h_rae", of: rae.id), githubID: "777")
            #expect(try await db.accounts.user(id: rae.id) == rae)
            #expect(try await db.accounts.passwordHash(userID: rae.id) == "$2b$12$rae")
            #expect(try await db.accounts.user(githubID: "777") == rae)
            #expect(try await db.accounts.session(secretHash: "h_rae", now: start)?.user == rae)

            let sol = player("usr_sol", "sol")
            try await db.accounts.register(sol, passwordHash: nil, session: nil)
            #expect(try await db.accounts.user(named: "SOL") == sol)
            #expect(try await db.accounts.passwordHash(userID: sol.id) == nil)
        }
    }

    @Test("register is all or nothing: a taken name, a linked GitHub account or a session that fails leaves no user behind", arguments: StoreBackend.enabled)
    func registerRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let rae = player("usr_r", "rae")
            try await db.accounts.register(rae, passwordHash: "h", session: session("h_rae", of: rae.id), githubID: "777")

            // The user insert succeeds, then the session's hash is taken: the user must go too.
            let tim = player("usr_tim", "tim")
            await expectBerthError(.sessionExists) {
                try await db.accounts.register(tim, passwordHash: "$2b$12$tim", session: session("h_rae", of: tim.id))
            }
            #expect(try await db.accounts.user(id: tim.id) == nil)
            #expect(try await db.accounts.user(named: "tim") == nil)
            #expect(try await db.accounts.passwordHash(userID: tim.id) == nil)

            await expectBerthError(.userNameTaken) {
                try await db.accounts.register(player("usr_x", "RAE"), passwordHash: "h", session: session("h_x", of: "usr_x"))
            }
            #expect(try await db.accounts.session(secretHash: "h_x", now: start) == nil)
            await expectBerthError(.storeConflict) {
                try await db.accounts.register(player("usr_y", "yan"), passwordHash: nil, session: session("h_y", of: "usr_y"), githubID: "777")
            }
            #expect(try await db.accounts.user(named: "yan") == nil)
            #expect(try await db.accounts.session(secretHash: "h_y", now: start) == nil)
            await expectBerthError(.invalidReference) {
                try await db.accounts.register(player("usr_z", "zed"), passwordHash: nil, session: session("h_z", of: rae.id))
            }
            #expect(try await db.accounts.user(named: "zed") == nil)
            #expect(try await db.accounts.users() == [rae])

            // The name tim was never taken: registering again works.
            try await db.accounts.register(tim, passwordHash: nil, session: session("h_tim", of: tim.id))
            #expect(try await db.accounts.user(named: "tim") == tim)
        }
    }

    @Test("eight concurrent registrations of one name: exactly one wins, the others are user_name_taken", arguments: StoreBackend.enabled)
    func concurrentRegistrations(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let user = player("usr_c\(index)", index.isMultiple(of: 2) ? "crowd" : "CROWD")
                        do {
                            try await db.accounts.register(user, passwordHash: "h\(index)", session: session("h_c\(index)", of: user.id))
                            return "won"
                        } catch let error as BerthError {
                            return error.code.rawValue
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "won" }.count == 1, "\(outcomes)")
            #expect(outcomes.filter { $0 == "user_name_taken" }.count == 7, "\(outcomes)")
            let winner = try #require(try await db.accounts.users().first)
            #expect(try await db.accounts.users().count == 1)
            #expect(try await db.accounts.session(secretHash: "h_" + winner.id.dropFirst(4), now: start)?.user == winner)
        }
    }

    // MARK: Teams

    @Test("teams and memberships; a user is in one team only (409 already_member); team names are unique in any case (409 team_name_taken)", arguments: StoreBackend.enabled)
    func teams(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let red = Team(id: "team_r", name: "red", createdAt: start)
            let blue = Team(id: "team_b", name: "blue", createdAt: start.addingTimeInterval(1))
            try await db.teams.createTeam(red)
            try await db.teams.createTeam(blue)
            await expectBerthError(.teamNameTaken) { try await db.teams.createTeam(Team(id: "team_x", name: "red", createdAt: start)) }
            await expectBerthError(.teamNameTaken) { try await db.teams.createTeam(Team(id: "team_y", name: "Red", createdAt: start)) }
            #expect(try await db.teams.teams() == [red, blue])
            #expect(try await db.teams.team(id: "team_b") == blue)
            #expect(try await db.teams.team(id: "team_ghost") == nil)

            let zoe = player("usr_z", "zoe")
            let amy = player("usr_y", "amy")
            let bea = player("usr_w", "Bea")
            for user in [zoe, amy, bea] { try await db.accounts.createUser(user) }
            try await db.teams.addMember(teamID: red.id, userID: zoe.id)
            try await db.teams.addMember(teamID: red.id, userID: amy.id)
            try await db.teams.addMember(teamID: red.id, userID: bea.id)
            #expect(try await db.teams.members(teamID: red.id) == [bea, amy, zoe], "members are listed by name, bytewise on both databases")
            #expect(try await db.teams.team(ofUser: zoe.id) == red)
            #expect(try await db.teams.members(teamID: blue.id).isEmpty)

            await expectBerthError(.alreadyMember) { try await db.teams.addMember(teamID: blue.id, userID: zoe.id) }
            await expectBerthError(.alreadyMember) { try await db.teams.addMember(teamID: red.id, userID: zoe.id) }
            let loner = player("usr_l", "loner")
            try await db.accounts.createUser(loner)
            await expectBerthError(.invalidReference) { try await db.teams.addMember(teamID: "team_ghost", userID: loner.id) }
            await expectBerthError(.invalidReference) { try await db.teams.addMember(teamID: red.id, userID: "usr_ghost") }
            #expect(try await db.teams.team(ofUser: loner.id) == nil)

            #expect(try await db.teams.removeMember(teamID: blue.id, userID: zoe.id) == false, "zoe is not in blue")
            #expect(try await db.teams.removeMember(teamID: red.id, userID: zoe.id))
            #expect(try await db.teams.removeMember(teamID: red.id, userID: zoe.id) == false)
            #expect(try await db.teams.team(ofUser: zoe.id) == nil)
            try await db.teams.addMember(teamID: blue.id, userID: zoe.id)
            #expect(try await db.teams.team(ofUser: zoe.id) == blue)
        }
    }

    @Test("invite codes: none at first, set, found, unique across teams; a missing team is team_not_found", arguments: StoreBackend.enabled)
    func inviteCodes(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let red = Team(id: "team_r", name: "red", createdAt: start)
            let blue = Team(id: "team_b", name: "blue", createdAt: start)
            try await db.teams.createTeam(red)
            try await db.teams.createTeam(blue)
            #expect(try await db.teams.inviteCode(teamID: red.id) == nil)
            #expect(try await db.teams.inviteCode(teamID: "team_ghost") == nil)
            try await db.teams.setInviteCode(teamID: red.id, code: "join-red")
            #expect(try await db.teams.inviteCode(teamID: red.id) == "join-red")
            #expect(try await db.teams.team(inviteCode: "join-red") == red)
            #expect(try await db.teams.team(inviteCode: "JOIN-RED") == nil, "codes are exact")
            await expectBerthError(.storeConflict) { try await db.teams.setInviteCode(teamID: blue.id, code: "join-red") }
            #expect(try await db.teams.inviteCode(teamID: blue.id) == nil)
            await expectBerthError(.teamNotFound) { try await db.teams.setInviteCode(teamID: "team_ghost", code: "x") }
            try await db.teams.setInviteCode(teamID: red.id, code: "fresh")
            #expect(try await db.teams.team(inviteCode: "join-red") == nil)
        }
    }

    // MARK: Creating a team with its founder (one transaction)

    @Test("creating a team puts the founder in it and sets its invite code together", arguments: StoreBackend.enabled)
    func createWithFounder(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let fay = player("usr_f", "fay")
            try await db.accounts.createUser(fay)
            let team = Team(id: "team_f", name: "falcons", createdAt: start)
            try await db.teams.create(team, founder: fay.id, inviteCode: "fly")
            #expect(try await db.teams.team(id: team.id) == team)
            #expect(try await db.teams.team(ofUser: fay.id) == team)
            #expect(try await db.teams.members(teamID: team.id) == [fay])
            #expect(try await db.teams.team(inviteCode: "fly") == team)

            let gus = player("usr_g", "gus")
            try await db.accounts.createUser(gus)
            try await db.teams.create(Team(id: "team_g", name: "geckos", createdAt: start), founder: gus.id, inviteCode: nil)
            #expect(try await db.teams.inviteCode(teamID: "team_g") == nil)
        }
    }

    @Test("creating a team is all or nothing: a founder in a team, a missing founder, a taken name or code leaves no team", arguments: StoreBackend.enabled)
    func createWithFounderRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let fay = player("usr_f", "fay")
            let hal = player("usr_h", "hal")
            try await db.accounts.createUser(fay)
            try await db.accounts.createUser(hal)
            let falcons = Team(id: "team_f", name: "falcons", createdAt: start)
            try await db.teams.create(falcons, founder: fay.id, inviteCode: "fly")

            // The team insert succeeds, then the founder's membership fails: the team must go too.
            await expectBerthError(.alreadyMember) {
                try await db.teams.create(Team(id: "team_2", name: "second", createdAt: start), founder: fay.id, inviteCode: "two")
            }
            await expectBerthError(.invalidReference) {
                try await db.teams.create(Team(id: "team_3", name: "ghosts", createdAt: start), founder: "usr_ghost", inviteCode: "boo")
            }
            await expectBerthError(.teamNameTaken) {
                try await db.teams.create(Team(id: "team_4", name: "FALCONS", createdAt: start), founder: hal.id, inviteCode: "x")
            }
            await expectBerthError(.storeConflict) {
                try await db.teams.create(Team(id: "team_5", name: "hawks", createdAt: start), founder: hal.id, inviteCode: "fly")
            }
            #expect(try await db.teams.teams() == [falcons])
            #expect(try await db.teams.team(inviteCode: "two") == nil)
            #expect(try await db.teams.team(ofUser: hal.id) == nil)
            #expect(try await db.teams.team(ofUser: fay.id) == falcons)

            // Nothing of the refused teams holds their names or codes.
            let second = Team(id: "team_6", name: "second", createdAt: start.addingTimeInterval(1))
            try await db.teams.create(second, founder: hal.id, inviteCode: "two")
            #expect(try await db.teams.team(inviteCode: "two") == second)
        }
    }

    @Test("eight concurrent team creations by one founder: exactly one team exists afterwards", arguments: StoreBackend.enabled)
    func concurrentTeamCreations(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.accounts.createUser(player("usr_f", "fay"))
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        do {
                            try await db.teams.create(Team(id: "team_\(index)", name: "team \(index)", createdAt: start), founder: "usr_f", inviteCode: "code\(index)")
                            return "won"
                        } catch let error as BerthError {
                            return error.code.rawValue
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "won" }.count == 1, "\(outcomes)")
            #expect(outcomes.filter { $0 == "already_member" }.count == 7, "\(outcomes)")
            let teams = try await db.teams.teams()
            #expect(teams.count == 1)
            #expect(try await db.teams.team(ofUser: "usr_f") == teams.first)
        }
    }

    // MARK: Across repositories

    @Test("writes of both repositories in one outer transaction roll back together, the inner all-or-nothing ones included", arguments: StoreBackend.enabled)
    func outerTransaction(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            // A BerthError, because the transaction reports any other error as store_unavailable.
            await expectBerthError(.internalError) {
                try await db.withTransaction { tx in
                    try await tx.accounts.register(player("usr_i", "ivy"), passwordHash: "h", session: session("h_ivy", of: "usr_i"))
                    try await tx.teams.create(Team(id: "team_i", name: "ivies", createdAt: start), founder: "usr_i", inviteCode: "ivy")
                    #expect(try await tx.teams.team(ofUser: "usr_i")?.id == "team_i", "the transaction sees its own writes")
                    throw BerthError(.internalError, "abandoned on purpose")
                }
            }
            #expect(try await db.accounts.users().isEmpty)
            #expect(try await db.teams.teams().isEmpty)
            #expect(try await db.accounts.session(secretHash: "h_ivy", now: start) == nil)

            try await db.withTransaction { tx in
                try await tx.accounts.register(player("usr_i", "ivy"), passwordHash: "h", session: nil)
                try await tx.teams.create(Team(id: "team_i", name: "ivies", createdAt: start), founder: "usr_i", inviteCode: "ivy")
            }
            #expect(try await db.teams.members(teamID: "team_i").map(\.id) == ["usr_i"])
        }
    }
}
