import BerthCore
import PostgresNIO
import SQLiteNIO

/// Turns what SQLite and PostgreSQL report into Berth's errors. Repositories catch a unique
/// violation (``isUniqueViolation(_:)``) where it has a meaning of its own (`user_name_taken`, …);
/// any other becomes `store_conflict`.
public enum StoreErrors {
    /// True when `error` is a unique or primary-key violation.
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? SQLiteError {
            switch error.reason {
            case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed: return true
            case .constraint: return error.message.contains("UNIQUE") || error.message.contains("PRIMARY KEY")
            default: return false
            }
        }
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        return false
    }

    /// True when `error` is a foreign-key violation.
    public static func isForeignKeyViolation(_ error: any Error) -> Bool {
        if let error = error as? SQLiteError {
            switch error.reason {
            case .constraintForeignKeyFailed: return true
            case .constraint: return error.message.contains("FOREIGN KEY")
            default: return false
            }
        }
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23503" }
        return false
    }

    /// True when PostgreSQL asks for the transaction to be run again (serialization failure, deadlock).
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// Berth's errors pass unchanged; a constraint violation becomes `invalid_reference` or
    /// `store_conflict`; anything else the database reports becomes `store_unavailable`.
    public static func map(_ error: any Error) -> any Error {
        if error is BerthError || error is CancellationError { return error }
        if isForeignKeyViolation(error) {
            return BerthError(.invalidReference, "A referenced user, team or instance does not exist.")
        }
        if isUniqueViolation(error) {
            return BerthError(.storeConflict, "The row already exists: \(describe(error))")
        }
        return BerthError(.storeUnavailable, "The database failed: \(describe(error))")
    }

    /// What the database said, without PSQLError's redaction of the server message.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            // Without a server message (refused, reset, TLS), the cause is the underlying error.
            let message = error.serverInfo?[.message] ?? (error.underlying.map { "\(error.code): \($0)" } ?? "\(error.code)")
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + state
        }
        if let error = error as? SQLiteError { return error.message }
        return "\(error)"
    }
}
