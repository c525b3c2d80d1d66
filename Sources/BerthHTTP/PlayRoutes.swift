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

    enum Key: String, CodingKey { case points, solved, solves, hasFlag, enabled, hints }

    init(_ spec: EnvironmentSpec, forAdmin: Bool, solves: Int, standing: Scorekeeper.Standing, enabled: Bool) {
        environment = EnvironmentView(spec, forAdmin: forAdmin)
        points = spec.scoring.value(solves: solves + 1)
        solved = standing.solved.contains(spec.slug)
        self.solves = solves
        hasFlag = spec.isSolvable
        self.enabled = enabled
        let unlocked = standing.unlocked[spec.slug] ?? []
        hints = spec.hints.enumerated().map { index, hint in
            let open = hint.cost == 0 || unlocked.contains(index)
            return HintView(index: index, cost: hint.cost, unlocked: open, content: open ? hint.content : nil)
        }
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
    }
}

/// The catalog with scores, flag submission, hints and the scoreboard.
struct PlayRoutes {
    let services: BerthServices

    struct FlagBody: Decodable {
        var flag: String
    }

    /// The catalog entries `caller` may see (players do not see switched-off environments).
    func catalog(for caller: User) async throws -> [CatalogEntryView] {
        let standing = try await services.scores.standing(of: caller)
        let counts = try await services.scores.solveCounts()
        let disabled = await services.settings.disabledEnvironments
        return await services.catalog.all().compactMap { spec in
            let enabled = !disabled.contains(spec.slug)
            guard enabled || caller.role == .admin else { return nil }
            return CatalogEntryView(spec, forAdmin: caller.role == .admin, solves: counts[spec.slug] ?? 0, standing: standing, enabled: enabled)
        }
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
