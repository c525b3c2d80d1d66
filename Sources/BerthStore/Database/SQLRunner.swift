import BerthCore
import SQLKit
import Synchronization

/// Runs SQLKit queries on a connection of the store: outside a transaction each call takes a
/// connection (SQLite: the one connection, in turn; PostgreSQL: one of the pool's), inside one
/// every call runs on the transaction's pinned connection.
///
/// Repositories hold a runner and never a connection, so the same repository value works inside
/// and outside a transaction.
public protocol SQLRunner: Sendable {
    var dialect: StoreDialect { get }

    /// Runs `body` on a connection. `operation` (the repository method's name, a bounded set)
    /// labels the call's duration in the metrics.
    func run<R: Sendable>(_ operation: String, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// Inside a transaction this joins it (there are no nested transactions).
    func transaction<R: Sendable>(_ body: @Sendable (any SQLRunner) async throws -> R) async throws -> R
}

extension SQLRunner {
    /// ``run(_:_:)`` labelled with the calling method's name.
    public func run<R: Sendable>(function: String = #function, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await run(function, body)
    }
}

/// The runner inside a transaction: every call uses the transaction's connection.
///
/// On PostgreSQL a failed statement aborts the whole transaction, so a repository must not catch
/// a constraint violation inside one and go on: use `ON CONFLICT` instead. The runner remembers
/// a database error that left a call (``TransactionHealth``), and the transaction then refuses to
/// commit on both databases, so code that would lose its writes on PostgreSQL fails on SQLite too.
struct PinnedRunner: SQLRunner {
    let database: any SQLDatabase
    let dialect: StoreDialect
    let record: @Sendable (String, Duration) -> Void
    let health: TransactionHealth

    func run<R: Sendable>(_ operation: String, _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let started = ContinuousClock.now
        defer { record(operation, ContinuousClock.now - started) }
        // Errors pass unchanged: the transaction maps them when it ends, after deciding on a retry.
        do {
            return try await body(database)
        } catch {
            health.noteFailure(error)
            throw error
        }
    }

    func transaction<R: Sendable>(_ body: @Sendable (any SQLRunner) async throws -> R) async throws -> R {
        try await body(self)
    }
}

/// Something whose queries run through a ``SQLRunner``: every repository.
public protocol Repository: Sendable {
    var sql: any SQLRunner { get }
    init(sql: any SQLRunner)
}

extension Repository {
    /// Runs `body` in one transaction, with this repository bound to it.
    public func withTransaction<R: Sendable>(_ body: @Sendable (Self) async throws -> R) async throws -> R {
        try await sql.transaction { pinned in try await body(Self(sql: pinned)) }
    }
}

/// Whether a statement of a transaction failed. PostgreSQL aborts a transaction at its first
/// failed statement and answers a later `COMMIT` with a rollback, not an error; a body that caught
/// that statement's error would return as if its writes were kept. The drivers check this before
/// `COMMIT` and roll back with `store_unavailable` instead.
final class TransactionHealth: Sendable {
    private let failure = Mutex<String?>(nil)

    /// Remembers `error` when it came from the database (Berth's own errors, such as a row that
    /// does not decode, leave the transaction usable).
    func noteFailure(_ error: any Error) {
        guard !(error is BerthError), !(error is CancellationError) else { return }
        let description = StoreErrors.describe(error)
        failure.withLock { if $0 == nil { $0 = description } }
    }

    /// Throws when a statement failed: the transaction must roll back.
    func checkCommittable() throws {
        if let failure = failure.withLock({ $0 }) {
            throw Self.rolledBack(failure)
        }
    }

    static func rolledBack(_ reason: String) -> BerthError {
        BerthError(
            .storeUnavailable,
            "The transaction was rolled back: a statement in it failed (\(reason)) and the error was caught inside the transaction; let it end the transaction, or avoid the failure (ON CONFLICT)."
        )
    }
}
