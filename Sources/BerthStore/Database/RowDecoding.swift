import BerthCore
import Foundation
import SQLKit

/// Reads rows through Codable. A row that does not decode is an error naming its table, its key
/// and what was wrong (`store_row_invalid`), never a row silently left out.
public enum RowDecoding {
    /// Decodes every row as `Model` (columns in snake_case, properties in camelCase).
    public static func models<Model: Decodable>(
        _ rows: [any SQLRow], as type: Model.Type, table: String, key: String
    ) throws -> [Model] {
        try rows.map { try model($0, as: type, table: table, key: key) }
    }

    /// Decodes one row as `Model`.
    public static func model<Model: Decodable>(_ row: any SQLRow, as type: Model.Type, table: String, key: String) throws -> Model {
        do {
            return try row.decode(model: type, keyDecodingStrategy: .convertFromSnakeCase)
        } catch {
            throw invalid(row, table: table, key: key, reason: "\(error)")
        }
    }

    /// Decodes one column of a row.
    public static func column<Value: Decodable>(_ row: any SQLRow, _ column: String, as type: Value.Type, table: String, key: String) throws -> Value {
        do {
            return try row.decode(column: column, as: type)
        } catch {
            throw invalid(row, table: table, key: key, reason: "the column '\(column)' does not decode as \(type)")
        }
    }

    /// The error for a row of `table` that does not decode; `key` names the column(s) that
    /// identify it (e.g. `id`, or `owner_kind,owner_id,environment`).
    public static func invalid(_ row: any SQLRow, table: String, key: String, reason: String) -> BerthError {
        let keys = key.split(separator: ",").map { column in
            // Text keys (ids) or integer keys (sequences).
            (try? row.decode(column: String(column), as: String.self))
                ?? (try? row.decode(column: String(column), as: Int.self)).map(String.init) ?? "?"
        }
        return invalid(table: table, key: keys.joined(separator: ", "), reason: reason)
    }

    /// The error for a row of `table` whose key values (`key`, already read) are known but whose
    /// content is not what Berth wrote (an unknown state, enum value…).
    public static func invalid(table: String, key: String, reason: String) -> BerthError {
        BerthError(
            .storeRowInvalid,
            "The stored row \(table)(\(key)) is invalid (\(reason)); the database was changed outside Berth or is damaged."
        )
    }

    /// The error for one column of a row of `table` (named by `row`) whose value decoded but
    /// means nothing to Berth: an unknown enum case, bad JSON, an unknown access.
    public static func invalidColumn(table: String, row: String, column: String) -> BerthError {
        BerthError(
            .storeRowInvalid,
            "The stored row \(table)(\(row)) has an invalid '\(column)'; the database was changed outside Berth or is damaged."
        )
    }
}

/// Columns that hold JSON (endpoints, lab steps, check failures): sorted keys, dates as seconds.
public enum JSONColumn {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .secondsSince1970
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes `text`; a failure is `store_row_invalid` naming the table, the row and the column.
    public static func decode<Value: Decodable>(_ type: Value.Type, from text: String, table: String, row: String, column: String) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw RowDecoding.invalidColumn(table: table, row: row, column: column)
        }
    }
}
