import BerthEngine
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Periodic services stop at the shutdown")
struct PeriodicServiceTests {
    /// A service around `repeatUntilShutdown` that counts its rounds.
    final class Counting: Service {
        let interval: Duration
        let waitingFirst: Bool
        let rounds = Atomic<Int>(0)

        init(interval: Duration, waitingFirst: Bool) {
            self.interval = interval
            self.waitingFirst = waitingFirst
        }

        func run() async throws {
            await repeatUntilShutdown(every: interval, waitingFirst: waitingFirst) { self.rounds.add(1, ordering: .relaxed) }
        }
    }

    /// Runs `service` in a group, lets it settle, shuts it down gracefully and returns how long the
    /// shutdown took; fails if the group has not stopped after 20 s.
    static func shutdownSeconds(of service: Counting) async throws -> Double {
        var logger = Logger(label: "berth.test.periodic")
        logger.logLevel = .critical
        let group = ServiceGroup(services: [service], logger: logger)
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(200))
        let asked = Date()
        await group.triggerGracefulShutdown()
        let stopped = Task {
            try await running.value
            return Date().timeIntervalSince(asked)
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            running.cancel()
        }
        defer { watchdog.cancel() }
        return try await stopped.value
    }

    @Test("an hour-long wait, first or between rounds, ends at the shutdown instead of delaying it (a 30 s reconcile wait held every server's stop)",
          arguments: [false, true])
    func longWaitEndsAtShutdown(waitingFirst: Bool) async throws {
        let service = Counting(interval: .seconds(3600), waitingFirst: waitingFirst)
        let seconds = try await Self.shutdownSeconds(of: service)
        #expect(seconds < 10, "the shutdown waited \(seconds) s")
        // Without the first wait the work runs at once; with it, not before the interval.
        #expect(service.rounds.load(ordering: .relaxed) == (waitingFirst ? 0 : 1))
    }
}
