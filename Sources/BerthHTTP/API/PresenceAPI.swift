import BerthAPI
import BerthCore
import BerthEngine
import Foundation

extension BerthAPIHandler {
    /// The editor's heartbeat: its owners' keeps the instance attended for ``Presence/editorGrace``
    /// (see ``BerthServices/editorSeen(_:by:at:)``); an admin watching is answered and not counted.
    public func reportPresence(_ input: Operations.ReportPresence.Input) async throws -> Operations.ReportPresence.Output {
        let here = try APIRequest.here()
        let caller = try APIRequest.caller()
        here.facts.target = input.path.id
        let instance = try await services.lifecycle.instance(input.path.id, for: caller)
        try await services.editorSeen(instance, by: caller, at: Date())
        here.facts.detail = "editor heartbeat"
        return .noContent(.init())
    }
}
