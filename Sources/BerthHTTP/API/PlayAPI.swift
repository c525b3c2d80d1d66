import BerthAPI
import BerthCore
import BerthEngine
import Foundation

extension BerthAPIHandler {
    // MARK: - The catalog

    public func listEnvironments(_ input: Operations.ListEnvironments.Input) async throws -> Operations.ListEnvironments.Output {
        .ok(.init(body: .json(.init(items: try await catalog(for: try APIRequest.caller()).map(\.entry)))))
    }

    public func getEnvironment(_ input: Operations.GetEnvironment.Input) async throws -> Operations.GetEnvironment.Output {
        let slug = input.path.slug
        guard let found = try await catalog(for: try APIRequest.caller()).first(where: { $0.slug == slug }) else {
            throw BerthError(.environmentNotFound, "No environment is called '\(slug.prefix(64))'; GET /api/v1/environments lists them.")
        }
        return .ok(.init(body: .json(found.entry)))
    }

    /// The catalog entries `caller` may see, each with its slug (a locked placeholder keeps it).
    /// Players do not see switched-off or hidden environments, nor locked ones unless their
    /// requirements say `anonymize`.
    func catalog(for caller: User) async throws -> [(slug: String, entry: Components.Schemas.CatalogEntry)] {
        let standing = try await services.scores.standing(of: caller)
        let counts = try await services.scores.solveCounts()
        let disabled = await services.settings.disabledEnvironments
        var entries: [(slug: String, entry: Components.Schemas.CatalogEntry)] = []
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
            entries.append((spec.slug, Components.Schemas.CatalogEntry(
                spec, forAdmin: caller.role == .admin, solves: counts[spec.slug] ?? 0, standing: standing, enabled: enabled,
                lockedBy: lockedBy, files: files
            )))
        }
        return entries
    }

    // MARK: - Attachments

    public func listAttachments(_ input: Operations.ListAttachments.Input) async throws -> Operations.ListAttachments.Output {
        let caller = try APIRequest.caller()
        let slug = input.path.slug
        let set = await services.attachments.attachments(of: try await environmentWithFiles(slug, for: caller))
        return .ok(.init(body: .json(.init(
            items: set.files.map { Components.Schemas.Attachment($0, slug: slug) },
            // Entries of `files:` that serve nothing, for admins.
            problems: caller.role == .admin ? set.problems : nil
        ))))
    }

    public func downloadAttachment(_ input: Operations.DownloadAttachment.Input) async throws -> Operations.DownloadAttachment.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let slug = input.path.slug
        let name = input.path.name
        let environment = try await environmentWithFiles(slug, for: caller)
        here.facts.target = "\(slug)/\(name.prefix(200))"
        guard let attachment = await services.attachments.attachment(name, of: environment),
              FileManager.default.isReadableFile(atPath: attachment.path)
        else {
            throw BerthError(.attachmentNotFound, "'\(slug.prefix(64))' has no file called '\(name.prefix(200))'; GET /api/v1/environments/\(slug.prefix(64))/files lists them.")
        }
        here.facts.detail = "size \(attachment.size), sha256 \(attachment.sha256)"
        here.logger.info("attachment downloaded", metadata: [
            "user.id": "\(caller.id)", "client.ip": "\(here.clientIP)", "environment": "\(slug)", "attachment": "\(attachment.name)",
        ])
        let body = FileChunks(
            path: attachment.path, offset: 0, count: attachment.size,
            unreadable: BerthError(.attachmentUnreadable, "The file \(attachment.name) can no longer be read.")
        ).body
        return .ok(.init(
            headers: .init(
                contentDisposition: Self.attachmentDisposition(attachment.name), cacheControl: "private, no-store",
                xContentSHA256: attachment.sha256, contentLength: Int(attachment.size)
            ),
            body: .binary(body)
        ))
    }

    /// The environment `slug` if `caller` may see its files now: within its visibility and
    /// requirements, and switched on (admins see switched-off ones too).
    func environmentWithFiles(_ slug: String, for caller: User) async throws -> EnvironmentSpec {
        let environment = try await services.scores.playable(slug, by: caller)
        if caller.role != .admin, await services.settings.disabledEnvironments.contains(slug) {
            throw BerthError(.environmentDisabled, "'\(slug.prefix(64))' is switched off by the organisers for now.")
        }
        return environment
    }

    /// `attachment; filename="…"; filename*=UTF-8''…`, safe whatever the name holds.
    static func attachmentDisposition(_ name: String) -> String {
        let plain = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar.value != 0x7F && scalar != "\"" && scalar != "\\" ? Character(scalar) : "_"
        })
        return "attachment; filename=\"\(plain)\"; filename*=UTF-8''\(Components.Schemas.Attachment.segment(name))"
    }

    // MARK: - Flags, hints and the scoreboard

    public func submitFlag(_ input: Operations.SubmitFlag.Input) async throws -> Operations.SubmitFlag.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let slug = input.path.slug
        guard case .json(let body) = input.body else { throw BerthError(.invalidBody, "Send the flag as JSON: {\"flag\": \"...\"}.") }
        let result = try await services.scores.submit(flag: body.flag, environment: slug, by: caller, clientIP: here.clientIP)
        here.facts.target = slug
        here.facts.detail = "outcome \(result.outcome)"
        guard let outcome = Components.Schemas.SubmissionResult.OutcomePayload(rawValue: result.outcome) else {
            throw BerthError(.internalError, "A submission ended with outcome '\(result.outcome)', which the API does not describe.")
        }
        return .ok(.init(body: .json(.init(
            correct: result.correct, outcome: outcome, points: result.points, message: result.message, attemptsLeft: result.attemptsLeft
        ))))
    }

    public func unlockHint(_ input: Operations.UnlockHint.Input) async throws -> Operations.UnlockHint.Output {
        let here = try APIRequest.here()
        let slug = input.path.slug
        let index = input.path.index
        let hint = try await services.scores.unlockHint(environment: slug, index: index, by: try APIRequest.caller())
        here.facts.target = slug
        here.facts.detail = "hint \(index), cost \(hint.cost)"
        return .ok(.init(body: .json(.init(index: index, cost: hint.cost, content: hint.content))))
    }

    public func getScoreboard(_ input: Operations.GetScoreboard.Input) async throws -> Operations.GetScoreboard.Output {
        let board = try await services.scores.scoreboard()
        let entries = board.entries.map { entry in
            Components.Schemas.ScoreboardEntry(
                rank: entry.rank, kind: entry.kind == Owner.Kind.team.rawValue ? .team : .user, id: entry.id, name: entry.name,
                points: entry.points, solves: entry.solves, lastSolveAt: entry.lastSolveAt
            )
        }
        return .ok(.init(body: .json(.init(mode: board.mode == .team ? .teams : .users, entries: entries))))
    }
}

extension Components.Schemas.Environment {
    /// An environment as the API shows it; `forAdmin` adds the warnings.
    init(_ spec: EnvironmentSpec, forAdmin: Bool) {
        let network: NetworkPayload = switch spec.berth.network {
        case .none: .none
        case .isolated: .isolated
        case .internet: .internet
        }
        self.init(
            slug: spec.slug, name: spec.name, category: spec.category, description: spec.description, value: spec.value,
            _type: spec.type, author: spec.author, connectionInfo: spec.connectionInfo, tags: spec.tags, image: spec.imageReference,
            hasInstance: spec.hasInstance, visibility: spec.visibility == .hidden ? .hidden : .visible, maxAttempts: spec.maxAttempts,
            requirements: spec.requirements.map { .init(prerequisites: $0.prerequisites, anonymize: $0.anonymize) },
            ports: spec.berth.ports.map { .init(port: $0.port, _protocol: $0.protocol == .http ? .http : .tcp) },
            resources: .init(
                memoryBytes: Int(spec.berth.resources.memoryBytes), cpus: spec.berth.resources.cpus, pids: spec.berth.resources.pids
            ),
            network: network,
            lifetime: .init(
                ttlSeconds: spec.berth.lifetime.ttlSeconds, renewals: spec.berth.lifetime.renewals,
                maxLifetimeSeconds: spec.berth.lifetime.maxLifetimeSeconds,
                whenDisconnectedSeconds: spec.berth.lifetime.whenDisconnectedSeconds
            ),
            readOnlyRoot: spec.berth.readOnlyRoot, writable: spec.berth.writable, privileged: spec.berth.privileged,
            containers: spec.berth.containers,
            warnings: forAdmin ? spec.warnings.map(\.description) : nil,
            lab: spec.lab.map { .init(stepCount: $0.steps.count) }
        )
    }
}

extension Components.Schemas.CatalogEntry {
    /// An environment as a player's catalog shows it: its description plus points, whether the
    /// caller has solved it, and its hints (the text only once unlocked).
    init(
        _ spec: EnvironmentSpec, forAdmin: Bool, solves: Int, standing: Scorekeeper.Standing, enabled: Bool,
        lockedBy: [String] = [], files: [Attachment] = []
    ) {
        // A locked challenge shown with CTFd's `anonymize` keeps its slug, category and points only.
        let shown = lockedBy.isEmpty ? spec : Self.placeholder(for: spec)
        let unlocked = standing.unlocked[spec.slug] ?? []
        self.init(
            value1: Components.Schemas.Environment(shown, forAdmin: forAdmin),
            value2: .init(
                points: spec.scoring.value(solves: solves + 1),
                solved: standing.solved.contains(spec.slug),
                solves: solves,
                hasFlag: spec.isSolvable,
                enabled: enabled,
                hints: shown.hints.enumerated().map { index, hint in
                    let open = hint.cost == 0 || unlocked.contains(index)
                    return .init(index: index, cost: hint.cost, unlocked: open, content: open ? hint.content : nil)
                },
                locked: !lockedBy.isEmpty,
                lockedBy: lockedBy,
                attemptsLeft: spec.maxAttempts.map { max(0, $0 - (standing.wrongAttempts[spec.slug] ?? 0)) },
                files: lockedBy.isEmpty ? files.map { Components.Schemas.Attachment($0, slug: spec.slug) } : []
            )
        )
    }

    static func placeholder(for spec: EnvironmentSpec) -> EnvironmentSpec {
        var shown = EnvironmentSpec(slug: spec.slug, name: "Locked challenge", category: spec.category, value: spec.value, type: spec.type, image: spec.image)
        shown.requirements = spec.requirements
        shown.maxAttempts = spec.maxAttempts
        return shown
    }
}

extension Components.Schemas.Attachment {
    /// An attachment as the API lists it, with its download URL.
    init(_ attachment: Attachment, slug: String) {
        self.init(
            name: attachment.name, size: attachment.size, sha256: attachment.sha256,
            url: "/api/v1/environments/\(Self.segment(slug))/files/\(Self.segment(attachment.name))"
        )
    }

    /// `text` percent-encoded for one path segment.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
