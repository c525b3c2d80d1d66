import Foundation

/// What a terminal recording captures.
public enum RecordingMode: String, Codable, Sendable, CaseIterable {
    /// Nothing is recorded and no files are created.
    case off
    /// Output (`o`), resizes (`r`) and markers (`m`).
    case output
    /// Everything `output` records, plus the keystrokes and pastes sent to the terminal (`i`).
    case inputOutput = "input-output"

    /// Whether `o`, `r` and `m` events are written.
    public var recordsOutput: Bool { self != .off }
    /// Whether `i` events are written.
    public var recordsInput: Bool { self == .inputOutput }
}

/// The first line of an asciicast v2 file: terminal size, start time, title and environment.
public struct RecordingHeader: Sendable, Equatable, Codable {
    /// Terminal width in columns when the recording started.
    public var width: Int
    /// Terminal height in rows when the recording started.
    public var height: Int
    /// Start of the recording in Unix seconds.
    public var timestamp: Int
    /// A human-readable title, omitted from the file when nil.
    public var title: String?
    /// Environment variables worth keeping, such as `SHELL` and `TERM`.
    public var env: [String: String]

    /// Creates a header; `timestamp` defaults to now.
    public init(
        width: Int,
        height: Int,
        timestamp: Int = Int(Date().timeIntervalSince1970),
        title: String? = nil,
        env: [String: String] = [:]
    ) {
        self.width = width
        self.height = height
        self.timestamp = timestamp
        self.title = title
        self.env = env
    }

    /// The header line as written to the file, newline included.
    ///
    /// Keys come in a fixed order and `env` is sorted, so the same header always gives the same bytes.
    public func jsonLine() -> [UInt8] {
        var line: [UInt8] = []
        line.append(contentsOf: #"{"version":2,"width":"#.utf8)
        line.append(contentsOf: String(width).utf8)
        line.append(contentsOf: #","height":"#.utf8)
        line.append(contentsOf: String(height).utf8)
        line.append(contentsOf: #","timestamp":"#.utf8)
        line.append(contentsOf: String(timestamp).utf8)
        if let title {
            line.append(contentsOf: #","title":"#.utf8)
            JSONText.appendQuoted(title, to: &line)
        }
        line.append(contentsOf: #","env":{"#.utf8)
        for (index, key) in env.keys.sorted().enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(key, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(env[key] ?? "", to: &line)
        }
        line.append(contentsOf: "}}\n".utf8)
        return line
    }
}
