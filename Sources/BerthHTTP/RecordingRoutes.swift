import BerthCore
import BerthEngine
import BerthRecording
import Foundation
import Hummingbird

/// Recordings: listing, download, verification and the public key (admins only, except the key).
struct RecordingRoutes {
    let services: BerthServices

    /// A recording as the API shows it.
    struct RecordingView: Codable, Sendable {
        var id: String
        var instanceId: String
        var environment: String
        var owner: InstanceView.OwnerView
        /// The owning user's or team's name, nil when the account is gone.
        var ownerName: String?
        var terminal: String
        var startedAt: Date
        var endedAt: Date?
        var bytes: Int

        init(_ record: RecordingRecord, bytes: Int, ownerName: String?) {
            id = record.id
            self.ownerName = ownerName
            instanceId = record.instanceID
            environment = record.environment
            owner = InstanceView.OwnerView(kind: record.owner.kind.rawValue, id: record.owner.id)
            terminal = record.terminal
            startedAt = record.startedAt
            endedAt = record.endedAt
            self.bytes = bytes
        }
    }

    func register(on table: RouteTable) {
        table.on(.get, "/api/v1/recordings") { request, context in
            _ = try context.requireAdmin()
            let query = request.uri.queryParameters
            var filter = RecordingQuery()
            filter.instanceID = query.get("instance")
            filter.environment = query.get("environment")
            if let user = query.get("user") { filter.owner = Owner(kind: .user, id: user) }
            if let team = query.get("team") { filter.owner = Owner(kind: .team, id: team) }
            let records = try await services.store.recordings(filter)
            let names = try await ownerNames()
            return try JSONResponse.make(ListView(records.map { RecordingView($0, bytes: size(of: $0), ownerName: names[$0.owner]) }))
        }
        table.on(.get, "/api/v1/recordings/public-key") { _, context in
            _ = try context.requireCaller()
            return try JSONResponse.make(["algorithm": "ed25519", "publicKey": services.recordings.signer.publicKeyBase64])
        }
        table.on(.get, "/api/v1/recordings/:id") { _, context in
            _ = try context.requireAdmin()
            let record = try await recording(context)
            return try JSONResponse.make(RecordingView(record, bytes: size(of: record), ownerName: try await ownerNames()[record.owner]))
        }
        table.on(.get, "/api/v1/recordings/:id/verify") { _, context in
            _ = try context.requireAdmin()
            let record = try await recording(context)
            return try JSONResponse.make(services.recordings.verify(record))
        }
        table.on(.get, "/api/v1/recordings/:id/cast") { request, context in
            let admin = try context.requireAdmin()
            let record = try await recording(context)
            guard let data = FileManager.default.contents(atPath: services.recordings.castURL(record).path) else {
                throw BerthError.notFound("recording_file_missing", "The file of recording \(record.id) is missing from the data directory.")
            }
            if request.headers[.range] == nil {
                context.logger.info("recording downloaded", metadata: ["recording.id": "\(record.id)", "user.id": "\(admin.id)", "client.ip": "\(context.clientIP)"])
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/x-asciicast"
            headers[.contentDisposition] = "attachment; filename=\"\(record.id).cast\""
            headers[.acceptRanges] = "bytes"
            headers[.cacheControl] = "no-store"
            guard let range = request.headers[.range] else {
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            }
            // A player following a live session asks for what was appended since its last read.
            guard let start = Self.rangeStart(range) else {
                throw BerthError.badRequest("invalid_range", "Only 'Range: bytes=N-' is supported.")
            }
            guard start < data.count else {
                headers[.contentRange] = "bytes */\(data.count)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            headers[.contentRange] = "bytes \(start)-\(data.count - 1)/\(data.count)"
            return Response(status: .partialContent, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data[start...])))
        }
        table.on(.get, "/api/v1/recordings/:id/analysis") { request, context in
            _ = try context.requireAdmin()
            let record = try await recording(context)
            let thresholds = try Self.thresholds(request.uri.queryParameters, defaults: services.configuration)
            return try JSONResponse.make(try services.recordings.analyse(record, thresholds: thresholds))
        }
        table.on(.delete, "/api/v1/recordings/:id") { _, context in
            _ = try context.requireAdmin()
            let record = try await recording(context)
            guard record.endedAt != nil else {
                throw BerthError.conflict("recording_live", "Recording \(record.id) is still being written; stop its instance first.")
            }
            try await services.recordings.delete(record)
            context.facts.detail = "instance \(record.instanceID), environment \(record.environment), owner \(record.owner.kind.rawValue) \(record.owner.id)"
            return Response(status: .noContent)
        }
    }

    /// N of `bytes=N-`, the only range form the live player sends.
    static func rangeStart(_ header: String) -> Int? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes="), trimmed.hasSuffix("-") else { return nil }
        return Int(trimmed.dropFirst("bytes=".count).dropLast()).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Analysis thresholds from `pasteChars` and `idleSeconds`, else the server's defaults.
    static func thresholds(_ query: Parameters, defaults: BerthConfiguration) throws -> AnalysisThresholds {
        var thresholds = AnalysisThresholds(pasteChars: defaults.analysisPasteCharacters, idleSeconds: Double(defaults.analysisIdleSeconds))
        if let text = query.get("pasteChars") {
            guard let count = Int(text), (2...100_000).contains(count) else {
                throw BerthError.badRequest("invalid_threshold", "pasteChars must be a whole number from 2 to 100000.")
            }
            thresholds.pasteChars = count
        }
        if let text = query.get("idleSeconds") {
            guard let seconds = Double(text), seconds >= 0.5, seconds <= 86400 else {
                throw BerthError.badRequest("invalid_threshold", "idleSeconds must be a number of seconds from 0.5 to 86400.")
            }
            thresholds.idleSeconds = seconds
        }
        return thresholds
    }

    func recording(_ context: BerthRequestContext) async throws -> RecordingRecord {
        let id = try context.parameters.require("id")
        guard Identifier.isWellFormed(id), let record = try await services.store.recording(id: id) else {
            throw BerthError.notFound("recording_not_found", "No recording has id '\(id)'.")
        }
        return record
    }

    /// Every user's and team's name by owner, so pages show names rather than ids.
    func ownerNames() async throws -> [Owner: String] {
        var names: [Owner: String] = [:]
        for user in try await services.store.users() { names[Owner(kind: .user, id: user.id)] = user.name }
        for team in try await services.store.teams() { names[Owner(kind: .team, id: team.id)] = team.name }
        return names
    }

    func size(of record: RecordingRecord) -> Int {
        let attributes = try? FileManager.default.attributesOfItem(atPath: services.recordings.castURL(record).path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }
}
