import BerthAPI
import BerthCore
import BerthEngine
import BerthRecording
import Foundation

extension BerthAPIHandler {
    public func listRecordings(_ input: Operations.ListRecordings.Input) async throws -> Operations.ListRecordings.Output {
        var filter = RecordingQuery()
        filter.instanceID = input.query.instance
        filter.environment = input.query.environment
        if let user = input.query.user { filter.owner = Owner(kind: .user, id: user) }
        if let team = input.query.team { filter.owner = Owner(kind: .team, id: team) }
        let records = try await services.store.recordings.recordings(filter)
        let names = try await ownerNames()
        return .ok(.init(body: .json(.init(items: records.map { recordingView($0, ownerName: names[$0.owner]) }))))
    }

    public func recordingPublicKey(_ input: Operations.RecordingPublicKey.Input) async throws -> Operations.RecordingPublicKey.Output {
        .ok(.init(body: .json(.init(algorithm: "ed25519", publicKey: services.recordings.signer.publicKeyBase64))))
    }

    public func getRecording(_ input: Operations.GetRecording.Input) async throws -> Operations.GetRecording.Output {
        let record = try await recording(input.path.id)
        return .ok(.init(body: .json(recordingView(record, ownerName: try await ownerNames()[record.owner]))))
    }

    public func deleteRecording(_ input: Operations.DeleteRecording.Input) async throws -> Operations.DeleteRecording.Output {
        let record = try await recording(input.path.id)
        guard record.endedAt != nil else {
            throw BerthError(.recordingLive, "Recording \(record.id) is still being written; stop its instance first.")
        }
        try await services.recordings.delete(record)
        let here = try APIRequest.here()
        here.facts.detail =
            "instance \(record.instanceID), environment \(record.environment), owner \(record.owner.kind.rawValue) \(record.owner.id)"
        return .noContent(.init())
    }

    public func verifyRecording(_ input: Operations.VerifyRecording.Input) async throws -> Operations.VerifyRecording.Output {
        let report = services.recordings.verify(try await recording(input.path.id))
        return .ok(.init(body: .json(.init(
            valid: report.valid, segments: report.segments, bytesVerified: report.bytesVerified, finalized: report.finalized,
            unverifiedTailBytes: report.unverifiedTailBytes, problems: report.problems
        ))))
    }

    public func downloadRecording(_ input: Operations.DownloadRecording.Input) async throws -> Operations.DownloadRecording.Output {
        let here = try APIRequest.here()
        let admin = try APIRequest.caller()
        let record = try await recording(input.path.id)
        let path = services.recordings.castURL(record).path
        guard let size = Self.fileSize(path) else {
            throw BerthError(.recordingFileMissing, "The file of recording \(record.id) is missing from the data directory.")
        }
        let unreadable = BerthError(.recordingFileMissing, "The file of recording \(record.id) is missing from the data directory.")
        let disposition = "attachment; filename=\"\(record.id).cast\""
        guard let range = input.headers.range else {
            here.logger.info("recording downloaded", metadata: ["recording.id": "\(record.id)", "user.id": "\(admin.id)", "client.ip": "\(here.clientIP)"])
            let body = FileChunks(path: path, offset: 0, count: size, unreadable: unreadable).body
            return .ok(.init(
                headers: .init(contentDisposition: disposition, acceptRanges: "bytes", contentLength: Int(size)),
                body: .applicationXAsciicast(body)
            ))
        }
        // A player following a live session asks for what was appended since its last read.
        guard let start = Self.rangeStart(range) else {
            throw BerthError(.invalidRange, "Only 'Range: bytes=N-' is supported.")
        }
        guard start < size else {
            return .rangeNotSatisfiable(.init(headers: .init(contentRange: "bytes */\(size)", acceptRanges: "bytes")))
        }
        let body = FileChunks(path: path, offset: start, count: size - start, unreadable: unreadable).body
        return .partialContent(.init(
            headers: .init(
                contentDisposition: disposition, acceptRanges: "bytes", contentRange: "bytes \(start)-\(size - 1)/\(size)",
                contentLength: Int(size - start)
            ),
            body: .applicationXAsciicast(body)
        ))
    }

    public func analyseRecording(_ input: Operations.AnalyseRecording.Input) async throws -> Operations.AnalyseRecording.Output {
        let record = try await recording(input.path.id)
        let thresholds = try Self.thresholds(pasteChars: input.query.pasteChars, idleSeconds: input.query.idleSeconds, defaults: services.configuration)
        return .ok(.init(body: .json(try .init(try services.recordings.analyse(record, thresholds: thresholds)))))
    }

    // MARK: - Helpers

    /// N of `bytes=N-`, the only range form the live player sends.
    static func rangeStart(_ header: String) -> Int64? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes="), trimmed.hasSuffix("-") else { return nil }
        return Int64(trimmed.dropFirst("bytes=".count).dropLast()).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Analysis thresholds from `pasteChars` and `idleSeconds`, else the server's defaults.
    static func thresholds(pasteChars: Int?, idleSeconds: Double?, defaults: BerthConfiguration) throws -> AnalysisThresholds {
        var thresholds = AnalysisThresholds(pasteChars: defaults.analysisPasteCharacters, idleSeconds: Double(defaults.analysisIdleSeconds))
        if let count = pasteChars {
            guard (2...100_000).contains(count) else {
                throw BerthError(.invalidThreshold, "pasteChars must be a whole number from 2 to 100000.")
            }
            thresholds.pasteChars = count
        }
        if let seconds = idleSeconds {
            guard seconds >= 0.5, seconds <= 86400 else {
                throw BerthError(.invalidThreshold, "idleSeconds must be a number of seconds from 0.5 to 86400.")
            }
            thresholds.idleSeconds = seconds
        }
        return thresholds
    }

    /// The recording `id`; a malformed id is not found, like an unknown one.
    func recording(_ id: String) async throws -> RecordingRecord {
        guard Identifier.isWellFormed(id), let record = try await services.store.recordings.recording(id: id) else {
            throw BerthError(.recordingNotFound, "No recording has id '\(id.prefix(64))'.")
        }
        return record
    }

    /// Every user's and team's name by owner, so pages show names rather than ids.
    func ownerNames() async throws -> [Owner: String] {
        var names: [Owner: String] = [:]
        for user in try await services.store.accounts.users() { names[Owner(kind: .user, id: user.id)] = user.name }
        for team in try await services.store.teams.teams() { names[Owner(kind: .team, id: team.id)] = team.name }
        return names
    }

    /// A recording as the API shows it, with the size of its `.cast` file.
    func recordingView(_ record: RecordingRecord, ownerName: String?) -> Components.Schemas.Recording {
        Components.Schemas.Recording(
            id: record.id, instanceId: record.instanceID, environment: record.environment,
            owner: .init(kind: record.owner.kind == .team ? .team : .user, id: record.owner.id), ownerName: ownerName,
            terminal: record.terminal, startedAt: record.startedAt, endedAt: record.endedAt,
            bytes: Int(Self.fileSize(services.recordings.castURL(record).path) ?? 0)
        )
    }

    /// The size of the file at `path`, nil when there is none.
    static func fileSize(_ path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.int64Value
    }
}

extension Components.Schemas.RecordingAnalysis {
    /// The analysis as the API shows it.
    init(_ analysis: RecordingAnalysis) throws {
        self.init(
            recordingId: analysis.recordingId, inputRecorded: analysis.inputRecorded, duration: analysis.duration,
            activeSeconds: analysis.activeSeconds,
            thresholds: .init(
                pasteChars: analysis.thresholds.pasteChars, pasteWindowMs: analysis.thresholds.pasteWindowMs,
                idleSeconds: analysis.thresholds.idleSeconds
            ),
            commands: analysis.commands.map { .init(time: $0.time, startedAt: $0.startedAt, text: $0.text, approximate: $0.approximate) },
            pastes: try analysis.pastes.map { paste in
                guard let kind = PastesPayloadPayload.KindPayload(rawValue: paste.kind) else {
                    throw BerthError(.analysisInvalid, "The analysis found a paste of kind '\(paste.kind)', which the API does not describe.")
                }
                return .init(time: paste.time, chars: paste.chars, kind: kind, text: paste.text)
            },
            idle: analysis.idle.map { .init(start: $0.start, end: $0.end, seconds: $0.seconds) },
            cadence: .init(
                keystrokes: analysis.cadence.keystrokes, medianIntervalMs: analysis.cadence.medianIntervalMs,
                p90IntervalMs: analysis.cadence.p90IntervalMs, keysPerMinute: analysis.cadence.keysPerMinute
            ),
            markers: analysis.markers.map { .init(time: $0.time, label: $0.label) },
            skippedLines: analysis.skippedLines
        )
    }
}
