import Foundation

/// Who may do what on a terminal.
public enum TerminalAccess: String, Codable, Sendable {
    /// Input, resize and output: the owner, or someone given a read-write share link.
    case write
    /// Output only: admins watching (the proctor view) and read-only share links.
    case read
}

/// A PTY size in character cells.
public struct TerminalSize: Codable, Sendable, Equatable {
    /// Columns, 1...1000.
    public var cols: Int
    /// Rows, 1...1000.
    public var rows: Int

    /// Creates a size.
    public init(cols: Int, rows: Int) {
        self.cols = cols
        self.rows = rows
    }

    /// True when both dimensions are within 1...1000.
    public var isValid: Bool { (1...1000).contains(cols) && (1...1000).contains(rows) }
}

/// A JSON control message a client sends in a text frame.
public enum ClientControl: Sendable, Equatable {
    /// The client's terminal size changed.
    case resize(TerminalSize)
    /// The client rendered `bytes` more bytes of output (flow control).
    case ack(bytes: Int)
    /// The client asks for acknowledgement-based flow control with this window in bytes.
    case flow(window: Int)
    /// Keep-alive; answered with `pong`.
    case ping
    /// The client wants `written` after each of its input frames reaches the PTY (paste progress).
    case acknowledgeInput

    /// Parses a text frame; the error names what is wrong.
    public static func parse(_ text: String) -> Result<ClientControl, ControlParseError> {
        guard let data = text.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let type = object["type"] as? String
        else { return .failure(ControlParseError(message: "a control message is a JSON object with a \"type\"")) }
        func integer(_ key: String) -> Int? {
            if let number = object[key] as? Int { return number }
            if let number = object[key] as? Double, number == number.rounded() { return Int(number) }
            return nil
        }
        switch type {
        case "resize":
            guard let cols = integer("cols"), let rows = integer("rows") else {
                return .failure(ControlParseError(message: "resize needs integer cols and rows"))
            }
            let size = TerminalSize(cols: cols, rows: rows)
            guard size.isValid else { return .failure(ControlParseError(message: "cols and rows must be between 1 and 1000")) }
            return .success(.resize(size))
        case "ack":
            guard let bytes = integer("bytes"), bytes >= 0 else { return .failure(ControlParseError(message: "ack needs a non-negative integer bytes")) }
            return .success(.ack(bytes: bytes))
        case "flow":
            guard let window = integer("window"), window >= 4096 else {
                return .failure(ControlParseError(message: "flow needs an integer window of at least 4096 bytes"))
            }
            return .success(.flow(window: window))
        case "ping":
            return .success(.ping)
        case "acknowledgeInput":
            return .success(.acknowledgeInput)
        default:
            return .failure(ControlParseError(message: "unknown control message type '\(type.prefix(40))'"))
        }
    }
}

/// Why a client's control message was refused.
public struct ControlParseError: Error, Sendable, Equatable {
    /// What is wrong.
    public var message: String
}

/// A JSON control message the server sends in a text frame.
public enum ServerControl: Sendable, Equatable {
    /// The client is attached; `replayBytes` of recent output follow as binary frames.
    case ready(terminal: String, access: TerminalAccess, size: TerminalSize, replayBytes: Int)
    /// This client may not write; its input is ignored.
    case readonly
    /// The PTY size changed (sent to clients that did not ask for it).
    case resized(TerminalSize)
    /// The instance expires in `secondsLeft` seconds unless renewed.
    case expiring(secondsLeft: Int)
    /// The shell ended with this exit code (nil when unknown).
    case exited(code: Int?)
    /// The instance ended (stopped, expired, reset or killed); the terminal is closed.
    case closed(reason: String)
    /// This client fell behind and skipped `skippedBytes` of output; the last `replayBytes` of
    /// the screen buffer follow.
    case resync(replayBytes: Int, skippedBytes: Int)
    /// A recoverable problem, such as input over the rate limit.
    case notice(code: String, message: String)
    /// A fatal problem; the connection closes.
    case error(code: String, message: String)
    /// Answer to `ping`.
    case pong
    /// `bytes` more of this client's input reached the PTY (only after `acknowledgeInput`).
    case written(bytes: Int)

    /// The message as compact JSON text.
    public var json: String {
        var object: [String: Any]
        switch self {
        case .ready(let terminal, let access, let size, let replay):
            object = ["type": "ready", "terminal": terminal, "access": access.rawValue, "cols": size.cols, "rows": size.rows, "replayBytes": replay]
        case .readonly: object = ["type": "readonly"]
        case .resized(let size): object = ["type": "resized", "cols": size.cols, "rows": size.rows]
        case .expiring(let seconds): object = ["type": "expiring", "secondsLeft": seconds]
        case .exited(let code):
            object = ["type": "exited"]
            object["code"] = code.map { $0 as Any } ?? NSNull()
        case .closed(let reason): object = ["type": "closed", "reason": reason]
        case .resync(let replay, let skipped): object = ["type": "resync", "replayBytes": replay, "skippedBytes": skipped]
        case .notice(let code, let message): object = ["type": "notice", "code": code, "message": message]
        case .error(let code, let message): object = ["type": "error", "code": code, "message": message]
        case .pong: object = ["type": "pong"]
        case .written(let bytes): object = ["type": "written", "bytes": bytes]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{\"type\":\"error\"}" }
        return String(decoding: data, as: UTF8.self)
    }
}
