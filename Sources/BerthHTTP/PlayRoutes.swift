import BerthCore
import BerthEngine
import Foundation
import Hummingbird

/// An environment as a player's catalog shows it: its description plus points, whether the
/// caller has solved it, and its hints (the text only once unlocked).
struct CatalogEntryView: Encodable {
    /// A hint; `content` is null until it is unlocked.
    struct HintView: Encodable {
        var index: Int
        var cost: Int
        var unlocked: Bool
        var content: String?

        enum Key: String, CodingKey { case index, cost, unlocked, content }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(index, forKey: .index)
            try container.encode(cost, forKey: .cost)
            try container.encode(unlocked, forKey: .unlocked)
            try container.encode(content, forKey: .content)
        }
    }

    var environment: EnvironmentView
    var points: Int
    var solved: Bool
    var solves: Int
    var hasFlag: Bool
    var enabled: Bool
    var hints: [HintView]
    /// True while prerequisites are unsolved (shown only with `anonymize`).
    var locked: Bool
    /// The names of the unsolved prerequisites.
    var lockedBy: [String]
    /// Wrong submissions the caller's owner may still make, nil without a limit.
    var attemptsLeft: Int?
    /// Attachments, each with its size, SHA-256 and download URL.
    var files: [AttachmentView]

    enum Key: String, CodingKey { case points, solved, solves, hasFlag, enabled, hints, locked, lockedBy, attemptsLeft, files }

    init(
        _ spec: EnvironmentSpec, forAdmin: Bool, solves: Int, standing: Scorekeeper.Standing, enabled: Bool,
        lockedBy: [String] = [], files: [Attachment] = []
    ) {
        // A locked challenge shown with CTFd's `anonymize` keeps its slug, category and points only.
        let shown = lockedBy.isEmpty ? spec : Self.placeholder(for: spec)
        environment = EnvironmentView(shown, forAdmin: forAdmin)
        points = spec.scoring.value(solves: solves + 1)
        solved = standing.solved.contains(spec.slug)
        self.solves = solves
        hasFlag = spec.isSolvable
        self.enabled = enabled
        let unlocked = standing.unlocked[spec.slug] ?? []
        hints = shown.hints.enumerated().map { index, hint in
            let open = hint.cost == 0 || unlocked.contains(index)
            return HintView(index: index, cost: hint.cost, unlocked: open, content: open ? hint.content : nil)
        }
        locked = !lockedBy.isEmpty
        self.lockedBy = lockedBy
        attemptsLeft = spec.maxAttempts.map { max(0, $0 - (standing.wrongAttempts[spec.slug] ?? 0)) }
        self.files = lockedBy.isEmpty ? files.map { AttachmentView($0, slug: spec.slug) } : []
    }

    static func placeholder(for spec: EnvironmentSpec) -> EnvironmentSpec {
        var shown = EnvironmentSpec(slug: spec.slug, name: "Locked challenge", category: spec.category, value: spec.value, type: spec.type, image: spec.image)
        shown.requirements = spec.requirements
        shown.maxAttempts = spec.maxAttempts
        return shown
    }

    func encode(to encoder: any Encoder) throws {
        try environment.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(points, forKey: .points)
        try container.encode(solved, forKey: .solved)
        try container.encode(solves, forKey: .solves)
        try container.encode(hasFlag, forKey: .hasFlag)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(hints, forKey: .hints)
        try container.encode(locked, forKey: .locked)
        try container.encode(lockedBy, forKey: .lockedBy)
        try container.encode(attemptsLeft, forKey: .attemptsLeft)
        try container.encode(files, forKey: .files)
    }
}

/// An attachment as the API lists it.
struct AttachmentView: Encodable {
    var name: String
    var size: Int64
    var sha256: String
    var url: String

    init(_ attachment: Attachment, slug: String) {
        name = attachment.name
        size = attachment.size
        sha256 = attachment.sha256
        url = "/api/v1/environments/\(Self.segment(slug))/files/\(Self.segment(attachment.name))"
    }

    /// `text` percent-encoded for one path segment.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The catalog with scores, flag submission, hints and the scoreboard.
struct PlayRoutes {
    let services: BerthServices

    struct FlagBody: Decodable {
        var flag: String
    }

    /// The catalog entries `caller` may see. Players do not see switched-off or hidden
    /// environments, nor locked ones unless their requirements say `anonymize`.
    func catalog(for caller: User) async throws -> [CatalogEntryView] {
        let standing = try await services.scores.standing(of: caller)
        let counts = try await services.scores.solveCounts()
        let disabled = await services.settings.disabledEnvironments
        var entries: [CatalogEntryView] = []
        for spec in await services.catalog.all() {
            let enabled = !disabled.contains(spec.slug)
            guard enabled || caller.role == .admin else { continue }
            var lockedBy: [String] = []
            switch await services.scores.access(to: spec, for: caller, standing: standing) {
            case .open: break
            case .hidden: continue
            case .locked(let missing):
                guard spec.requirements?.anonymize == true else { continue }
                lockedBy = missing
            }
            let files = lockedBy.isEmpty ? await services.attachments.attachments(of: spec).files : []
            entries.append(CatalogEntryView(
                spec, forAdmin: caller.role == .admin, solves: counts[spec.slug] ?? 0, standing: standing, enabled: enabled,
                lockedBy: lockedBy, files: files
            ))
        }
        return entries
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/environments") { _, context in
            try JSONResponse.make(["items": try await catalog(for: try context.requireCaller())])
        }
        table.on(.get, "/api/v1/environments/:slug") { _, context in
            let caller = try context.requireCaller()
            let slug = try context.parameters.require("slug")
            guard let entry = try await catalog(for: caller).first(where: { $0.environment.slug == slug }) else {
                throw BerthError.notFound("environment_not_found", "No environment is called '\(slug.prefix(64))'; GET /api/v1/environments lists them.")
            }
            return try JSONResponse.make(entry)
        }
        table.on(.post, "/api/v1/environments/:slug/submissions") { request, context in
            let caller = try context.requireCaller()
            let slug = try context.parameters.require("slug")
            let body = try await JSONResponse.decode(FlagBody.self, from: request, context: context)
            let result = try await services.scores.submit(flag: body.flag, environment: slug, by: caller, clientIP: context.clientIP)
            context.facts.target = slug
            context.facts.detail = "outcome \(result.outcome)"
            return try JSONResponse.make(result)
        }
        table.on(.post, "/api/v1/environments/:slug/hints/:index/unlock") { _, context in
            let caller = try context.requireCaller()
            let slug = try context.parameters.require("slug")
            guard let index = Int(try context.parameters.require("index")) else {
                throw BerthError.notFound("hint_not_found", "Hints are numbered from 0.")
            }
            let hint = try await services.scores.unlockHint(environment: slug, index: index, by: caller)
            context.facts.target = slug
            context.facts.detail = "hint \(index), cost \(hint.cost)"
            struct Unlocked: Encodable {
                var index: Int
                var cost: Int
                var content: String
            }
            return try JSONResponse.make(Unlocked(index: index, cost: hint.cost, content: hint.content))
        }
        table.on(.get, "/api/v1/scoreboard") { _, _ in
            let board = try await services.scores.scoreboard()
            struct Board: Encodable {
                var mode: String
                var entries: [Scorekeeper.Entry]
            }
            return try JSONResponse.make(Board(mode: board.mode == .team ? "teams" : "users", entries: board.entries))
        }
    }
}
