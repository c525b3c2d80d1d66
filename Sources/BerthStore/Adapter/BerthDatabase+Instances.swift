import BerthCore
import Foundation

// The old `BerthStore` protocol's instance, event, recording and audit methods, forwarded to the
// repositories, so Berth's services keep compiling until they call the repositories directly.
extension BerthDatabase {
    // MARK: Instances

    public func insertInstance(_ instance: Instance) async throws {
        try await instances.insertInstance(instance)
    }

    public func updateInstance(_ instance: Instance) async throws {
        try await instances.updateInstance(instance)
    }

    public func instance(id: String) async throws -> Instance? {
        try await instances.instance(id: id)
    }

    public func instances(_ query: InstanceQuery) async throws -> [Instance] {
        try await instances.instances(query)
    }

    // MARK: Events

    @discardableResult
    public func appendEvent(_ event: EventRecord) async throws -> EventRecord {
        try await instances.appendEvent(event)
    }

    public func events(instanceID: String?, limit: Int) async throws -> [EventRecord] {
        try await instances.events(instanceID: instanceID, limit: limit)
    }

    // MARK: Recordings

    public func insertRecording(_ recording: RecordingRecord) async throws {
        try await recordings.insertRecording(recording)
    }

    public func finishRecording(id: String, endedAt: Date) async throws {
        try await recordings.finishRecording(id: id, endedAt: endedAt)
    }

    public func recording(id: String) async throws -> RecordingRecord? {
        try await recordings.recording(id: id)
    }

    public func recordings(_ query: RecordingQuery) async throws -> [RecordingRecord] {
        try await recordings.recordings(query)
    }

    public func deleteRecording(id: String) async throws -> Bool {
        try await recordings.deleteRecording(id: id)
    }

    // MARK: Audit log

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await audit.appendAudit(entry)
    }

    public func lastAuditEntry() async throws -> AuditEntry? {
        try await audit.lastAuditEntry()
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await audit.auditEntries(query)
    }
}
