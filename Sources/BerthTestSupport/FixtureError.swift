/// Why a test fixture could not be set up, phrased so the reader knows what to do next.
public struct FixtureError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and how to fix it.
    public var description: String

    /// Creates an error with a message.
    public init(_ description: String) {
        self.description = description
    }
}
