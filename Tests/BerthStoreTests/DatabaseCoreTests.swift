import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import SQLKit
import Testing

@Suite("The store on SQLite and PostgreSQL")
struct DatabaseCoreTests {
    @Test("make test runs the store suite on PostgreSQL too")
    func postgresIsThereWhenRequired() {
        if StoreBackend.postgresRequired {
            #expect(StoreBackend.postgresURL != nil, "BERTH_TEST_REQUIRE_POSTGRES=1 but BERTH_TEST_POSTGRES_URL is not set")
        }
    }

    @Test("a new database has every migration, in order", arguments: StoreBackend.enabled)
    func migrations(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            #expect(try await database.appliedMigrations() == BerthDatabase.migrationNames)
            try await database.ping()
        }
    }
}
