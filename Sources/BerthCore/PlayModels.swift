import Foundation

/// A browser session: the cookie's secret is shown once and kept only as its SHA-256.
public struct SessionRecord: Codable, Sendable, Equatable {
    /// SHA-256 (hex) of the cookie's secret.
    public var secretHash: String
    /// Whose session it is.
    public var userID: String
    /// When it was created.
    public var createdAt: Date
    /// When it stops working.
    public var expiresAt: Date
    /// Where it was created from.
    public var clientIP: String?
    /// The browser that created it.
    public var userAgent: String?

    /// Creates a session value.
    public init(secretHash: String, userID: String, createdAt: Date, expiresAt: Date, clientIP: String?, userAgent: String?) {
        self.secretHash = secretHash
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.clientIP = clientIP
        self.userAgent = userAgent.map { String($0.prefix(256)) }
    }
}

/// How a flag submission ended.
public enum SubmissionOutcome: String, Codable, Sendable, CaseIterable {
    /// The flag was right and solved the environment.
    case correct
    /// The flag was wrong.
    case incorrect
    /// The flag was right, but the scorer had already solved it.
    case alreadySolved = "already_solved"
    /// The flag is another owner's per-instance flag: likely shared. It does not score.
    case shared
    /// Too many submissions; it was not checked.
    case rateLimited = "rate_limited"
    /// The owner had used every attempt the environment allows (ctfcli `attempts`); it was not checked.
    case attemptsExhausted = "attempts_exhausted"
}

/// One flag submission. Every submission is stored, whatever its outcome.
public struct SubmissionRecord: Codable, Sendable, Equatable {
    /// Opaque identifier, `sub_…`.
    public var id: String
    /// When it was submitted.
    public var time: Date
    /// Who submitted it.
    public var userID: String
    /// Who scores: the user, or their team in team mode.
    public var scorer: Owner
    /// The environment's slug.
    public var environment: String
    /// The text submitted (at most 1024 characters).
    public var submitted: String
    /// How it ended.
    public var outcome: SubmissionOutcome
    /// For `shared`: the instance whose flag it was.
    public var sharedFromInstance: String?
    /// For `shared`: that instance's owner.
    public var sharedFromOwner: Owner?
    /// The client's address.
    public var clientIP: String?

    /// Creates a submission value.
    public init(
        id: String, time: Date, userID: String, scorer: Owner, environment: String, submitted: String, outcome: SubmissionOutcome,
        sharedFromInstance: String? = nil, sharedFromOwner: Owner? = nil, clientIP: String? = nil
    ) {
        self.id = id
        self.time = time
        self.userID = userID
        self.scorer = scorer
        self.environment = environment
        self.submitted = submitted
        self.outcome = outcome
        self.sharedFromInstance = sharedFromInstance
        self.sharedFromOwner = sharedFromOwner
        self.clientIP = clientIP
    }
}

/// A filter over submissions.
public struct SubmissionQuery: Sendable, Equatable {
    /// Only this environment's.
    public var environment: String?
    /// Only this scorer's.
    public var scorer: Owner?
    /// Only this user's.
    public var userID: String?
    /// Only these outcomes.
    public var outcomes: [SubmissionOutcome]?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query; the default returns the newest 100.
    public init(environment: String? = nil, scorer: Owner? = nil, userID: String? = nil, outcomes: [SubmissionOutcome]? = nil, limit: Int = 100) {
        self.environment = environment
        self.scorer = scorer
        self.userID = userID
        self.outcomes = outcomes
        self.limit = limit
    }
}

/// The first correct submission of a scorer for an environment.
public struct SolveRecord: Codable, Sendable, Equatable {
    /// Who scores.
    public var scorer: Owner
    /// The environment's slug.
    public var environment: String
    /// Who submitted the flag.
    public var userID: String
    /// When.
    public var time: Date

    /// Creates a solve value.
    public init(scorer: Owner, environment: String, userID: String, time: Date) {
        self.scorer = scorer
        self.environment = environment
        self.userID = userID
        self.time = time
    }
}

/// A hint a scorer unlocked, at its cost then.
public struct HintUnlockRecord: Codable, Sendable, Equatable {
    /// Who pays.
    public var scorer: Owner
    /// The environment's slug.
    public var environment: String
    /// The hint's position in the environment's `hints:`.
    public var hint: Int
    /// Who unlocked it.
    public var userID: String
    /// Points it cost.
    public var cost: Int
    /// When.
    public var time: Date

    /// Creates an unlock value.
    public init(scorer: Owner, environment: String, hint: Int, userID: String, cost: Int, time: Date) {
        self.scorer = scorer
        self.environment = environment
        self.hint = hint
        self.userID = userID
        self.cost = cost
        self.time = time
    }
}
