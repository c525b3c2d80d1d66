import DockerEngine
import Foundation

/// Limits and timeouts of browser terminals. Every value has a documented default and can be
/// set through ``BerthCore/BerthConfiguration``.
public struct TerminalSettings: Sendable, Equatable {
    /// How long a PTY outlives its last client, waiting for a reconnect (default 5 minutes).
    public var reconnectWindow: Duration = .seconds(300)
    /// Bytes of recent output kept per terminal and replayed to a returning client (default 256 KiB).
    public var screenBufferBytes = 256 * 1024
    /// Largest WebSocket frame accepted from a client (default 64 KiB).
    public var maxFrameBytes = 64 * 1024
    /// Sustained input rate per terminal, in bytes per second (default 64 KiB/s). Faster input is
    /// held back (the server stops reading the client's socket), never dropped.
    public var inputBytesPerSecond = 64 * 1024
    /// Input burst allowed on top of the sustained rate, e.g. a paste (default 256 KiB).
    public var inputBurstBytes = 256 * 1024
    /// Output queued for one client before it counts as slow (default 1 MiB). A slow client,
    /// writer or spectator, skips ahead (a client with acknowledgements as soon as its window is
    /// full), so it never slows the PTY or anyone else.
    public var clientQueueBytes = 1024 * 1024
    /// Bytes of the screen buffer sent to a client that skipped ahead, when it has caught up
    /// (default 64 KiB): enough to redraw a screen, small enough to show at once.
    public var resyncReplayBytes = 64 * 1024
    /// Seconds before expiry from which clients get `expiring` events (default 300).
    public var expiryWarningSeconds = 300

    /// Whole seconds until `expiresAt` (negative once past) when clients should be warned, else nil.
    public func secondsLeftToWarn(before expiresAt: Date) -> Int? {
        let secondsLeft = Int(expiresAt.timeIntervalSinceNow.rounded(.down))
        return secondsLeft <= expiryWarningSeconds ? secondsLeft : nil
    }
    /// Docker detach keys for terminal execs: a sequence nobody types, so Ctrl-P and Ctrl-Q reach the shell.
    public var detachKeys = TTYExecRequest.berthDetachKeys
    /// Lifetime of a terminal ticket (at most 60 s).
    public var ticketLifetime: Duration = .seconds(30)

    /// Creates the defaults.
    public init() {}
}
