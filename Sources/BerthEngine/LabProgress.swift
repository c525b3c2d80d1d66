import BerthCore
import BerthStore
import BerthTerminal
import Foundation
import Logging

/// What the lab service needs of an instance's live terminals: the screen's last lines for a hint,
/// and a marker in the recordings when a hint is given.
public protocol LabTerminalAccess: Sendable {
    /// The last lines of the instance's live terminal as plain text, "" when none is live.
    func labScreenTail(instanceID: String) async -> String
    /// Records `label` as a marker in every live terminal recording of the instance.
    func mark(instanceID: String, _ label: String) async
}

/// Learners' progress through labs: checks that unlock the next step, hints, and the board an
/// instructor watches. Progress belongs to an owner (the user, or their team in team mode, as
/// scores do) and an environment, never to an instance, so it outlives resets, expiry and restarts.
public actor LabProgress {
    let store: BerthDatabase
    let catalog: EnvironmentCatalog
    let scores: Scorekeeper
    let checks: any LabCheckRunning
    let hints: any LabHintGiving
    let terminals: any LabTerminalAccess
    let flagSecret: FlagSecret?
    let hintRequests: RateLimiter
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Owners with a check running: one at a time each, so two clicks never advance twice.
    private var checking: Set<Owner> = []

    /// The stuck threshold of the board when the caller names none.
    public static let defaultStuckAfterMinutes = 15

    /// Creates the service; `hintLimit` is per user (`BERTH_HINT_LIMIT`).
    public init(
        store: BerthDatabase, catalog: EnvironmentCatalog, scores: Scorekeeper, checks: any LabCheckRunning, hints: any LabHintGiving,
        terminals: any LabTerminalAccess, flagSecret: FlagSecret?, hintLimit: EventLimit, clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.store = store
        self.catalog = catalog
        self.scores = scores
        self.checks = checks
        self.hints = hints
        self.terminals = terminals
        self.flagSecret = flagSecret
        self.hintRequests = RateLimiter(hintLimit, scope: "hint", ledger: StoreThrottleLedger(store.sharedState), clock: clock)
        self.clock = clock
        self.logger = logger
    }

    // MARK: - Views

    /// Where a step stands for an owner.
    public enum StepState: String, Sendable {
        /// Its check passed.
        case passed
        /// The owner is on it.
        case current
        /// Not reached yet: its text stays hidden.
        case locked
    }

    /// One step as the owner sees it.
    public struct StepView: Sendable, Equatable {
        /// The step's id.
        public var id: String
        /// Its title.
        public var title: String
        /// Its Markdown text; nil while locked.
        public var text: String?
        /// Passed, current or locked.
        public var state: StepState
        /// Whether a script checks it (a step without one passes when the learner presses Check).
        public var hasCheck: Bool
        /// Authored hints the step has.
        public var hintsAvailable: Int
        /// Hints the owner was given on it (AI or authored).
        public var hintsGiven: Int
        /// Seconds from reaching it to passing it (or to now).
        public var timeSpentSeconds: Int
        /// When it passed.
        public var passedAt: Date?
    }

    /// An owner's progress in one lab.
    public struct View: Sendable, Equatable {
        /// The environment's slug.
        public var environment: String
        /// Every step, in order.
        public var steps: [StepView]
        /// The step the owner is on; nil once completed.
        public var currentStep: String?
        /// When the last step passed.
        public var completedAt: Date?
        /// The owner's last check in this lab.
        public var lastCheck: LabCheckRecord?
    }

    /// A check's result with the progress after it.
    public struct CheckResult: Sendable, Equatable {
        /// The stored result.
        public var check: LabCheckRecord
        /// The progress after it.
        public var progress: View
    }

    /// A hint given, with how many authored hints of the step remain.
    public struct HintResult: Sendable, Equatable {
        /// The step the hint is for.
        public var step: String
        /// The hint.
        public var hint: LabHint
        /// Authored hints of the step not given yet.
        public var hintsLeft: Int
    }

    /// One line of the instructors' board.
    public struct BoardRow: Sendable, Equatable {
        /// Whose progress.
        public var owner: Owner
        /// The user's or team's name.
        public var ownerName: String
        /// The environment's slug.
        public var environment: String
        /// The current step's id; nil once completed.
        public var step: String?
        /// The current step's title; nil once completed.
        public var stepTitle: String?
        /// The current step's position (0-based); the step count once completed.
        public var stepIndex: Int
        /// Steps in the lab.
        public var stepCount: Int
        /// When the owner reached the current step.
        public var stepStartedAt: Date?
        /// Seconds on the current step so far (0 once completed).
        public var timeOnStepSeconds: Int
        /// When they last pressed Check in this lab.
        public var lastCheckAt: Date?
        /// The first message of the last failed check on the current step.
        public var lastFailure: String?
        /// No pass for longer than the threshold while not completed.
        public var stuck: Bool
        /// When the lab was completed.
        public var completedAt: Date?
    }

    // MARK: - Progress

    /// `user`'s owner's progress in lab `slug`; starts it (the first step, from now) on the first visit.
    /// `environment_not_found` for an environment `user` may not see, `not_a_lab` for one without steps.
    public func progress(environment slug: String, for user: User) async throws -> View {
        let environment = try await scores.playable(slug, by: user)
        let lab = try Self.lab(of: environment)
        let owner = try await scores.scorer(for: user)
        let record = try await loadOrStart(owner: owner, environment: environment, lab: lab)
        return try await view(record, lab: lab)
    }

    /// Runs the current step's check of `instance` for `user` and, when it passes, unlocks the next
    /// step; passing the last step completes the lab and, when the lab awards points and the
    /// environment has a value, scores a solve for the owner. A `check_error` is stored and logged
    /// and changes nothing. Once completed, a check re-runs the last step without changing anything.
    public func check(_ instance: Instance, by user: User) async throws -> CheckResult {
        let environment = try await self.environment(of: instance)
        let lab = try Self.lab(of: environment)
        guard instance.state == .running else {
            throw BerthError(.instanceNotRunning, "The instance is \(instance.state.rawValue); start it again to check your work.")
        }
        let owner = try await progressOwner(of: instance, user: user)
        guard checking.insert(owner).inserted else {
            throw BerthError(.checkInProgress, "A check is already running for \(owner.kind == .team ? "your team" : "you"); wait for its result.")
        }
        defer { checking.remove(owner) }

        var record = try await loadOrStart(owner: owner, environment: environment, lab: lab)
        let stepIndex = record.currentStep.flatMap(lab.stepIndex) ?? (lab.steps.count - 1)
        let step = lab.steps[stepIndex]
        let outcome: CheckOutcome
        if let script = step.checkScript {
            outcome = await checks.run(script: script, in: instance, environment: environment)
        } else {
            outcome = CheckOutcome(status: .passed, notes: ["This step has no check; it passes when you press Check."])
        }
        let now = clock()
        let check = LabCheckRecord(
            id: Identifier.make("chk"), owner: owner, environment: environment.slug, userID: user.id, instanceID: instance.id, step: step.id,
            outcome: outcome, time: now
        )
        try await store.labs.insertLabCheck(check)
        let metadata: Logger.Metadata = [
            "instance.id": "\(instance.id)", "user.id": "\(user.id)", "owner": "\(owner.label)", "environment": "\(environment.slug)",
            "lab.step": "\(step.id)", "check.status": "\(outcome.status.rawValue)", "check.duration.ms": "\(outcome.durationMilliseconds)",
        ]
        switch outcome.status {
        case .checkError:
            var detailed = metadata
            detailed["check.detail"] = "\(outcome.operatorDetail ?? "-")"
            logger.warning("lab check could not run", metadata: detailed)
        case .failed:
            logger.info("lab check failed", metadata: metadata)
        case .passed:
            logger.info("lab check passed", metadata: metadata)
            if record.completedAt == nil {
                try await advance(&record, past: stepIndex, lab: lab, environment: environment, user: user, now: now)
            }
        }
        return CheckResult(check: check, progress: try await view(record, lab: lab))
    }

    /// Marks step `index` passed and moves on; the last one completes the lab and may score.
    private func advance(_ record: inout LabProgressRecord, past index: Int, lab: LabSpec, environment: EnvironmentSpec, user: User, now: Date) async throws {
        let step = lab.steps[index]
        if let reached = record.steps.firstIndex(where: { $0.id == step.id }) {
            record.steps[reached].passedAt = now
        } else {
            record.steps.append(LabStepRecord(id: step.id, startedAt: now, passedAt: now))
        }
        record.updatedAt = now
        let next = index + 1
        if next < lab.steps.count {
            let nextID = lab.steps[next].id
            record.currentStep = nextID
            if let reached = record.steps.firstIndex(where: { $0.id == nextID }) {
                record.steps[reached] = LabStepRecord(id: nextID, startedAt: now)
            } else {
                record.steps.append(LabStepRecord(id: nextID, startedAt: now))
            }
            try await store.labs.saveLabProgress(record)
            return
        }
        record.currentStep = nil
        record.completedAt = now
        try await store.labs.saveLabProgress(record)
        logger.info("lab completed", metadata: ["user.id": "\(user.id)", "owner": "\(record.owner.label)", "environment": "\(environment.slug)"])
        guard lab.awardsPoints, Self.hasValue(environment) else { return }
        let scored = try await scores.recordSolve(SolveRecord(scorer: record.owner, environment: environment.slug, userID: user.id, time: now))
        if scored {
            logger.info("lab solved", metadata: ["user.id": "\(user.id)", "owner": "\(record.owner.label)", "environment": "\(environment.slug)"])
        }
    }

    /// Whether solving the environment is worth points.
    static func hasValue(_ environment: EnvironmentSpec) -> Bool {
        if case .fixed(let value) = environment.scoring { return value > 0 }
        return true
    }

    // MARK: - Hints

    /// A hint for the step `user`'s owner is on in `instance`'s lab: asked of the hint advisor with
    /// the step, the last check's failures on it, the screen's last lines and the authored hints
    /// already given, never with a flag. Limited per user (`too_many_hints` with the seconds to
    /// wait), stored, and marked in the terminal recordings.
    public func hint(_ instance: Instance, by user: User) async throws -> HintResult {
        let environment = try await self.environment(of: instance)
        let lab = try Self.lab(of: environment)
        if let wait = try await hintRequests.retryAfter(user.id) {
            throw BerthError(.tooManyHints, "You asked for \(hintRequests.limit) hints in a short time; try again in \(wait) s.", retryAfterSeconds: wait)
        }
        try await hintRequests.record(user.id)
        let owner = try await progressOwner(of: instance, user: user)
        let record = try await loadOrStart(owner: owner, environment: environment, lab: lab)
        let step = lab.steps[record.currentStep.flatMap(lab.stepIndex) ?? (lab.steps.count - 1)]

        let lastCheck = try await store.labs.labChecks(LabCheckQuery(owner: owner, environment: environment.slug, limit: 1)).first
        let failures = lastCheck.flatMap { $0.step == step.id && $0.outcome.status == .failed ? $0.outcome.failures : nil } ?? []
        let given = try await store.labs.labHints(owner: owner, environment: environment.slug).filter { $0.step == step.id && $0.source == .authored }
        let request = LabHintRequest(
            environmentName: environment.name, step: step, failures: failures, screenTail: await terminals.labScreenTail(instanceID: instance.id),
            authoredHintsGiven: given.count, secrets: secrets(of: environment, instance: instance)
        )
        let hint = await hints.hint(request)
        let now = clock()
        try await store.labs.insertLabHint(LabHintRecord(
            id: Identifier.make("lhint"), owner: owner, environment: environment.slug, userID: user.id, instanceID: instance.id, step: step.id,
            source: hint.source, authoredIndex: hint.authoredIndex, time: now
        ))
        await terminals.mark(instanceID: instance.id, "hint (\(hint.source.rawValue)) on step \(step.id)")
        logger.info("lab hint given", metadata: [
            "instance.id": "\(instance.id)", "user.id": "\(user.id)", "owner": "\(owner.label)", "environment": "\(environment.slug)",
            "lab.step": "\(step.id)", "hint.source": "\(hint.source.rawValue)", "hint.fallback": "\(hint.fallbackReason ?? "-")",
        ])
        let authoredGiven = given.count + (hint.source == .authored ? 1 : 0)
        return HintResult(step: step.id, hint: hint, hintsLeft: max(0, step.hints.count - authoredGiven))
    }

    /// What a hint prompt must never hold: the environment's static flags and the instance's own flag.
    func secrets(of environment: EnvironmentSpec, instance: Instance) -> [String] {
        var secrets = environment.flags.filter { $0.kind == .static }.map(\.content)
        if let spec = environment.berth.flag, let flagSecret { secrets.append(spec.flag(instanceID: instance.id, secret: flagSecret)) }
        return secrets.filter { !$0.isEmpty }
    }

    // MARK: - The board

    /// Every owner's progress, optionally in one lab, for instructors: step, time on it, last
    /// failure, and whether they are stuck (no pass for `stuckAfterMinutes`). Stuck owners first,
    /// then the longest on their step. `environment_not_found` or `not_a_lab` for a `slug` that is not a lab.
    public func board(environment slug: String?, stuckAfterMinutes: Int = LabProgress.defaultStuckAfterMinutes) async throws -> [BoardRow] {
        guard (1...10_080).contains(stuckAfterMinutes) else {
            throw BerthError(.invalidQuery, "stuckAfterMinutes is 1 to 10080 (a week); without it, \(Self.defaultStuckAfterMinutes).")
        }
        if let slug {
            guard let environment = await catalog.environment(slug) else { throw Scorekeeper.notFound(slug) }
            _ = try Self.lab(of: environment)
        }
        let now = clock()
        let records = try await store.labs.labProgress(environment: slug)
        let latestChecks = try await store.labs.labChecks(LabCheckQuery(environment: slug, latestPerOwner: true, limit: 1_000_000))
        let latestFailures = try await store.labs.labChecks(LabCheckQuery(environment: slug, statuses: [.failed], latestPerOwner: true, limit: 1_000_000))
        func key(_ owner: Owner, _ environment: String) -> String { "\(owner.label) \(environment)" }
        let lastCheck = Dictionary(latestChecks.map { (key($0.owner, $0.environment), $0) }, uniquingKeysWith: { first, _ in first })
        let lastFailure = Dictionary(latestFailures.map { (key($0.owner, $0.environment), $0) }, uniquingKeysWith: { first, _ in first })
        let userNames = Dictionary(try await store.accounts.users().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let teamNames = Dictionary(try await store.teams.teams().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })

        var rows: [BoardRow] = []
        for record in records {
            // A lab that left the catalog (or lost its steps) has nothing to show a step of.
            guard let lab = await catalog.environment(record.environment)?.lab else { continue }
            let index = record.completedAt == nil ? record.currentStep.flatMap(lab.stepIndex) : nil
            let step = index.map { lab.steps[$0] }
            let started = step.flatMap { record.step($0.id)?.startedAt }
            let failure = lastFailure[key(record.owner, record.environment)].flatMap { check in
                check.step == step?.id ? (check.outcome.failures.first?.message ?? "the check failed") : nil
            }
            let timeOnStep = started.map { max(0, Int(now.timeIntervalSince($0))) } ?? 0
            rows.append(BoardRow(
                owner: record.owner,
                ownerName: (record.owner.kind == .team ? teamNames[record.owner.id] : userNames[record.owner.id]) ?? record.owner.id,
                environment: record.environment, step: step?.id, stepTitle: step?.title, stepIndex: index ?? lab.steps.count, stepCount: lab.steps.count,
                stepStartedAt: started, timeOnStepSeconds: timeOnStep, lastCheckAt: lastCheck[key(record.owner, record.environment)]?.time,
                lastFailure: failure, stuck: record.completedAt == nil && timeOnStep >= stuckAfterMinutes * 60, completedAt: record.completedAt
            ))
        }
        return rows.sorted { left, right in
            if left.stuck != right.stuck { return left.stuck }
            if left.timeOnStepSeconds != right.timeOnStepSeconds { return left.timeOnStepSeconds > right.timeOnStepSeconds }
            return (left.ownerName, left.environment) < (right.ownerName, right.environment)
        }
    }

    // MARK: - Plumbing

    static func lab(of environment: EnvironmentSpec) throws -> LabSpec {
        guard let lab = environment.lab, !lab.steps.isEmpty else {
            throw BerthError(.notALab, "'\(environment.slug)' is not a lab: it has no steps to check.")
        }
        return lab
    }

    private func environment(of instance: Instance) async throws -> EnvironmentSpec {
        guard let environment = await catalog.environment(instance.environment) else {
            throw BerthError(.environmentRemoved, "The environment '\(instance.environment)' of this instance is no longer offered.")
        }
        return environment
    }

    /// Whose progress a check or hint on `instance` counts for: the caller's scorer when the
    /// instance is theirs (or their team's), else the instance's owner (an admin helping a learner).
    private func progressOwner(of instance: Instance, user: User) async throws -> Owner {
        if let scorer = try? await scores.scorer(for: user), try await scores.belongs(instance.owner, to: user, scorer: scorer) {
            return scorer
        }
        return instance.owner
    }

    /// The stored progress, started on the first step now when there is none. When the lab's
    /// steps changed since, an owner on a step that no longer exists moves to the first step
    /// they have not passed.
    private func loadOrStart(owner: Owner, environment: EnvironmentSpec, lab: LabSpec) async throws -> LabProgressRecord {
        let now = clock()
        guard var record = try await store.labs.labProgress(owner: owner, environment: environment.slug) else {
            let first = lab.steps[0].id
            let record = LabProgressRecord(
                owner: owner, environment: environment.slug, currentStep: first, steps: [LabStepRecord(id: first, startedAt: now)], startedAt: now,
                updatedAt: now
            )
            try await store.labs.saveLabProgress(record)
            return record
        }
        guard record.completedAt == nil, record.currentStep.flatMap(lab.stepIndex) == nil else { return record }
        guard let step = lab.steps.first(where: { record.step($0.id)?.passedAt == nil }) else {
            record.currentStep = nil
            record.completedAt = now
            record.updatedAt = now
            try await store.labs.saveLabProgress(record)
            return record
        }
        record.currentStep = step.id
        if record.step(step.id) == nil { record.steps.append(LabStepRecord(id: step.id, startedAt: now)) }
        record.updatedAt = now
        try await store.labs.saveLabProgress(record)
        return record
    }

    private func view(_ record: LabProgressRecord, lab: LabSpec) async throws -> View {
        let now = clock()
        let given = try await store.labs.labHints(owner: record.owner, environment: record.environment).filter { $0.source != .none }
        let lastCheck = try await store.labs.labChecks(LabCheckQuery(owner: record.owner, environment: record.environment, limit: 1)).first
        let steps = lab.steps.map { step -> StepView in
            let reached = record.step(step.id)
            let state: StepState = reached?.passedAt != nil ? .passed : (step.id == record.currentStep ? .current : .locked)
            return StepView(
                id: step.id, title: step.title, text: state == .locked ? nil : step.text, state: state, hasCheck: step.checkScript != nil,
                hintsAvailable: step.hints.count, hintsGiven: given.filter { $0.step == step.id }.count,
                timeSpentSeconds: state == .locked ? 0 : (reached?.secondsSpent(now: now) ?? 0), passedAt: reached?.passedAt
            )
        }
        return View(environment: record.environment, steps: steps, currentStep: record.currentStep, completedAt: record.completedAt, lastCheck: lastCheck)
    }
}

extension TerminalHub: LabTerminalAccess {
    public func labScreenTail(instanceID: String) async -> String { await screenTail(instanceID: instanceID) }
}

/// The check runner of an engine that cannot run lab scripts: every check is `check_error`,
/// never the learner's failure.
struct LabChecksUnavailable: LabCheckRunning {
    func run(script: String, in instance: Instance, environment: EnvironmentSpec) async -> CheckOutcome {
        CheckOutcome(status: .checkError, operatorDetail: "this engine cannot run lab scripts")
    }
}
