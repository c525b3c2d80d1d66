import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import SQLiteNIO
import Testing

@Suite("SQLiteStore: workspaces")
struct WorkspaceStoreTests {
    static let ada = Owner(kind: .user, id: "usr_ada")
    static let crew = Owner(kind: .team, id: "team_crew")

    static func workspace(_ id: String, owner: Owner, environment: String = "notes", offset: TimeInterval = 0) -> WorkspaceRecord {
        WorkspaceRecord(
            id: id, owner: owner, environment: environment, sizeBytes: 64 << 20, createdAt: epoch.addingTimeInterval(offset),
            lastUsedAt: epoch.addingTimeInterval(offset)
        )
    }

    @Test("a workspace is inserted, found by id and by owner and environment, listed, touched, synced and deleted")
    func roundTrip() async throws {
        try await withStore { store, _ in
            let mine = Self.workspace("ws_1", owner: Self.ada)
            let ours = Self.workspace("ws_2", owner: Self.crew, offset: 10)
            let other = Self.workspace("ws_3", owner: Self.ada, environment: "lab", offset: 20)
            try await store.insertWorkspace(mine)
            try await store.insertWorkspace(ours)
            try await store.insertWorkspace(other)
            #expect(try await store.workspace(id: "ws_1") == mine)
            #expect(try await store.workspace(id: "ws_9") == nil)
            #expect(try await store.workspace(owner: Self.crew, environment: "notes") == ours)
            #expect(try await store.workspace(owner: Self.crew, environment: "lab") == nil)
            #expect(try await store.workspaces(owner: nil).map(\.id) == ["ws_1", "ws_2", "ws_3"])
            #expect(try await store.workspaces(owner: Self.ada).map(\.id) == ["ws_1", "ws_3"])

            #expect(try await store.markWorkspaceUsed(id: "ws_1", at: epoch.addingTimeInterval(99), sizeBytes: 128 << 20))
            #expect(try await store.markWorkspaceUsed(id: "ws_9", at: epoch, sizeBytes: 1) == false)
            let touched = try #require(try await store.workspace(id: "ws_1"))
            #expect(touched.lastUsedAt == epoch.addingTimeInterval(99) && touched.sizeBytes == 128 << 20)

            let failed = WorkspaceSyncStatus(
                state: .failed, syncedAt: epoch.addingTimeInterval(5), remoteVersion: 3, attempts: 2,
                nextAttemptAt: epoch.addingTimeInterval(60), lastError: "connection refused"
            )
            #expect(try await store.saveWorkspaceSyncStatus(failed, workspaceID: "ws_2"))
            #expect(try await store.workspace(id: "ws_2")?.sync == failed)
            #expect(try await store.saveWorkspaceSyncStatus(failed, workspaceID: "ws_9") == false)

            #expect(try await store.deleteWorkspace(id: "ws_2"))
            #expect(try await store.deleteWorkspace(id: "ws_2") == false)
            #expect(try await store.workspaces(owner: nil).map(\.id) == ["ws_1", "ws_3"])
        }
    }

    @Test("an owner has one workspace per environment")
    func uniquePerOwnerAndEnvironment() async throws {
        try await withStore { store, _ in
            try await store.insertWorkspace(Self.workspace("ws_1", owner: Self.ada))
            let error = await #expect(throws: BerthError.self) { try await store.insertWorkspace(Self.workspace("ws_2", owner: Self.ada)) }
            #expect(error?.message.contains("already has a workspace for 'notes'") == true)
            try await store.insertWorkspace(Self.workspace("ws_3", owner: Self.crew))
        }
    }

    @Test("a database made before workspaces (up to 0005_labs) gains the table when opened, keeping its data")
    func migrationFrom0005() async throws {
        try await TemporaryDirectory.with(prefix: "berth-store") { directory in
            let path = directory.path("berth.db").path
            let first = try await SQLiteStore.open(path: path)
            try await first.createUser(User(id: "usr_ada", name: "ada", role: .player, createdAt: epoch))
            try await first.close()
            // Take the database back to what a release with five migrations left behind.
            let raw = try await SQLiteConnection.open(storage: .file(path: path), logger: Logger(label: "test"))
            _ = try await raw.query("DROP TABLE workspaces")
            _ = try await raw.query("DELETE FROM schema_migrations WHERE name = '0006_workspaces'")
            try await raw.close()

            let reopened = try await SQLiteStore.open(path: path)
            #expect(try await reopened.appliedMigrations().last == "0006_workspaces")
            #expect(try await reopened.user(id: "usr_ada")?.name == "ada")
            try await reopened.insertWorkspace(Self.workspace("ws_1", owner: Self.ada))
            #expect(try await reopened.workspaces(owner: nil).count == 1)
            try await reopened.close()
        }
    }

    @Test("a row that does not decode is an error naming the workspace and column, never dropped")
    func invalidRows() async throws {
        try await TemporaryDirectory.with(prefix: "berth-store") { directory in
            let path = directory.path("berth.db").path
            let store = try await SQLiteStore.open(path: path)
            try await store.insertWorkspace(Self.workspace("ws_1", owner: Self.ada))
            try await store.close()
            let raw = try await SQLiteConnection.open(storage: .file(path: path), logger: Logger(label: "test"))
            _ = try await raw.query("UPDATE workspaces SET sync_state = 'lost'")
            try await raw.close()

            let reopened = try await SQLiteStore.open(path: path)
            let error = await #expect(throws: BerthError.self) { try await reopened.workspaces(owner: nil) }
            #expect(error?.code == .storeRowInvalid)
            #expect(error?.message.contains("workspaces(ws_1)") == true && error?.message.contains("'sync_state'") == true)
            try await reopened.close()
        }
    }
}
