import BerthCore
import BerthEngine
import Foundation
import Hummingbird
import NIOCore

/// The admin console's API: settings, environments (status, build, on/off), submissions and roles.
struct AdminRoutes {
    let services: BerthServices

    /// An environment as the console shows it.
    struct AdminEnvironmentView: Encodable {
        var slug: String
        var name: String
        var category: String
        var enabled: Bool
        var image: String?
        var imageBuilt: Bool
        /// `none` (no instance), `built`, `not_built` (a folder to build) or `image_not_found`
        /// (a prebuilt image missing from the engine; Berth never pulls).
        var imageStatus: String
        var hasInstance: Bool
        var visibility: String
        var activeInstances: Int
        var points: Int
        var solves: Int
    }

    /// A submission with its user's name.
    struct SubmissionView: Encodable {
        var id: String
        var time: Date
        var userId: String
        var userName: String?
        var scorer: InstanceView.OwnerView
        var environment: String
        var submitted: String
        var outcome: String
        var sharedFromInstance: String?
        var sharedFromOwner: InstanceView.OwnerView?
        var clientIp: String?
    }

    struct RoleBody: Decodable {
        var role: String
    }

    struct PasswordBody: Decodable {
        var password: String
    }

    func register(on table: RouteTable) {
        registerPasswordReset(on: table)
        table.on(.get, "/api/v1/admin/settings") { _, context in
            _ = try context.requireAdmin()
            return try JSONResponse.make(await services.settings.values)
        }
        table.on(.put, "/api/v1/admin/settings") { request, context in
            _ = try context.requireAdmin()
            let patch = try await JSONResponse.decode(EventSettings.Patch.self, from: request, context: context)
            let values = try await services.settings.update(patch)
            context.facts.detail = String(decoding: (try? JSONEncoder().encode(values)) ?? Data(), as: UTF8.self)
            return try JSONResponse.make(values)
        }
        table.on(.get, "/api/v1/admin/environments") { _, context in
            _ = try context.requireAdmin()
            let facts = try await Facts.read(services)
            var views: [AdminEnvironmentView] = []
            for spec in await services.catalog.all() { views.append(await view(spec, facts)) }
            // Broken folders are not in the catalog; their problems tell the admin why.
            struct EnvironmentsView: Encodable {
                var items: [AdminEnvironmentView]
                var problems: [ValidationProblem]
            }
            return try JSONResponse.make(EnvironmentsView(items: views, problems: await services.catalog.problems()))
        }
        for (verb, enabled) in [("enable", true), ("disable", false)] {
            table.on(.post, "/api/v1/admin/environments/:slug/\(verb)") { _, context in
                _ = try context.requireAdmin()
                let spec = try await environment(context)
                try await services.settings.setEnabled(spec.slug, enabled)
                context.facts.target = spec.slug
                return try JSONResponse.make(await view(spec, try await Facts.read(services)))
            }
        }
        table.on(.post, "/api/v1/admin/environments/:slug/build") { _, context in
            let admin = try context.requireAdmin()
            let spec = try await environment(context)
            guard let builder = services.imageBuilder else {
                throw BerthError.unprocessable("build_unsupported", "This engine does not build images.")
            }
            context.facts.target = spec.slug
            let folder = await services.catalog.folder(of: spec.slug)
            let logger = context.logger
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            // The build goes on if the browser leaves; its outcome is in the server log.
            Task {
                @Sendable func line(_ object: [String: any Sendable]) {
                    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                        continuation.yield(ByteBuffer(bytes: data + Data("\n".utf8)))
                    }
                }
                do {
                    let image = try await builder.build(spec, folder: folder) { text in line(["progress": text]) }
                    line(["done": true, "image": image])
                    logger.info("image built", metadata: ["environment": "\(spec.slug)", "user.id": "\(admin.id)"])
                } catch {
                    let failure = (error as? BerthError) ?? BerthError.internal("build_failed", "The build failed: \(error)")
                    line(["error": ["code": failure.code, "message": failure.message]])
                    logger.warning("image build failed", metadata: ["environment": "\(spec.slug)", "user.id": "\(admin.id)", "error": "\(error)"])
                }
                continuation.finish()
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: stream))
        }
        table.on(.get, "/api/v1/admin/submissions") { request, context in
            _ = try context.requireAdmin()
            let query = request.uri.queryParameters
            var filter = SubmissionQuery(limit: try InstanceRoutes.limit(query.get("limit")))
            filter.environment = query.get("environment")
            filter.userID = query.get("user")
            if let outcome = query.get("outcome") {
                guard let parsed = SubmissionOutcome(rawValue: outcome) else {
                    throw BerthError.badRequest("invalid_query", "'outcome' must be one of \(SubmissionOutcome.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                filter.outcomes = [parsed]
            }
            let names = Dictionary(try await services.store.users().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            let items = try await services.store.submissions(filter).map { record in
                SubmissionView(
                    id: record.id, time: record.time, userId: record.userID, userName: names[record.userID],
                    scorer: InstanceView.OwnerView(kind: record.scorer.kind.rawValue, id: record.scorer.id), environment: record.environment,
                    submitted: record.submitted, outcome: record.outcome.rawValue, sharedFromInstance: record.sharedFromInstance,
                    sharedFromOwner: record.sharedFromOwner.map { InstanceView.OwnerView(kind: $0.kind.rawValue, id: $0.id) }, clientIp: record.clientIP
                )
            }
            return try JSONResponse.make(["items": items])
        }
        table.on(.patch, "/api/v1/users/:id") { request, context in
            let admin = try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard Identifier.isWellFormed(id), let user = try await services.store.user(id: id) else {
                throw BerthError.notFound("user_not_found", "No user has id '\(id.prefix(64))'.")
            }
            let body = try await JSONResponse.decode(RoleBody.self, from: request, context: context)
            guard let role = Role(rawValue: body.role) else {
                throw BerthError.unprocessable("invalid_role", "'role' must be player or admin, not '\(body.role.prefix(32))'.")
            }
            guard user.id != admin.id || role == .admin else {
                throw BerthError.conflict("cannot_demote_self", "You cannot take away your own admin role; ask another admin.")
            }
            try await services.store.setRole(userID: id, role: role)
            context.facts.detail = "role \(role.rawValue)"
            var updated = user
            updated.role = role
            return try JSONResponse.make(UserView(updated))
        }
    }

    /// Admins reset a forgotten password; the user's sessions end.
    func registerPasswordReset(on table: RouteTable) {
        table.on(.put, "/api/v1/users/:id/password") { request, context in
            _ = try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard Identifier.isWellFormed(id), try await services.store.user(id: id) != nil else {
                throw BerthError.notFound("user_not_found", "No user has id '\(id.prefix(64))'.")
            }
            let body = try await JSONResponse.decode(PasswordBody.self, from: request, context: context)
            try await services.accounts.setPassword(userID: id, password: body.password)
            return Response(status: .noContent)
        }
    }

    func environment(_ context: BerthRequestContext) async throws -> EnvironmentSpec {
        let slug = try context.parameters.require("slug")
        guard let spec = await services.catalog.environment(slug) else {
            throw BerthError.notFound("environment_not_found", "No environment is called '\(slug.prefix(64))'.")
        }
        return spec
    }

    /// What the environment views need, read once for a whole list.
    struct Facts {
        var solves: [String: Int]
        var active: [String: Int]
        var disabled: Set<String>

        static func read(_ services: BerthServices) async throws -> Facts {
            Facts(
                solves: try await services.scores.solveCounts(),
                active: await services.lifecycle.activeInstances().reduce(into: [:]) { $0[$1.environment, default: 0] += 1 },
                disabled: await services.settings.disabledEnvironments
            )
        }
    }

    func view(_ spec: EnvironmentSpec, _ facts: Facts) async -> AdminEnvironmentView {
        let solves = facts.solves[spec.slug] ?? 0
        let built = spec.hasInstance ? await services.imageBuilder?.isBuilt(spec, folder: await services.catalog.folder(of: spec.slug)) ?? false : false
        let status = switch spec.image {
        case .none: "none"
        case .build: built ? "built" : "not_built"
        case .prebuilt: built ? "built" : "image_not_found"
        }
        return AdminEnvironmentView(
            slug: spec.slug, name: spec.name, category: spec.category, enabled: !facts.disabled.contains(spec.slug),
            image: spec.imageReference, imageBuilt: built, imageStatus: status, hasInstance: spec.hasInstance,
            visibility: spec.visibility.rawValue,
            activeInstances: facts.active[spec.slug] ?? 0, points: spec.scoring.value(solves: solves + 1), solves: solves
        )
    }
}
