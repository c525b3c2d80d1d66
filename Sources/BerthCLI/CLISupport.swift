import ArgumentParser
import BerthCore
import Foundation
import Logging

/// Shared plumbing for commands: configuration, logging and output.
enum CLISupport {
    /// Resolves server settings from flags, `BERTH_*` variables and an optional config file.
    static func resolveConfiguration(flags: [String: String], configFile: String?) throws -> BerthConfiguration {
        var yaml: String?
        if let configFile {
            do {
                yaml = try String(contentsOfFile: configFile, encoding: .utf8)
            } catch {
                throw BerthError(.invalidConfig, "Cannot read the config file \(configFile): \(error.localizedDescription)")
            }
        }
        return try BerthConfiguration.resolve(flags: flags, environment: ProcessInfo.processInfo.environment, configFileYAML: yaml)
    }

    /// Sends logs to standard error at `level` and returns the server's logger.
    static func bootstrapLogging(level: String) -> Logger {
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        var logger = Logger(label: "berth")
        logger.logLevel = parsed
        return logger
    }

    /// Prints `value` as pretty JSON on standard output.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A time as the server writes it in JSON: ISO-8601 in UTC, whole seconds.
    static func text(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// Prints rows as aligned columns under `header`.
    static func printTable(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let padded = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            print(padded.joined(separator: "  "))
        }
    }
}

/// `--json` for commands that print data.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.")
    var json = false
}
