import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

@Suite("WorkspaceRepository: workspaces and their sync status")
struct WorkspaceRepositoryTests {
    typealias F = PlayFixtures

    static func workspace(_ id: String, owner: Owner, environment: String = "notes", offset: TimeInterval = 0) -> WorkspaceRecord {
        WorkspaceRecord(
            id: id, owner: owner, environment: environment, sizeBytes: 64 << 20, createdAt: F.epoch.addingTimeInterval(offset),
            lastUsedAt: F.epoch.addingTimeInterval(offset)
        )
    }

    @Test("a workspace is inserted, found by id and by owner and environment, listed, touched, synced and deleted", arguments: StoreBackend.enabled)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let mine = Self.workspace("ws_1", owner: F.ada)
            let ours = Self.workspace("ws_2", owner: F.crew, offset: 10)
            let other = Self.workspace("ws_3", owner: F.ada, environment: "lab", offset: 20)
            try await db.workspaces.insertWorkspace(mine)
            try await db.workspaces.insertWorkspace(ours)
            try await db.workspaces.insertWorkspace(other)
            #expect(try await db.workspaces.workspace(id: "ws_1") == mine)
            #expect(try await db.workspaces.workspace(id: "ws_9") == nil)
            #expect(try await db.workspaces.workspace(owner: F.crew, environment: "notes") == ours)
            #expect(try await db.workspaces.workspace(owner: F.crew, environment: "lab") == nil)
            #expect(try await db.workspaces.workspaces(owner: nil).map(\.id) == ["ws_1", "ws_2", "ws_3"])
            #expect(try await db.workspaces.workspaces(owner: F.ada).map(\.id) == ["ws_1", "ws_3"])

            // Past 4 GiB: the quota is a 64-bit integer on both databases.
            let large: Int64 = 5 << 30
            #expect(try await db.workspaces.markWorkspaceUsed(id: "ws_1", at: F.epoch.addingTimeInterval(99), sizeBytes: large))
            #expect(try await db.workspaces.markWorkspaceUsed(id: "ws_9", at: F.epoch, sizeBytes: 1) == false)
            let touched = try #require(try await db.workspaces.workspace(id: "ws_1"))
            #expect(touched.lastUsedAt == F.epoch.addingTimeInterval(99) && touched.sizeBytes == large)

            let failed = WorkspaceSyncStatus(
                state: .failed, syncedAt: F.epoch.addingTimeInterval(5), remoteVersion: 3, attempts: 2,
                nextAttemptAt: F.epoch.addingTimeInterval(60), lastError: F.awkward
            )
            #expect(try await db.workspaces.saveWorkspaceSyncStatus(failed, workspaceID: "ws_2"))
            #expect(try await db.workspaces.workspace(id: "ws_2")?.sync == failed)
            #expect(try await db.workspaces.saveWorkspaceSyncStatus(failed, workspaceID: "ws_9") == false)
            let synced = WorkspaceSyncStatus(state: .synced, syncedAt: F.epoch.addingTimeInterval(70), remoteVersion: 4)
            #expect(try await db.workspaces.saveWorkspaceSyncStatus(synced, workspaceID: "ws_2"))
            #expect(try await db.workspaces.workspace(id: "ws_2")?.sync == synced)

            #expect(try await db.workspaces.deleteWorkspace(id: "ws_2"))
            #expect(try await db.workspaces.deleteWorkspace(id: "ws_2") == false)
            #expect(try await db.workspaces.workspaces(owner: nil).map(\.id) == ["ws_1", "ws_3"])
        }
    }

    @Test("an owner has one workspace per environment, and an id is used once", arguments: StoreBackend.enabled)
    func uniquePerOwnerAndEnvironment(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.workspaces.insertWorkspace(Self.workspace("ws_1", owner: F.ada))
            let sameOwner = await #expect(throws: BerthError.self) { try await db.workspaces.insertWorkspace(Self.workspace("ws_2", owner: F.ada)) }
            #expect(sameOwner?.code == .internalError)
            #expect(sameOwner?.message.contains("user:usr_ada already has a workspace for 'notes'") == true)
            let sameID = await #expect(throws: BerthError.self) {
                try await db.workspaces.insertWorkspace(Self.workspace("ws_1", owner: F.crew, environment: "lab"))
            }
            #expect(sameID?.message.contains("Workspace ws_1 already exists") == true)
            try await db.workspaces.insertWorkspace(Self.workspace("ws_3", owner: F.crew))
            #expect(try await db.workspaces.workspaces(owner: nil).map(\.id) == ["ws_1", "ws_3"])
        }
    }

    @Test("environment names and owner ids keep quotes and unicode", arguments: StoreBackend.enabled)
    func awkwardText(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            let owner = Owner(kind: .team, id: "team_'☃'\"")
            let workspace = Self.workspace("ws_'1'", owner: owner, environment: "note's \"book\" 📓")
            try await db.workspaces.insertWorkspace(workspace)
            #expect(try await db.workspaces.workspace(owner: owner, environment: "note's \"book\" 📓") == workspace)
            #expect(try await db.workspaces.workspaces(owner: owner) == [workspace])
            #expect(try await db.workspaces.workspaces(owner: Owner(kind: .user, id: owner.id)).isEmpty)
        }
    }

    @Test("a failed write in a transaction undoes the workspace written before it", arguments: StoreBackend.enabled)
    func transactionRollsBack(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.workspaces.insertWorkspace(Self.workspace("ws_1", owner: F.ada))
            await #expect(throws: BerthError.self) {
                try await db.workspaces.withTransaction { workspaces in
                    try await workspaces.insertWorkspace(Self.workspace("ws_2", owner: F.crew))
                    #expect(try await workspaces.markWorkspaceUsed(id: "ws_1", at: F.epoch.addingTimeInterval(50), sizeBytes: 1 << 30))
                    try await workspaces.insertWorkspace(Self.workspace("ws_3", owner: F.ada))
                }
            }
            #expect(try await db.workspaces.workspaces(owner: nil) == [Self.workspace("ws_1", owner: F.ada)])
        }
    }

    @Test("a database made before workspaces (up to 0005_labs) gains the table when opened, keeping its data", arguments: StoreBackend.enabled)
    func migrationFrom0005(_ backend: StoreBackend) async throws {
        try await F.withStorage(backend) { url in
            let first = try await F.open(url)
            do {
                try await first.labs.saveLabProgress(LabRepositoryTests.progress(F.ada))
                // Take the database back to what a release with five migrations left behind.
                try await F.execute(
                    first, "DROP TABLE workspaces", "DROP TABLE terminal_tickets", "DROP TABLE share_links", "DROP TABLE throttle_events",
                    "DROP TABLE port_leases", "DROP TABLE replicas", "DROP TABLE instance_claims", "DROP TABLE terminal_holders", "DROP TABLE cluster", "DROP TABLE presence",
                    "DELETE FROM schema_migrations WHERE name > '0005_labs'"
                )
                #expect(try await first.appliedMigrations().last == "0005_labs")
                try await first.close()
            } catch {
                try? await first.close()
                throw error
            }

            let reopened = try await F.open(url)
            do {
                #expect(try await reopened.appliedMigrations() == BerthDatabase.migrationNames)
                #expect(try await reopened.labs.labProgress(owner: F.ada, environment: "lab-one") == LabRepositoryTests.progress(F.ada))
                try await reopened.workspaces.insertWorkspace(Self.workspace("ws_1", owner: F.ada))
                #expect(try await reopened.workspaces.workspaces(owner: nil).count == 1)
                try await reopened.close()
            } catch {
                try? await reopened.close()
                throw error
            }
        }
    }

    @Test("a row that does not decode is store_row_invalid naming the workspace and column, never dropped", arguments: StoreBackend.enabled)
    func invalidRows(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { db in
            try await db.workspaces.insertWorkspace(Self.workspace("ws_1", owner: F.ada))
            try await db.workspaces.insertWorkspace(Self.workspace("ws_2", owner: F.crew, offset: 1))

            try await F.execute(db, "UPDATE workspaces SET sync_state = 'lost' WHERE id = 'ws_1'")
            let state = await #expect(throws: BerthError.self) { try await db.workspaces.workspaces(owner: nil) }
            #expect(state?.code == .storeRowInvalid)
            #expect(state?.message.contains("workspaces(ws_1) has an invalid 'sync_state'") == true)
            let byID = await #expect(throws: BerthError.self) { try await db.workspaces.workspace(id: "ws_1") }
            #expect(byID?.code == .storeRowInvalid)
            #expect(try await db.workspaces.workspace(id: "ws_2") != nil)

            try await F.execute(db, "UPDATE workspaces SET sync_state = 'local_only', size_bytes = 0 WHERE id = 'ws_1'")
            let size = await #expect(throws: BerthError.self) { try await db.workspaces.workspace(owner: F.ada, environment: "notes") }
            #expect(size?.message.contains("workspaces(ws_1) has an invalid 'size_bytes'") == true)

            try await F.execute(db, "UPDATE workspaces SET size_bytes = 1, owner_kind = 'robot' WHERE id = 'ws_1'")
            let owner = await #expect(throws: BerthError.self) { try await db.workspaces.workspaces(owner: nil) }
            #expect(owner?.message.contains("workspaces(ws_1) has an invalid 'owner_kind'") == true)
        }
    }
}
