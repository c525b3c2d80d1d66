import BerthCore
import BerthStore
import Foundation
import Logging

/// Flags, hints and the scoreboard. Every submission is stored, whatever its outcome.
public actor Scorekeeper {
    let store: BerthDatabase
    let catalog: EnvironmentCatalog
    let lifecycle: InstanceLifecycle
    let flagSecret: FlagSecret?
    let submissions: RateLimiter
    let logger: Logger
    /// The last scoreboard and when it was made: the scoreboard is public, so a burst of readers
    /// costs one computation per second. A new solve or unlock clears it.
    private var cachedBoard: (made: ContinuousClock.Instant, mode: Owner.Kind, entries: [Entry])?
    /// Submissions being checked per scorer and environment. The store is read across a
    /// suspension point, so each one counts the others as used: concurrent wrong flags from a
    /// team never pass an `attempts` limit.
    private var attemptsInFlight: [String: Int] = [:]

    /// The longest flag accepted.
    public static let maximumFlagLength = 1024

    /// Creates the scorekeeper; `submissionsPerMinute` is per user and environment.
    public init(
        store: BerthDatabase, catalog: EnvironmentCatalog, lifecycle: InstanceLifecycle, flagSecret: FlagSecret?,
        submissionsPerMinute: Int = 10, logger: Logger
    ) {
        self.store = store
        self.catalog = catalog
        self.lifecycle = lifecycle
        self.flagSecret = flagSecret
        self.submissions = RateLimiter(limit: submissionsPerMinute, window: 60, scope: "flag", ledger: StoreThrottleLedger(store.sharedState))
        self.logger = logger
    }

    /// Users or teams, following the assignment mode.
    public func mode() async -> Owner.Kind {
        await lifecycle.currentPolicy.assignment == .team ? .team : .user
    }

    /// Who scores for `user`: their team in team mode (which they must have), else themselves.
    public func scorer(for user: User) async throws -> Owner {
        guard await mode() == .team else { return Owner(kind: .user, id: user.id) }
        guard let team = try await store.teams.team(ofUser: user.id) else {
            throw BerthError(.teamRequired, "Scores are kept per team; create or join a team first.")
        }
        return Owner(kind: .team, id: team.id)
    }

    /// Solves per environment.
    public func solveCounts() async throws -> [String: Int] {
        try await store.play.solves(environment: nil).reduce(into: [:]) { $0[$1.environment, default: 0] += 1 }
    }

    /// What a solve of `environment` is worth now.
    public func value(of environment: EnvironmentSpec, solves: Int) -> Int {
        environment.scoring.value(solves: solves)
    }

    /// The result of a submission, as the player sees it.
    public struct SubmissionResult: Codable, Sendable {
        /// True for a right flag (also when it was already solved).
        public var correct: Bool
        /// `correct`, `incorrect` or `already_solved`; a shared flag shows as `incorrect`.
        public var outcome: String
        /// The environment's value now.
        public var points: Int
        /// What to tell the player.
        public var message: String
        /// Wrong submissions the owner may still make, nil when the environment has no limit.
        public var attemptsLeft: Int? = nil
    }

    // MARK: - Visibility and requirements

    /// Whether a caller may see and play an environment (ctfcli's `state` and `requirements`).
    public enum Access: Sendable, Equatable {
        /// Listed and playable.
        case open
        /// Prerequisites (by display name) are still unsolved: with `anonymize` it shows as a
        /// placeholder, else it is not shown at all. It cannot be started or submitted.
        case locked(missing: [String])
        /// `state: hidden`: for admins only.
        case hidden
    }

    /// What `user` may do with `environment`, given their standing. Admins may do everything.
    public func access(to environment: EnvironmentSpec, for user: User, standing: Standing) async -> Access {
        if user.role == .admin { return .open }
        if environment.visibility == .hidden { return .hidden }
        guard let requirements = environment.requirements, !requirements.prerequisites.isEmpty else { return .open }
        let all = await catalog.all()
        let missing = requirements.prerequisites.compactMap { prerequisite -> String? in
            guard let found = EnvironmentCatalog.prerequisite(prerequisite, in: all) else { return prerequisite }
            return standing.solved.contains(found.slug) ? nil : found.name
        }
        return missing.isEmpty ? .open : .locked(missing: missing)
    }

    /// The environment `slug` if `user` may play it now; otherwise `environment_not_found` (for
    /// hidden environments and locked ones that are not shown) or 403 `environment_locked`.
    public func playable(_ slug: String, by user: User) async throws -> EnvironmentSpec {
        guard let environment = await catalog.environment(slug) else { throw Self.notFound(slug) }
        switch await access(to: environment, for: user, standing: try await standing(of: user)) {
        case .open:
            return environment
        case .hidden:
            throw Self.notFound(slug)
        case .locked(let missing):
            guard environment.requirements?.anonymize == true else { throw Self.notFound(slug) }
            throw BerthError(.environmentLocked, "This challenge is locked: solve \(Self.list(missing)) first.")
        }
    }

    static func notFound(_ slug: String) -> BerthError {
        BerthError(.environmentNotFound, "No environment is called '\(slug.prefix(64))'; GET /api/v1/environments lists them.")
    }

    /// `A`, `A and B`, `A, B and C`.
    public static func list(_ names: [String]) -> String {
        guard names.count > 1, let last = names.last else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " and " + last
    }

    /// Wrong submissions (`incorrect` and `shared`) of `scorer` per environment.
    func wrongAttempts(of scorer: Owner, environment: String? = nil) async throws -> [String: Int] {
        try await store.play.submissions(SubmissionQuery(environment: environment, scorer: scorer, outcomes: [.incorrect, .shared], limit: 1_000_000))
            .reduce(into: [:]) { $0[$1.environment, default: 0] += 1 }
    }

    /// Checks `flag` for `slug` on behalf of `user`, stores the submission and records a solve.
    public func submit(flag: String, environment slug: String, by user: User, clientIP: String?) async throws -> SubmissionResult {
        let environment = try await playable(slug, by: user)
        if await lifecycle.currentPolicy.disabledEnvironments.contains(slug), user.role != .admin {
            throw BerthError(.environmentDisabled, "'\(slug)' is switched off by the organisers for now.")
        }
        guard environment.isSolvable else {
            throw BerthError(.noFlag, "'\(slug)' has no flag to submit.")
        }
        let submitted = flag.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !submitted.isEmpty, submitted.count <= Self.maximumFlagLength else {
            throw BerthError(.invalidFlag, "A flag is 1 to \(Self.maximumFlagLength) characters.")
        }
        let scorer = try await scorer(for: user)
        var record = SubmissionRecord(
            id: Identifier.make("sub"), time: Date(), userID: user.id, scorer: scorer, environment: slug, submitted: submitted,
            outcome: .incorrect, clientIP: clientIP
        )
        let key = "\(user.id) \(slug)"
        if let wait = try await submissions.retryAfter(key) {
            record.outcome = .rateLimited
            try await store.play.insertSubmission(record)
            throw BerthError(.tooManySubmissions, "Too many flags for '\(slug)'; try again in \(wait) s.")
        }
        try await submissions.record(key)
        var attemptsLeft: Int?
        let attemptKey = "\(scorer.kind.rawValue) \(scorer.id) \(slug)"
        let othersInFlight = attemptsInFlight[attemptKey, default: 0]
        attemptsInFlight[attemptKey] = othersInFlight + 1
        defer { attemptsInFlight[attemptKey] = attemptsInFlight[attemptKey, default: 1] > 1 ? attemptsInFlight[attemptKey, default: 1] - 1 : nil }
        if let limit = environment.maxAttempts, try await store.play.solves(environment: slug).contains(where: { $0.scorer == scorer }) == false {
            let used = (try await wrongAttempts(of: scorer, environment: slug)[slug] ?? 0) + othersInFlight
            guard used < limit else {
                record.outcome = .attemptsExhausted
                try await store.play.insertSubmission(record)
                throw BerthError(.attemptsExhausted,
                    "\(scorer.kind == .team ? "Your team has" : "You have") used all \(limit) attempts at \(environment.name); no more flags are accepted.")
            }
            attemptsLeft = limit - used
        }

        if environment.flags.contains(where: { $0.matches(submitted) }) {
            record.outcome = .correct
        } else if let owner = try await instanceOwner(ofFlag: submitted, environment: environment) {
            if try await belongs(owner.owner, to: user, scorer: scorer) {
                record.outcome = .correct
            } else {
                record.outcome = .shared
                record.sharedFromInstance = owner.instanceID
                record.sharedFromOwner = owner.owner
                logger.warning("flag of another owner submitted", metadata: [
                    "user.id": "\(user.id)", "client.ip": "\(clientIP ?? "-")", "environment": "\(slug)",
                    "instance.id": "\(owner.instanceID)", "flag.owner": "\(owner.owner.label)",
                ])
            }
        }
        // The solve and its submission in one transaction: never a solve without the flag that made it.
        let solve = record.outcome == .correct ? SolveRecord(scorer: scorer, environment: slug, userID: user.id, time: record.time) : nil
        if try await store.play.recordSubmission(record, solve: solve) {
            cachedBoard = nil
        } else if solve != nil {
            record.outcome = .alreadySolved
        }
        let points = value(of: environment, solves: try await store.play.solves(environment: slug).count)
        switch record.outcome {
        case .correct:
            return SubmissionResult(correct: true, outcome: "correct", points: points, message: "Correct! \(environment.name) is solved: \(points) points.")
        case .alreadySolved:
            return SubmissionResult(correct: true, outcome: "already_solved", points: points, message: "Correct, but \(scorer.kind == .team ? "your team" : "you") already solved \(environment.name).")
        default:
            let left = attemptsLeft.map { max(0, $0 - 1) }
            let message = switch left {
            case nil: "Incorrect flag. Try again."
            case 0?: "Incorrect flag. That was the last attempt."
            case 1?: "Incorrect flag. 1 attempt left."
            case let count?: "Incorrect flag. \(count) attempts left."
            }
            return SubmissionResult(correct: false, outcome: "incorrect", points: points, message: message, attemptsLeft: left)
        }
    }

    /// Records that `solve.scorer` solved the environment (a right flag, or a lab's last step
    /// passed) and refreshes the scoreboard; false when they had already solved it.
    func recordSolve(_ solve: SolveRecord) async throws -> Bool {
        let new = try await store.play.insertSolve(solve)
        if new { cachedBoard = nil }
        return new
    }

    /// The instance whose per-instance flag `submitted` is, with its owner.
    func instanceOwner(ofFlag submitted: String, environment: EnvironmentSpec) async throws -> (instanceID: String, owner: Owner)? {
        guard let spec = environment.berth.flag, let secret = flagSecret,
              submitted.hasPrefix(spec.prefix), submitted.hasSuffix(spec.suffix)
        else { return nil }
        for instance in try await store.instances.instances(InstanceQuery(environment: environment.slug, limit: 1_000_000))
        where spec.flag(instanceID: instance.id, secret: secret) == submitted {
            return (instance.id, instance.owner)
        }
        return nil
    }

    /// Whether an instance owned by `owner` is `user`'s own (directly or through their team).
    func belongs(_ owner: Owner, to user: User, scorer: Owner) async throws -> Bool {
        if owner == scorer || owner == Owner(kind: .user, id: user.id) { return true }
        guard owner.kind == .team else { return false }
        return try await store.teams.team(ofUser: user.id)?.id == owner.id
    }

    /// Unlocks hint `index` of `slug` for `user`'s scorer at its cost, and returns it.
    public func unlockHint(environment slug: String, index: Int, by user: User) async throws -> HintSpec {
        let environment = try await playable(slug, by: user)
        guard environment.hints.indices.contains(index) else {
            throw BerthError(.hintNotFound, "'\(slug)' has no hint \(index); it has \(environment.hints.count).")
        }
        let scorer = try await scorer(for: user)
        let hint = environment.hints[index]
        if try await store.play.insertHintUnlock(HintUnlockRecord(
            scorer: scorer, environment: slug, hint: index, userID: user.id, cost: hint.cost, time: Date()
        )) {
            cachedBoard = nil
        }
        return hint
    }

    /// What `user`'s scorer has solved and unlocked.
    public struct Standing: Sendable {
        /// Who scores.
        public var scorer: Owner?
        /// Solved environments.
        public var solved: Set<String>
        /// Unlocked hints per environment.
        public var unlocked: [String: Set<Int>]
        /// Wrong submissions per environment (what ctfcli's `attempts` limits).
        public var wrongAttempts: [String: Int] = [:]
    }

    /// What `user`'s scorer has solved and unlocked (nothing when they have no team in team mode).
    public func standing(of user: User) async throws -> Standing {
        guard let scorer = try? await scorer(for: user) else { return Standing(scorer: nil, solved: [], unlocked: [:]) }
        let solved = Set(try await store.play.solves(environment: nil).filter { $0.scorer == scorer }.map(\.environment))
        var unlocked: [String: Set<Int>] = [:]
        for unlock in try await store.play.hintUnlocks(scorer: scorer) { unlocked[unlock.environment, default: []].insert(unlock.hint) }
        return Standing(scorer: scorer, solved: solved, unlocked: unlocked, wrongAttempts: try await wrongAttempts(of: scorer))
    }

    /// One line of the scoreboard.
    public struct Entry: Codable, Sendable, Equatable {
        /// 1 for the leader; ties share nothing (earlier last solve ranks first).
        public var rank: Int
        /// `user` or `team`.
        public var kind: String
        /// The user's or team's id.
        public var id: String
        /// Their name.
        public var name: String
        /// Solve values at today's worth, less hint costs.
        public var points: Int
        /// Environments solved.
        public var solves: Int
        /// When they last solved something.
        public var lastSolveAt: Date?
    }

    /// The solves that count in `mode`, each environment once per scorer. In team mode a member's
    /// solve as a player (scored before the event switched to teams, or before they joined) counts
    /// for their team, at its first time, so a team never shows no points while its members have them.
    func scoringSolves(mode: Owner.Kind) async throws -> [SolveRecord] {
        let all = try await store.play.solves(environment: nil)
        guard mode == .team else { return all.filter { $0.scorer.kind == .user } }
        let teamOf = try await teamsByMember()
        var seen: Set<String> = []
        var result: [SolveRecord] = []
        for var solve in all.sorted(by: { $0.time < $1.time }) {
            guard let scorer = Self.scorer(solve.scorer, mode: mode, teamOf: teamOf) else { continue }
            guard seen.insert("\(scorer.id) \(solve.environment)").inserted else { continue }
            solve.scorer = scorer
            result.append(solve)
        }
        return result
    }

    /// Each team member's team id.
    func teamsByMember() async throws -> [String: String] {
        var teamOf: [String: String] = [:]
        for team in try await store.teams.teams() {
            for member in try await store.teams.members(teamID: team.id) { teamOf[member.id] = team.id }
        }
        return teamOf
    }

    /// Who `owner`'s points go to in `mode`: a user's go to their team in team mode (nowhere without one).
    static func scorer(_ owner: Owner, mode: Owner.Kind, teamOf: [String: String]) -> Owner? {
        if owner.kind == mode { return owner }
        guard mode == .team, owner.kind == .user, let team = teamOf[owner.id] else { return nil }
        return Owner(kind: .team, id: team)
    }

    /// The scoreboard of the current mode: everyone with a solve, by points, then by who got there first.
    public func scoreboard() async throws -> (mode: Owner.Kind, entries: [Entry]) {
        let mode = await mode()
        if let cached = cachedBoard, cached.mode == mode, ContinuousClock.now - cached.made < .seconds(1) {
            return (cached.mode, cached.entries)
        }
        let entries = try await computeScoreboard(mode: mode)
        cachedBoard = (ContinuousClock.now, mode, entries)
        return (mode, entries)
    }

    func computeScoreboard(mode: Owner.Kind) async throws -> [Entry] {
        let solves = try await scoringSolves(mode: mode)
        let counts = solves.reduce(into: [String: Int]()) { $0[$1.environment, default: 0] += 1 }
        var worth: [String: Int] = [:]
        for (slug, count) in counts {
            if let environment = await catalog.environment(slug) { worth[slug] = value(of: environment, solves: count) }
        }
        var points: [Owner: Int] = [:]
        var solved: [Owner: Int] = [:]
        var last: [Owner: Date] = [:]
        for solve in solves {
            points[solve.scorer, default: 0] += worth[solve.environment] ?? 0
            solved[solve.scorer, default: 0] += 1
            last[solve.scorer] = max(last[solve.scorer] ?? .distantPast, solve.time)
        }
        let teamOf = mode == .team ? try await teamsByMember() : [:]
        var charged: Set<String> = []
        for unlock in try await store.play.hintUnlocks(scorer: nil) {
            guard let scorer = Self.scorer(unlock.scorer, mode: mode, teamOf: teamOf), solved[scorer] != nil else { continue }
            // A hint two members of one team unlocked on their own costs the team once.
            guard charged.insert("\(scorer.id) \(unlock.environment) \(unlock.hint)").inserted else { continue }
            points[scorer, default: 0] -= unlock.cost
        }
        let names: [String: String]
        if mode == .team {
            names = Dictionary(try await store.teams.teams().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        } else {
            names = Dictionary(try await store.accounts.users().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        }
        let ordered = solved.keys.sorted { left, right in
            let (lp, rp) = (points[left] ?? 0, points[right] ?? 0)
            if lp != rp { return lp > rp }
            let (lt, rt) = (last[left] ?? .distantFuture, last[right] ?? .distantFuture)
            if lt != rt { return lt < rt }
            return (names[left.id] ?? left.id) < (names[right.id] ?? right.id)
        }
        return ordered.enumerated().map { index, owner in
            Entry(
                rank: index + 1, kind: owner.kind.rawValue, id: owner.id, name: names[owner.id] ?? owner.id, points: points[owner] ?? 0,
                solves: solved[owner] ?? 0, lastSolveAt: last[owner]
            )
        }
    }
}
