#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A recording or signing-key failure: a stable code, a message that says what to do, and the cause.
public struct RecordingError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable code such as `recording_io_failed`.
    public var code: String
    /// Human-readable explanation with the next step; never contains key material.
    public var message: String
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    /// Creates an error from its parts.
    public init(code: String, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The code and message, and the cause when there is one.
    public var description: String {
        guard let cause else { return "\(code): \(message)" }
        return "\(code): \(message) (\(cause))"
    }

    /// A recording file already exists; recordings are never overwritten.
    static func exists(_ path: String) -> RecordingError {
        RecordingError(
            code: "recording_exists",
            message: "\(path) already exists. Recordings are never overwritten; choose a new file name.")
    }

    /// Creating, writing or closing a recording file failed.
    static func io(_ what: String, _ path: String, errno code: Int32? = nil, cause: (any Error)? = nil) -> RecordingError {
        let reason = code.map { ": " + String(cString: strerror($0)) } ?? ""
        return RecordingError(
            code: "recording_io_failed",
            message: "Could not \(what) \(path)\(reason). Check the disk space and the permissions of the data directory.",
            cause: cause)
    }

    /// The signing key file cannot be used.
    static func key(_ message: String, cause: (any Error)? = nil) -> RecordingError {
        RecordingError(code: "recording_key_invalid", message: message, cause: cause)
    }
}
