import Foundation

/// A lab: ordered steps a learner works through, checked by the environment's `checks/` scripts.
///
/// An environment is a lab when its `challenge.yml` has `steps:` or its folder has `checks/`. A lab
/// without `steps:` is one implicit step checked by `checks/check`.
public struct LabSpec: Codable, Sendable, Equatable {
    /// The steps in order; never empty.
    public var steps: [LabStep]
    /// The script names found in `checks/` (`setup`, `check`, `check-<step>`, `solve-<step>`, …).
    public var scripts: [String]
    /// Whether finishing the last step scores the environment's points for the owner.
    public var awardsPoints: Bool

    /// Creates a lab.
    public init(steps: [LabStep], scripts: [String] = [], awardsPoints: Bool = true) {
        self.steps = steps
        self.scripts = scripts
        self.awardsPoints = awardsPoints
    }

    /// The index of the step with `id`, nil when there is none.
    public func stepIndex(_ id: String) -> Int? { steps.firstIndex { $0.id == id } }
}

/// One step of a lab.
public struct LabStep: Codable, Sendable, Equatable {
    /// The step's id (`[a-z0-9-]`), from `id:` or `step-<n>`; names its `check-<id>` and `solve-<id>`.
    public var id: String
    /// Short title.
    public var title: String
    /// What to do, in Markdown.
    public var text: String
    /// Authored hints, given in order when no AI endpoint answers.
    public var hints: [String]
    /// The script that checks it (`check-<id>`, or `check` for a single-step lab), nil when the step
    /// has no check and the learner moves on by themselves.
    public var checkScript: String?
    /// The script that solves it (`solve-<id>` or `solve`), used by CI and operators to test the lab.
    public var solveScript: String?

    /// Creates a step.
    public init(id: String, title: String, text: String = "", hints: [String] = [], checkScript: String? = nil, solveScript: String? = nil) {
        self.id = id
        self.title = title
        self.text = text
        self.hints = hints
        self.checkScript = checkScript
        self.solveScript = solveScript
    }
}

/// What one run of a check script concluded.
public struct CheckOutcome: Codable, Sendable, Equatable {
    /// Passed, failed, or could not run.
    public enum Status: String, Codable, Sendable {
        /// The learner's work passes: exit code 0.
        case passed
        /// The learner's work does not pass yet: any other exit code.
        case failed
        /// The check could not run (timeout, missing interpreter, engine error). Never the learner's
        /// failure, never counted against them.
        case checkError = "check_error"
    }

    /// The verdict; the exit code wins when it and `$BERTH_RESULT` disagree.
    public var status: Status
    /// What is wrong, from `FAIL: ` lines and the result file's `failures`.
    public var failures: [CheckFailure]
    /// Numbers the check reported in its result file.
    public var metrics: [String: Double]
    /// Free-form notes from the result file.
    public var notes: [String]
    /// The script's exit code; nil when it did not run to the end.
    public var exitCode: Int?
    /// How long the run took.
    public var durationMilliseconds: Int
    /// For operators only (logs, admin views): why a check could not run, or the output's tail. Never
    /// shown to learners.
    public var operatorDetail: String?

    /// Creates an outcome.
    public init(
        status: Status, failures: [CheckFailure] = [], metrics: [String: Double] = [:], notes: [String] = [],
        exitCode: Int? = nil, durationMilliseconds: Int = 0, operatorDetail: String? = nil
    ) {
        self.status = status
        self.failures = failures
        self.metrics = metrics
        self.notes = notes
        self.exitCode = exitCode
        self.durationMilliseconds = durationMilliseconds
        self.operatorDetail = operatorDetail
    }
}

/// One thing a check found wrong.
public struct CheckFailure: Codable, Sendable, Equatable {
    /// A stable code the check chose, nil for `FAIL: ` lines.
    public var code: String?
    /// What is wrong, for the learner.
    public var message: String
    /// How to fix it, for the learner.
    public var hint: String?

    /// Creates a failure.
    public init(code: String? = nil, message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }
}

/// What a hint is asked with. It never holds the flag, a check or a solve script.
public struct LabHintRequest: Sendable, Equatable {
    /// The environment's name.
    public var environmentName: String
    /// The step the learner is on.
    public var step: LabStep
    /// The last check's failures on this step, empty when there was none.
    public var failures: [CheckFailure]
    /// The last lines of the terminal screen, as text (may be empty).
    public var screenTail: String
    /// How many authored hints of this step the owner was already given.
    public var authoredHintsGiven: Int
    /// Texts that must never reach the hint endpoint (the environment's static flags, the
    /// instance's flag): each is redacted from every part of the prompt, the screen included.
    public var secrets: [String]

    /// Creates a request.
    public init(
        environmentName: String, step: LabStep, failures: [CheckFailure], screenTail: String, authoredHintsGiven: Int, secrets: [String] = []
    ) {
        self.environmentName = environmentName
        self.step = step
        self.failures = failures
        self.screenTail = screenTail
        self.authoredHintsGiven = authoredHintsGiven
        self.secrets = secrets
    }
}

/// A hint given to a learner.
public struct LabHint: Codable, Sendable, Equatable {
    /// Where the hint came from.
    public enum Source: String, Codable, Sendable {
        /// The configured chat-completions endpoint.
        case ai
        /// The step's authored hints, in order.
        case authored
        /// Nothing to give: no endpoint answered and every authored hint was given.
        case none
    }

    /// Where it came from.
    public var source: Source
    /// The hint (Markdown); empty for ``Source/none``.
    public var text: String
    /// For authored hints, which one (0-based).
    public var authoredIndex: Int?
    /// Why the AI endpoint was not used, for operators (`not_configured`, `timeout`, `http_503`, …).
    public var fallbackReason: String?

    /// Creates a hint.
    public init(source: Source, text: String, authoredIndex: Int? = nil, fallbackReason: String? = nil) {
        self.source = source
        self.text = text
        self.authoredIndex = authoredIndex
        self.fallbackReason = fallbackReason
    }
}
