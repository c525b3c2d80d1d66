import Foundation

extension BerthConfiguration {
    /// The database to open: ``databaseURL`` when set, else the SQLite file `<data-dir>/berth.db`.
    public func databaseLocation() throws -> DatabaseLocation {
        if let databaseURL { return try DatabaseLocation.parse(databaseURL) }
        return .sqlite(path: URL(fileURLWithPath: dataDirectory).appendingPathComponent("berth.db").path)
    }

    /// Checks `BERTH_DATABASE_URL` with the rules `BerthDatabase.open` applies, so a bad URL stops
    /// the server while it loads its settings, before anything is opened.
    mutating func applyDatabaseURL(_ value: String, source: String) throws {
        do {
            _ = try DatabaseLocation.parse(value)
        } catch let error as BerthError {
            // The parser's message already redacts the password; `value` is not repeated.
            throw BerthError(.invalidConfig, "\(source): \(error.message)")
        }
        databaseURL = value.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
