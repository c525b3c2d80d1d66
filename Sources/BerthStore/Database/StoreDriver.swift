import BerthCore
import Foundation

/// A database connection (SQLite) or pool (PostgreSQL) that repositories run on.
protocol StoreDriver: SQLRunner {
    /// Releases the connections.
    func close() async throws
}

// `DatabaseLocation` and `PostgresLocation` live in BerthCore (DatabaseLocation.swift), so the
// configuration validates BERTH_DATABASE_URL when it is loaded, by the same rules.
