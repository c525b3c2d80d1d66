import SQLKit

extension SQLRunner {
    /// Inside a transaction, waits for and holds the lock named `name` until the transaction
    /// ends, so replicas doing the same work take turns (PostgreSQL: a transaction-level advisory
    /// lock, freed at COMMIT or ROLLBACK or when the connection dies). On SQLite the transaction's
    /// `BEGIN IMMEDIATE` already holds the only write lock.
    public func lockForTransaction(_ name: String) async throws {
        guard dialect == .postgres else { return }
        try await run("lockForTransaction") { db in
            try await db.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: name)))").run()
        }
    }
}
