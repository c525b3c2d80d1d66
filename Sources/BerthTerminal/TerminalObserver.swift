import NIOCore

/// Watches everything that happens on one terminal, in order: the recorder implements it.
public protocol TerminalObserver: Sendable {
    /// Output the PTY produced.
    func output(_ bytes: ByteBuffer) async
    /// Input a writer sent to the PTY.
    func input(_ bytes: ByteBuffer) async
    /// The PTY was resized.
    func resized(_ size: TerminalSize) async
    /// Something happened around the terminal: a client connected, a share, an admin action.
    func marker(_ label: String) async
    /// Writes what is buffered; called at least once a second.
    func flush() async
    /// The terminal ended; write everything and seal.
    func close() async
}

/// Makes the observer of a new terminal, or nil to leave it unobserved.
public typealias TerminalObserverFactory = @Sendable (_ instanceID: String, _ terminal: String, _ size: TerminalSize) async -> (any TerminalObserver)?
