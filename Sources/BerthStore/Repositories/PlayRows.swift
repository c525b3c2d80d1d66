import BerthCore
import SQLKit

/// What the play, lab and workspace repositories share to read and filter their rows.
enum PlayRows {
    /// A stored row, named as ``RowDecoding`` names it, for the errors of values that decode as
    /// text but mean nothing (an unknown enum case, a bad owner).
    struct Key {
        let table: String
        let row: String

        func invalid(_ column: String) -> BerthError {
            RowDecoding.invalidColumn(table: table, row: row, column: column)
        }

        func owner(_ kind: String, _ id: String, column: String = "owner_kind") throws -> Owner {
            guard let kind = Owner.Kind(rawValue: kind) else { throw invalid(column) }
            return Owner(kind: kind, id: id)
        }

        func enumeration<Value: RawRepresentable>(_ type: Value.Type, _ text: String, column: String) throws -> Value where Value.RawValue == String {
            guard let value = Value(rawValue: text) else { throw invalid(column) }
            return value
        }

        func json<Value: Decodable>(_ type: Value.Type, _ text: String, column: String) throws -> Value {
            try JSONColumn.decode(type, from: text, table: table, row: row, column: column)
        }
    }

    /// `kind = … AND id = …` for an owner stored in two columns.
    static func owner(_ owner: Owner, kind: String = "owner_kind", id: String = "owner_id") -> SQLQueryString {
        "\(unsafeRaw: kind) = \(bind: owner.kind.rawValue) AND \(unsafeRaw: id) = \(bind: owner.id)"
    }

    /// `WHERE a AND b …`, or nothing without conditions.
    static func whereClause(_ conditions: [SQLQueryString]) -> SQLQueryString {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }
}
