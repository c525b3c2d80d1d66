/// A first-come-first-served lock for async code: SQLite's one connection serves one statement
/// (or one transaction) at a time, in the order they asked.
actor AsyncGate {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` while holding the gate.
    nonisolated func withGate<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
        await enter()
        do {
            let result = try await body()
            await leave()
            return result
        } catch {
            await leave()
            throw error
        }
    }

    private func enter() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func leave() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
