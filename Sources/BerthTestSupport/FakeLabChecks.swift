import BerthCore
import BerthEngine
import Foundation

/// A check runner for tests of the layers above the real one (``LabCheckRunning``): each script
/// answers the outcomes queued for it in order, then `passed`; every run is recorded. A run can be
/// held until the test releases it, to test what happens while a check is running.
public actor FakeLabChecks: LabCheckRunning {
    /// One run: the script and the instance it ran in.
    public struct Run: Sendable, Equatable {
        /// The script's name.
        public var script: String
        /// The instance's id.
        public var instanceID: String
    }

    private var queued: [String: [CheckOutcome]] = [:]
    private var held: [CheckedContinuation<Void, Never>] = []
    private var holding = false
    /// Every run so far, in order.
    public private(set) var runs: [Run] = []

    /// Creates a runner that passes every script.
    public init() {}

    /// Queues `outcomes` for `script`'s next runs.
    public func answer(_ script: String, with outcomes: CheckOutcome...) {
        queued[script, default: []] += outcomes
    }

    /// Holds every run from now on until ``release()``.
    public func hold() { holding = true }

    /// Lets held runs (and later ones) finish.
    public func release() {
        holding = false
        for continuation in held { continuation.resume() }
        held = []
    }

    /// Runs being held right now.
    public var heldCount: Int { held.count }

    public func run(script: String, in instance: Instance, environment: EnvironmentSpec) async -> CheckOutcome {
        runs.append(Run(script: script, instanceID: instance.id))
        if holding { await withCheckedContinuation { held.append($0) } }
        guard var outcomes = queued[script], !outcomes.isEmpty else { return CheckOutcome(status: .passed, exitCode: 0, durationMilliseconds: 5) }
        let outcome = outcomes.removeFirst()
        queued[script] = outcomes
        return outcome
    }
}

/// A hint advisor for tests: answers the step's authored hints in order like the real fallback,
/// or a fixed AI text when told, and records every request it was asked with.
public actor FakeLabHints: LabHintGiving {
    /// Every request so far.
    public private(set) var requests: [LabHintRequest] = []
    private var aiText: String?

    /// Creates an advisor that gives authored hints.
    public init() {}

    /// Answers `text` as an AI hint from now on (nil: authored hints again).
    public func answerAI(_ text: String?) { aiText = text }

    public func hint(_ request: LabHintRequest) async -> LabHint {
        requests.append(request)
        if let aiText { return LabHint(source: .ai, text: aiText) }
        let index = request.authoredHintsGiven
        guard request.step.hints.indices.contains(index) else { return LabHint(source: .none, text: "", fallbackReason: "not_configured") }
        return LabHint(source: .authored, text: request.step.hints[index], authoredIndex: index, fallbackReason: "not_configured")
    }
}
