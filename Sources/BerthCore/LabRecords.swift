import Foundation

/// Where an owner (a user, or a team in team mode) stands in one lab. Keyed by owner and
/// environment, never by instance, so it outlives resets, expiry and server restarts.
public struct LabProgressRecord: Codable, Sendable, Equatable {
    /// Who works through the lab.
    public var owner: Owner
    /// The environment's slug.
    public var environment: String
    /// The step the owner is on; nil once the lab is completed.
    public var currentStep: String?
    /// Each step the owner has reached, with when it started and passed.
    public var steps: [LabStepRecord]
    /// When the owner first opened the lab.
    public var startedAt: Date
    /// When the progress last changed.
    public var updatedAt: Date
    /// When the last step passed, nil until then.
    public var completedAt: Date?

    /// Creates a record.
    public init(
        owner: Owner, environment: String, currentStep: String?, steps: [LabStepRecord], startedAt: Date, updatedAt: Date,
        completedAt: Date? = nil
    ) {
        self.owner = owner
        self.environment = environment
        self.currentStep = currentStep
        self.steps = steps
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
    }

    /// The record of step `id`, nil when the owner never reached it.
    public func step(_ id: String) -> LabStepRecord? { steps.first { $0.id == id } }
}

/// One step an owner reached.
public struct LabStepRecord: Codable, Sendable, Equatable {
    /// The step's id.
    public var id: String
    /// When the owner reached it.
    public var startedAt: Date
    /// When its check passed, nil while it has not.
    public var passedAt: Date?

    /// Creates a record.
    public init(id: String, startedAt: Date, passedAt: Date? = nil) {
        self.id = id
        self.startedAt = startedAt
        self.passedAt = passedAt
    }

    /// Seconds from reaching the step to passing it, or to `now` while it has not passed.
    public func secondsSpent(now: Date) -> Int {
        max(0, Int((passedAt ?? now).timeIntervalSince(startedAt)))
    }
}

/// One run of a lab step's check, whatever its outcome.
public struct LabCheckRecord: Codable, Sendable, Equatable {
    /// `chk_…`.
    public var id: String
    /// Whose progress it counted for.
    public var owner: Owner
    /// The environment's slug.
    public var environment: String
    /// Who pressed Check.
    public var userID: String
    /// The instance it ran in.
    public var instanceID: String
    /// The step it checked.
    public var step: String
    /// What the check concluded (status, failures, metrics, notes, duration, operator detail).
    public var outcome: CheckOutcome
    /// When it finished.
    public var time: Date

    /// Creates a record.
    public init(id: String, owner: Owner, environment: String, userID: String, instanceID: String, step: String, outcome: CheckOutcome, time: Date) {
        self.id = id
        self.owner = owner
        self.environment = environment
        self.userID = userID
        self.instanceID = instanceID
        self.step = step
        self.outcome = outcome
        self.time = time
    }
}

/// One hint given to a learner.
public struct LabHintRecord: Codable, Sendable, Equatable {
    /// `lhint_…`.
    public var id: String
    /// Whose progress it belongs to.
    public var owner: Owner
    /// The environment's slug.
    public var environment: String
    /// Who asked.
    public var userID: String
    /// The instance they asked from.
    public var instanceID: String
    /// The step they were on.
    public var step: String
    /// Where the hint came from.
    public var source: LabHint.Source
    /// For authored hints, which one (0-based).
    public var authoredIndex: Int?
    /// When it was given.
    public var time: Date

    /// Creates a record.
    public init(
        id: String, owner: Owner, environment: String, userID: String, instanceID: String, step: String, source: LabHint.Source,
        authoredIndex: Int?, time: Date
    ) {
        self.id = id
        self.owner = owner
        self.environment = environment
        self.userID = userID
        self.instanceID = instanceID
        self.step = step
        self.source = source
        self.authoredIndex = authoredIndex
        self.time = time
    }
}

/// Which check records ``LabCheckRecord`` listings return.
public struct LabCheckQuery: Sendable {
    /// Only this owner's.
    public var owner: Owner?
    /// Only this environment's.
    public var environment: String?
    /// Only these statuses; nil for all.
    public var statuses: [CheckOutcome.Status]?
    /// With `latestPerOwner`, only the newest matching record of each owner and environment.
    public var latestPerOwner: Bool
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query; the default returns the newest 100 records.
    public init(owner: Owner? = nil, environment: String? = nil, statuses: [CheckOutcome.Status]? = nil, latestPerOwner: Bool = false, limit: Int = 100) {
        self.owner = owner
        self.environment = environment
        self.statuses = statuses
        self.latestPerOwner = latestPerOwner
        self.limit = limit
    }
}
