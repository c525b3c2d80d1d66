import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import OpenAPIRuntime

extension BerthAPIHandler {
    public func listWorkspaces(_ input: Operations.ListWorkspaces.Input) async throws -> Operations.ListWorkspaces.Output {
        let caller = try APIRequest.caller()
        let views = try await workspaceService().views(owners: try await ownersOf(caller))
        return .ok(.init(body: .json(.init(items: try await workspaceSchemas(views)))))
    }

    public func listAllWorkspaces(_ input: Operations.ListAllWorkspaces.Input) async throws -> Operations.ListAllWorkspaces.Output {
        let views = try await workspaceService().views(owners: nil)
        return .ok(.init(body: .json(.init(items: try await workspaceSchemas(views)))))
    }

    public func exportWorkspace(_ input: Operations.ExportWorkspace.Input) async throws -> Operations.ExportWorkspace.Output {
        let here = try APIRequest.here()
        let workspaces = try workspaceService()
        let record = try await visibleWorkspace(input.path.id)
        here.facts.detail = "export workspace of \(record.owner.label) in \(record.environment)"
        try FileManager.default.createDirectory(at: workspaces.volumes.root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        let spool = workspaces.volumes.root.appendingPathComponent("tmp/export-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: spool) }
        try await workspaces.writeArchive(of: record, to: spool)
        // Opened before the file is unlinked (on return): the handle keeps the bytes until the body is sent.
        let handle = try FileHandle(forReadingFrom: spool)
        let size = (try FileManager.default.attributesOfItem(atPath: spool.path)[.size] as? NSNumber)?.int64Value ?? 0
        here.facts.detail = "export workspace of \(record.owner.label) in \(record.environment), \(size) bytes"
        let name = String("\(record.environment)-\(record.id)".unicodeScalars.map {
            CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "_"
        }.prefix(120))
        return .ok(.init(
            headers: .init(contentDisposition: "attachment; filename=\"\(name).tar\"", contentLength: Int(size)),
            body: .applicationXTar(SpooledChunks(handle: handle, size: size).body)
        ))
    }

    public func importWorkspace(_ input: Operations.ImportWorkspace.Input) async throws -> Operations.ImportWorkspace.Output {
        let here = try APIRequest.here()
        let workspaces = try workspaceService()
        let record = try await visibleWorkspace(input.path.id)
        let limit = Int(min(record.sizeBytes + (16 << 20), 1 << 30))
        let tar: [UInt8]
        switch input.body {
        case .applicationXTar(let body):
            do {
                tar = try await [UInt8](collecting: body, upTo: limit)
            } catch {
                throw BerthError(.bodyTooLarge, "The archive is larger than the workspace's quota (\(record.sizeBytes) bytes); nothing was changed.")
            }
        }
        here.facts.detail = "import into workspace of \(record.owner.label) in \(record.environment), \(tar.count) bytes"
        try FileManager.default.createDirectory(at: workspaces.volumes.root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        let spool = workspaces.volumes.root.appendingPathComponent("tmp/import-\(UUID().uuidString).tar")
        defer { try? FileManager.default.removeItem(at: spool) }
        guard FileManager.default.createFile(atPath: spool.path, contents: Data(tar), attributes: [.posixPermissions: 0o600]) else {
            throw BerthError(.workspaceUnavailable, "The server could not spool the archive under \(workspaces.volumes.root.path).")
        }
        try await workspaces.importArchive(from: spool, into: record)
        let updated = try await workspaces.record(record.id)
        return .ok(.init(body: .json(try await workspaceSchemas([await workspaces.view(updated)])[0])))
    }

    public func syncWorkspace(_ input: Operations.SyncWorkspace.Input) async throws -> Operations.SyncWorkspace.Output {
        let here = try APIRequest.here()
        let record = try await visibleWorkspace(input.path.id)
        let status = try await workspaceService().syncNow(record)
        here.facts.detail = "sync workspace: \(status.state.rawValue)\(status.lastError.map { ", \($0)" } ?? "")"
        return .ok(.init(body: .json(.init(status))))
    }

    public func deleteWorkspace(_ input: Operations.DeleteWorkspace.Input) async throws -> Operations.DeleteWorkspace.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        let workspaces = try workspaceService()
        let record = try await visibleWorkspace(input.path.id)
        here.facts.detail = "workspace.deleted: \(record.owner.label) in \(record.environment), by an admin"
        try await workspaces.delete(record)
        here.logger.info("workspace deleted", metadata: ["workspace.id": "\(record.id)", "user.id": "\(caller.id)"])
        return .noContent(.init())
    }

    // MARK: - Helpers

    private func workspaceService() throws -> WorkspaceService {
        guard let workspaces = services.workspaces else {
            throw BerthError(.workspaceUnavailable, "This server was started without workspaces.")
        }
        return workspaces
    }

    /// The caller's own owner and their team's.
    private func ownersOf(_ user: User) async throws -> [Owner] {
        var owners = [Owner(kind: .user, id: user.id)]
        if let team = try await services.store.teams.team(ofUser: user.id) { owners.append(Owner(kind: .team, id: team.id)) }
        return owners
    }

    /// The workspace, when the caller owns it (directly or through their team) or is an admin;
    /// otherwise `workspace_not_found`, as for one that does not exist.
    private func visibleWorkspace(_ id: String) async throws -> WorkspaceRecord {
        let here = try APIRequest.here()
        here.facts.target = id
        let caller = try APIRequest.caller()
        let record = try await workspaceService().record(id)
        if caller.role == .admin { return record }
        guard try await ownersOf(caller).contains(record.owner) else {
            throw BerthError(.workspaceNotFound, "No workspace '\(id)' is visible to you.")
        }
        return record
    }

    private func workspaceSchemas(_ views: [WorkspaceView]) async throws -> [Components.Schemas.Workspace] {
        var names: [Owner: String] = [:]
        var items: [Components.Schemas.Workspace] = []
        for view in views {
            let owner = view.record.owner
            if names[owner] == nil {
                switch owner.kind {
                case .user: names[owner] = try await services.store.accounts.user(id: owner.id)?.name
                case .team: names[owner] = try await services.store.teams.team(id: owner.id)?.name
                }
            }
            let path = await services.catalog.environment(view.record.environment)?.berth.workspace?.path
            items.append(Components.Schemas.Workspace(
                id: view.record.id, owner: .init(kind: owner.kind == .user ? .user : .team, id: owner.id), ownerName: names[owner],
                environment: view.record.environment, path: path, sizeBytes: view.record.sizeBytes, usedBytes: view.usedBytes,
                createdAt: view.record.createdAt, lastUsedAt: view.record.lastUsedAt, inUse: view.inUse, sync: .init(view.record.sync)
            ))
        }
        return items
    }
}

extension Components.Schemas.WorkspaceSync {
    init(_ status: WorkspaceSyncStatus) {
        let state: StatePayload = switch status.state {
        case .localOnly: .localOnly
        case .pending: .pending
        case .synced: .synced
        case .failed: .failed
        }
        self.init(
            state: state, syncedAt: status.syncedAt, remoteVersion: status.remoteVersion, attempts: status.attempts,
            nextAttemptAt: status.nextAttemptAt, lastError: status.lastError
        )
    }
}

extension Components.Schemas.InstanceWorkspace {
    init(_ workspace: InstanceWorkspace) {
        self.init(id: workspace.id, path: workspace.path, sizeBytes: workspace.sizeBytes, usedBytes: workspace.usedBytes)
    }
}
