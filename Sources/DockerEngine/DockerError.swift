/// An error from the Docker Engine, carrying the daemon's own message.
public struct DockerError: Error, Sendable, CustomStringConvertible {
    /// HTTP status the daemon answered with (0 when it could not be reached).
    public var status: Int
    /// The daemon's message, or the transport failure.
    public var message: String
    /// What Berth was doing, e.g. `create container`.
    public var operation: String

    /// Creates an error.
    public init(status: Int, message: String, operation: String) {
        self.status = status
        self.message = message
        self.operation = operation
    }

    /// True when the daemon said the object does not exist.
    public var isNotFound: Bool { status == 404 }
    /// True when the daemon said the request conflicts (name in use, already stopped, …).
    public var isConflict: Bool { status == 409 }
    /// True when the daemon could not be reached at all.
    public var isUnreachable: Bool { status == 0 }

    public var description: String {
        status == 0 ? "docker \(operation): \(message)" : "docker \(operation): \(message) (HTTP \(status))"
    }
}
