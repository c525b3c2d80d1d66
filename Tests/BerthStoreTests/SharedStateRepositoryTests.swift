import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

@Suite("Shared state: terminal tickets, share links, throttles")
struct SharedStateRepositoryTests {
    static func ticket(_ hash: String = "hash-1", instance: String = "inst_a", expiresAt: Date = Date(timeIntervalSince1970: 4_000_000_000.25)) -> TicketRecord {
        TicketRecord(
            secretHash: hash, instanceID: instance, userID: "usr_o'brien", access: "write", terminal: "main",
            countsAsPresence: true, expiresAt: expiresAt
        )
    }

    @Test("a ticket is seen, redeemed once, then taken once; never for another instance or after expiry", arguments: StoreBackend.enabled)
    func ticketLife(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let tickets = database.sharedState
            let now = Date()
            try await tickets.issueTicket(Self.ticket())
            #expect(try await tickets.outstandingTicket(secretHash: "hash-1", instanceID: "inst_b", now: now) == nil)
            #expect(try await tickets.outstandingTicket(secretHash: "hash-1", instanceID: "inst_a", now: now) == Self.ticket())
            #expect(try await tickets.takeRedeemedTicket(secretHash: "hash-1", now: now) == nil, "not redeemed yet")
            #expect(try await tickets.redeemTicket(secretHash: "hash-1", instanceID: "inst_b", now: now) == nil)
            let redeemed = try #require(try await tickets.redeemTicket(secretHash: "hash-1", instanceID: "inst_a", now: now))
            #expect(redeemed.userID == "usr_o'brien" && redeemed.countsAsPresence && redeemed.access == "write")
            #expect(try await tickets.redeemTicket(secretHash: "hash-1", instanceID: "inst_a", now: now) == nil, "single use")
            #expect(try await tickets.outstandingTicket(secretHash: "hash-1", instanceID: "inst_a", now: now) == nil)
            #expect(try await tickets.takeRedeemedTicket(secretHash: "hash-1", now: now) == Self.ticket())
            #expect(try await tickets.takeRedeemedTicket(secretHash: "hash-1", now: now) == nil, "taken once")

            try await tickets.issueTicket(Self.ticket("hash-2", expiresAt: now.addingTimeInterval(5)))
            #expect(try await tickets.redeemTicket(secretHash: "hash-2", instanceID: "inst_a", now: now.addingTimeInterval(6)) == nil, "expired")
            #expect(try await tickets.purgeTickets(now: now.addingTimeInterval(6)) == 1)
        }
    }

    @Test("20 concurrent redemptions of one ticket: exactly one wins", arguments: StoreBackend.enabled)
    func oneWinner(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            try await database.sharedState.issueTicket(Self.ticket())
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await database.sharedState.redeemTicket(secretHash: "hash-1", instanceID: "inst_a", now: Date()) != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
        }
    }

    @Test("a ticket issued through one replica is redeemed once through another (two connections to one PostgreSQL schema)")
    func acrossReplicas() async throws {
        guard StoreBackend.postgresURL != nil else { return }
        let schema = try await TestPostgres.createSchema()
        defer { Task { try? await TestPostgres.dropSchema(schema) } }
        let first = try await BerthDatabase.open(url: try TestPostgres.url(schema: schema))
        let second = try await BerthDatabase.open(url: try TestPostgres.url(schema: schema))
        try await first.sharedState.issueTicket(Self.ticket())
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for database in [first, second, first, second] {
                group.addTask { try await database.sharedState.redeemTicket(secretHash: "hash-1", instanceID: "inst_a", now: Date()) != nil }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await second.sharedState.takeRedeemedTicket(secretHash: "hash-1", now: Date()) != nil)
        try await first.close()
        try await second.close()
    }

    @Test("share links belong to their instance and end with it", arguments: StoreBackend.enabled)
    func shares(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let now = Date(timeIntervalSince1970: 1_800_000_000.25)
            let share = ShareRecord(secretHash: "s1", instanceID: "inst_a", access: "read", createdBy: "usr_1", createdAt: now)
            try await database.sharedState.createShare(share)
            try await database.sharedState.createShare(ShareRecord(secretHash: "s2", instanceID: "inst_a", access: "write", createdBy: "usr_1", createdAt: now))
            #expect(try await database.sharedState.share(secretHash: "s1", instanceID: "inst_a") == share)
            #expect(try await database.sharedState.share(secretHash: "s1", instanceID: "inst_b") == nil)
            await expectBerthError(.storeConflict) { try await database.sharedState.createShare(share) }
            #expect(try await database.sharedState.revokeShares(instanceID: "inst_a") == 2)
            #expect(try await database.sharedState.share(secretHash: "s1", instanceID: "inst_a") == nil)
        }
    }

    @Test("throttle events are counted per scope and subject, reset and purged", arguments: StoreBackend.enabled)
    func throttles(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let state = database.sharedState
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            for offset in [0.0, 10, 20] {
                try await state.recordThrottleEvent(scope: "signin.account", subject: "ALICE é", at: start.addingTimeInterval(offset))
            }
            try await state.recordThrottleEvent(scope: "signin.address", subject: "ALICE é", at: start)
            #expect(try await state.throttleEvents(scope: "signin.account", subject: "ALICE é", since: start.addingTimeInterval(-1)).count == 3)
            #expect(try await state.throttleEvents(scope: "signin.account", subject: "ALICE é", since: start.addingTimeInterval(5))
                == [start.addingTimeInterval(10), start.addingTimeInterval(20)])
            try await state.resetThrottle(scope: "signin.account", subject: "ALICE é")
            #expect(try await state.throttleEvents(scope: "signin.account", subject: "ALICE é", since: .distantPast).isEmpty)
            #expect(try await state.throttleEvents(scope: "signin.address", subject: "ALICE é", since: .distantPast).count == 1)
            #expect(try await state.purgeThrottleEvents(before: start) == 1)
        }
    }
}
