import BerthCore
import Foundation
import Logging
import ServiceLifecycle

/// What the hub needs to know about an instance to keep its terminals honest.
public struct TerminalInstanceStatus: Sendable {
    /// The container the terminals run in, nil when there is none (not running).
    public var containerID: String?
    /// When the instance expires.
    public var expiresAt: Date

    /// Creates a status.
    public init(containerID: String?, expiresAt: Date) {
        self.containerID = containerID
        self.expiresAt = expiresAt
    }
}

/// All live terminals, by instance and name. It starts each PTY in its own child task, closes
/// PTYs nobody has reconnected to within the window, warns clients before expiry, and closes
/// terminals of instances that ended.
public actor TerminalHub {
    private struct Key: Hashable {
        var instanceID: String
        var name: String
    }

    private let connector: any PTYConnector
    private let settings: TerminalSettings
    private let logger: Logger
    private let status: @Sendable (String) async -> TerminalInstanceStatus?
    private var sessions: [Key: TerminalSession] = [:]
    private var lastWarning: [String: Int] = [:]
    private nonisolated let jobs: AsyncStream<TerminalSession>
    private nonisolated let jobsContinuation: AsyncStream<TerminalSession>.Continuation
    private var shellExited: (@Sendable (String, String, Int?) async -> Void)?
    private var sessionEnded: (@Sendable (String, String) async -> Void)?
    private var observerFactory: TerminalObserverFactory?

    /// Creates a hub. `status` answers for an instance id, nil once the instance is no longer active.
    public init(
        connector: any PTYConnector, settings: TerminalSettings, logger: Logger,
        status: @escaping @Sendable (String) async -> TerminalInstanceStatus?
    ) {
        self.connector = connector
        self.settings = settings
        self.logger = logger
        self.status = status
        (jobs, jobsContinuation) = AsyncStream<TerminalSession>.makeStream()
    }

    /// Sets what happens when a shell exits on its own: called with instance id, terminal name and exit code.
    public func onShellExit(_ handler: @escaping @Sendable (String, String, Int?) async -> Void) {
        shellExited = handler
    }

    /// Sets what happens when a terminal's PTY has ended, for whatever reason: called with instance
    /// id and terminal name (the replica stops holding the terminal).
    public func onSessionEnd(_ handler: @escaping @Sendable (String, String) async -> Void) {
        sessionEnded = handler
    }

    /// Sets how each new terminal gets its observer (the recorder).
    public func observeTerminals(with factory: @escaping TerminalObserverFactory) {
        observerFactory = factory
    }

    /// The live terminal `name` of an instance, starting a PTY running `terminal` when there is none.
    public func session(instanceID: String, name: String, containerID: String, terminal: TerminalSpec, size: TerminalSize) async -> TerminalSession {
        let key = Key(instanceID: instanceID, name: name)
        if let existing = sessions[key] { return existing }
        let session = TerminalSession(
            instanceID: instanceID, name: name, containerID: containerID, terminal: terminal, size: size,
            connector: connector, settings: settings, logger: logger
        )
        sessions[key] = session
        if let observerFactory {
            await session.observe(with: await observerFactory(instanceID, name, size))
        }
        jobsContinuation.yield(session)
        return session
    }

    /// The live terminal `name` of an instance, if there is one.
    public func existingSession(instanceID: String, name: String) -> TerminalSession? {
        sessions[Key(instanceID: instanceID, name: name)]
    }

    /// Names of the live terminals of an instance.
    public func terminals(of instanceID: String) -> [String] {
        sessions.keys.filter { $0.instanceID == instanceID }.map(\.name).sorted()
    }

    /// Records a marker in every live terminal of an instance (shares, admin actions).
    public func mark(instanceID: String, _ label: String) async {
        for (key, session) in sessions where key.instanceID == instanceID {
            await session.mark(label)
        }
    }

    /// Closes every terminal of an instance, telling clients `reason`.
    public func closeAll(instanceID: String, reason: String) async {
        for (key, session) in sessions where key.instanceID == instanceID {
            await session.close(reason: reason)
        }
    }

    /// Number of live terminals.
    public var count: Int { sessions.count }

    /// The last `lines` lines (at most `maxBytes` bytes) of an instance's live terminal as plain
    /// text, escape sequences removed: its `main` terminal, else the first by name. "" when it has none.
    public func screenTail(instanceID: String, lines: Int = 40, maxBytes: Int = 4096) async -> String {
        let names = terminals(of: instanceID)
        guard let name = names.contains("main") ? "main" : names.first, let session = sessions[Key(instanceID: instanceID, name: name)] else {
            return ""
        }
        // Escape sequences can outweigh the text many times over: read far more than is kept.
        let raw = await session.screenSnapshot(last: max(maxBytes, 1) * 16)
        return TerminalText.tail(TerminalText.plain(raw), lines: lines, bytes: maxBytes)
    }

    /// Runs the PTYs and the sweep until cancelled.
    public nonisolated func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    await self.sweep()
                    do { try await Task.sleep(for: .seconds(1)) } catch { return }
                }
            }
            for await session in jobs {
                group.addTask {
                    let code = await session.run()
                    await self.ended(session, exitCode: code)
                }
            }
        }
    }

    /// Stops accepting new terminals; ``run()`` returns once the running ones end.
    public nonisolated func shutdown() {
        jobsContinuation.finish()
    }

    private func ended(_ session: TerminalSession, exitCode: Int?) async {
        let key = Key(instanceID: session.instanceID, name: session.name)
        if sessions[key] === session {
            sessions[key] = nil
            if let sessionEnded { await sessionEnded(session.instanceID, session.name) }
        }
        let closedByBerth = await session.wasClosed
        if !closedByBerth, let shellExited { await shellExited(session.instanceID, session.name, exitCode) }
    }

    /// Closes abandoned PTYs, warns before expiry and closes terminals of ended instances.
    func sweep() async {
        let now = ContinuousClock.now
        var checked: [String: TerminalInstanceStatus?] = [:]
        for (key, session) in sessions {
            await session.flushObserver()
            let current: TerminalInstanceStatus?
            if let known = checked[key.instanceID] { current = known } else {
                current = await status(key.instanceID)
                checked[key.instanceID] = current
            }
            guard let current, current.containerID != nil else {
                await session.close(reason: "the instance is no longer running")
                continue
            }
            if let since = await session.emptySince, now - since > settings.reconnectWindow {
                await session.close(reason: "nobody reconnected within the reconnect window")
                continue
            }
            if let secondsLeft = settings.secondsLeftToWarn(before: current.expiresAt) {
                // Warn once a minute, and every second in the last ten.
                let bucket = secondsLeft <= 10 ? secondsLeft : secondsLeft / 60
                let warningKey = "\(key.instanceID)/\(key.name)"
                if lastWarning[warningKey] != bucket {
                    lastWarning[warningKey] = bucket
                    await session.broadcast(.expiring(secondsLeft: max(0, secondsLeft)))
                }
            }
        }
        let live = Set(sessions.keys.map { "\($0.instanceID)/\($0.name)" })
        lastWarning = lastWarning.filter { live.contains($0.key) }
    }
}

/// Runs a ``TerminalHub`` in the application's service group.
public struct TerminalHubService: Service {
    let hub: TerminalHub

    /// Creates the service.
    public init(hub: TerminalHub) {
        self.hub = hub
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await hub.run()
        }
    }
}
