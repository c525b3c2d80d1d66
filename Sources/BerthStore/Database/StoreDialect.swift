/// Which database a store speaks to. Repositories write one set of SQLKit queries for both; this
/// type holds the few statements that must differ: locks, SKIP LOCKED and advisory locks.
public enum StoreDialect: String, Sendable {
    case sqlite
    case postgres

    /// Appended to a `SELECT … FOR UPDATE` that claims due rows: PostgreSQL skips rows another
    /// replica holds; SQLite has one writer at a time, so it needs nothing.
    public var skipLocked: String {
        switch self {
        case .sqlite: ""
        case .postgres: "FOR UPDATE SKIP LOCKED"
        }
    }

    /// Appended to a `SELECT` that must lock the rows it reads until the transaction ends
    /// (PostgreSQL). SQLite's `BEGIN IMMEDIATE` already holds the only write lock.
    public var forUpdate: String {
        switch self {
        case .sqlite: ""
        case .postgres: "FOR UPDATE"
        }
    }
}
