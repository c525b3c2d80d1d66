import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import OpenAPIRuntime

// The admin console's API: the catalog's reload, settings, environments (status, build, on/off),
// submissions, and users' roles and passwords. The admin group admits admins only.

extension BerthAPIHandler {
    public func reloadEnvironments(_ input: Operations.ReloadEnvironments.Input) async throws -> Operations.ReloadEnvironments.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let scan = try await services.catalog.reload()
        await services.attachments.invalidate()
        here.logger.info("catalog reloaded", metadata: ["user.id": "\(admin.id)", "environments": "\(scan.environments.count)"])
        return .ok(.init(body: .json(.init(environments: scan.environments.map(\.slug), problems: scan.problems.map(\.description)))))
    }

    public func getSettings(_ input: Operations.GetSettings.Input) async throws -> Operations.GetSettings.Output {
        .ok(.init(body: .json(.init(await services.settings.values))))
    }

    public func updateSettings(_ input: Operations.UpdateSettings.Input) async throws -> Operations.UpdateSettings.Output {
        let here = try APIRequest.here()
        let object = switch input.body { case .json(let json): json }
        // The body stays a free-form object so a field sent as null (clear it) differs from one left out.
        let patch: EventSettings.Patch
        do {
            patch = try JSONDecoder().decode(EventSettings.Patch.self, from: JSONEncoder().encode(object))
        } catch let error as DecodingError {
            throw BerthError(.invalidBody, "The request body is not the JSON this route expects: \(ErrorMiddleware.describe(error))")
        }
        let values = try await services.settings.update(patch)
        here.facts.detail = String(decoding: (try? JSONEncoder().encode(values)) ?? Data(), as: UTF8.self)
        return .ok(.init(body: .json(.init(values))))
    }

    public func adminEnvironments(_ input: Operations.AdminEnvironments.Input) async throws -> Operations.AdminEnvironments.Output {
        let facts = try await AdminEnvironmentFacts.read(services)
        var items: [Components.Schemas.AdminEnvironment] = []
        for spec in await services.catalog.all() { items.append(await adminView(spec, facts)) }
        // Broken folders are not in the catalog; their problems tell the admin why.
        let problems = await services.catalog.problems().map { problem in
            Components.Schemas.AdminEnvironmentList.ProblemsPayloadPayload(
                file: problem.file, field: problem.field, reason: problem.reason,
                severity: problem.severity == .warning ? .warning : .error
            )
        }
        return .ok(.init(body: .json(.init(items: items, problems: problems))))
    }

    public func enableEnvironment(_ input: Operations.EnableEnvironment.Input) async throws -> Operations.EnableEnvironment.Output {
        .ok(.init(body: .json(try await switchEnvironment(input.path.slug, on: true))))
    }

    public func disableEnvironment(_ input: Operations.DisableEnvironment.Input) async throws -> Operations.DisableEnvironment.Output {
        .ok(.init(body: .json(try await switchEnvironment(input.path.slug, on: false))))
    }

    public func buildEnvironment(_ input: Operations.BuildEnvironment.Input) async throws -> Operations.BuildEnvironment.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let spec = try await catalogEnvironment(input.path.slug)
        guard let builder = services.imageBuilder else {
            throw BerthError(.buildUnsupported, "This engine does not build images.")
        }
        here.facts.target = spec.slug
        let folder = await services.catalog.folder(of: spec.slug)
        let logger = here.logger
        let (stream, continuation) = AsyncStream<HTTPBody.ByteChunk>.makeStream()
        // The build goes on if the browser leaves; its outcome is in the server log.
        Task {
            @Sendable func line(_ object: [String: any Sendable]) {
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                    continuation.yield(ArraySlice(data + Data("\n".utf8)))
                }
            }
            do {
                let image = try await builder.build(spec, folder: folder) { text in line(["progress": text]) }
                line(["done": true, "image": image])
                logger.info("image built", metadata: ["environment": "\(spec.slug)", "user.id": "\(admin.id)"])
            } catch {
                let failure = (error as? BerthError) ?? BerthError(.buildFailed, "The build failed: \(error)")
                line(["error": ["code": failure.code.rawValue, "message": failure.message]])
                logger.warning("image build failed", metadata: ["environment": "\(spec.slug)", "user.id": "\(admin.id)", "error": "\(error)"])
            }
            continuation.finish()
        }
        return .ok(.init(body: .applicationXNdjson(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }

    public func adminSubmissions(_ input: Operations.AdminSubmissions.Input) async throws -> Operations.AdminSubmissions.Output {
        let query = input.query
        var filter = SubmissionQuery(limit: try Self.limit(query.limit))
        filter.environment = query.environment
        filter.userID = query.user
        if let outcome = query.outcome {
            guard let parsed = SubmissionOutcome(rawValue: outcome.rawValue) else {
                throw BerthError(.invalidQuery, "'outcome' must be one of \(SubmissionOutcome.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.outcomes = [parsed]
        }
        let names = Dictionary(try await services.store.accounts.users().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let items = try await services.store.play.submissions(filter).map { Components.Schemas.Submission($0, userName: names[$0.userID]) }
        return .ok(.init(body: .json(.init(items: items))))
    }

    public func setUserRole(_ input: Operations.SetUserRole.Input) async throws -> Operations.SetUserRole.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let id = input.path.id
        guard Identifier.isWellFormed(id), let user = try await services.store.accounts.user(id: id) else {
            throw BerthError(.userNotFound, "No user has id '\(id.prefix(64))'.")
        }
        let body = switch input.body { case .json(let json): json }
        guard let role = Role(rawValue: body.role) else {
            throw BerthError(.invalidRole, "'role' must be player or admin, not '\(body.role.prefix(32))'.")
        }
        guard user.id != admin.id || role == .admin else {
            throw BerthError(.cannotDemoteSelf, "You cannot take away your own admin role; ask another admin.")
        }
        try await services.store.accounts.setRole(userID: id, role: role)
        here.facts.detail = "role \(role.rawValue)"
        var updated = user
        updated.role = role
        return .ok(.init(body: .json(.init(updated))))
    }

    /// Admins reset a forgotten password; the user's sessions end.
    public func setUserPassword(_ input: Operations.SetUserPassword.Input) async throws -> Operations.SetUserPassword.Output {
        let id = input.path.id
        guard Identifier.isWellFormed(id), try await services.store.accounts.user(id: id) != nil else {
            throw BerthError(.userNotFound, "No user has id '\(id.prefix(64))'.")
        }
        let body = switch input.body { case .json(let json): json }
        try await services.accounts.setPassword(userID: id, password: body.password)
        return .noContent(.init())
    }

    /// The catalog's environment called `slug`, or `environment_not_found`.
    private func catalogEnvironment(_ slug: String) async throws -> EnvironmentSpec {
        guard let spec = await services.catalog.environment(slug) else {
            throw BerthError(.environmentNotFound, "No environment is called '\(slug.prefix(64))'.")
        }
        return spec
    }

    /// Switches an environment on or off for players and answers with its console view.
    private func switchEnvironment(_ slug: String, on enabled: Bool) async throws -> Components.Schemas.AdminEnvironment {
        let spec = try await catalogEnvironment(slug)
        try await services.settings.setEnabled(spec.slug, enabled)
        try APIRequest.here().facts.target = spec.slug
        return await adminView(spec, try await AdminEnvironmentFacts.read(services))
    }

    /// An environment as the console shows it: status, image and activity.
    private func adminView(_ spec: EnvironmentSpec, _ facts: AdminEnvironmentFacts) async -> Components.Schemas.AdminEnvironment {
        let solves = facts.solves[spec.slug] ?? 0
        let built = spec.hasInstance ? await services.imageBuilder?.isBuilt(spec, folder: await services.catalog.folder(of: spec.slug)) ?? false : false
        // A prebuilt image missing from the engine is `image_not_found`: Berth never pulls.
        let status: Components.Schemas.AdminEnvironment.ImageStatusPayload = switch spec.image {
        case .none: .none
        case .build: built ? .built : .notBuilt
        case .prebuilt: built ? .built : .imageNotFound
        }
        return .init(
            slug: spec.slug, name: spec.name, category: spec.category, enabled: !facts.disabled.contains(spec.slug),
            image: spec.imageReference, imageBuilt: built, imageStatus: status, hasInstance: spec.hasInstance,
            visibility: spec.visibility == .hidden ? .hidden : .visible,
            activeInstances: facts.active[spec.slug] ?? 0, points: spec.scoring.value(solves: solves + 1), solves: solves,
            containers: spec.berth.containers
        )
    }
}

/// What the console's environment views need, read once for a whole list.
private struct AdminEnvironmentFacts {
    var solves: [String: Int]
    var active: [String: Int]
    var disabled: Set<String>

    static func read(_ services: BerthServices) async throws -> AdminEnvironmentFacts {
        AdminEnvironmentFacts(
            solves: try await services.scores.solveCounts(),
            active: try await services.lifecycle.activeInstances().reduce(into: [:]) { $0[$1.environment, default: 0] += 1 },
            disabled: await services.settings.disabledEnvironments
        )
    }
}

extension Components.Schemas.Settings {
    /// The settings in force as the console shows them.
    init(_ values: EventSettings.Values) {
        self.init(
            registrationOpen: values.registrationOpen, publicHost: values.publicHost, defaultTTL: values.defaultTTL,
            renewalCap: values.renewalCap, assignment: AssignmentPayload(rawValue: values.assignment) ?? .user, ownerCap: values.ownerCap,
            globalCap: values.globalCap
        )
    }
}

extension Components.Schemas.Submission {
    /// A flag submission with its user's name.
    init(_ record: SubmissionRecord, userName: String?) {
        let outcome: OutcomePayload = switch record.outcome {
        case .correct: .correct
        case .incorrect: .incorrect
        case .alreadySolved: .alreadySolved
        case .shared: .shared
        case .rateLimited: .rateLimited
        case .attemptsExhausted: .attemptsExhausted
        }
        self.init(
            id: record.id, time: record.time, userId: record.userID, userName: userName,
            scorer: .init(kind: record.scorer.kind.rawValue, id: record.scorer.id), environment: record.environment,
            submitted: record.submitted, outcome: outcome,
            sharedFromInstance: record.sharedFromInstance,
            sharedFromOwner: record.sharedFromOwner.map { .init(kind: $0.kind.rawValue, id: $0.id) }, clientIp: record.clientIP
        )
    }
}
