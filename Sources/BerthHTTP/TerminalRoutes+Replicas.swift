import BerthCore
import BerthStore
import BerthTerminal
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers

/// Where a client's terminal runs: on this replica, or on the live replica that holds its PTY.
enum TerminalPlacement {
    case here
    case holder(TerminalHolder, url: String)
}

/// Terminals across replicas: any replica accepts a terminal WebSocket; when another live replica
/// holds the PTY (`terminal_holders`), this one proxies the client to that replica's internal
/// route, so a client that reconnects through another replica sees the same screen. A dead or
/// unreachable holder's terminal is taken over and started here.
extension TerminalRoutes {
    /// The internal terminal route other replicas proxy to; never under `/api`, not in the contract.
    static let internalPath = "/internal/v1/instances/:id/terminal"

    /// Where `grant`'s terminal runs. This replica takes the terminal when nobody holds it, it holds
    /// it already, or its holder is dead; a store failure leaves the terminal here, as on one server.
    func placement(of grant: TerminalGrant, logger: Logger) async -> TerminalPlacement {
        let holders = services.store.terminalHolders
        let me = services.replica.id
        do {
            // Twice: another replica may take the terminal between the look and the take.
            for _ in 0..<2 {
                let now = Date()
                if let holder = try await holders.holder(instanceID: grant.instanceID, terminal: grant.terminal, now: now),
                   holder.replicaID != me, holder.alive, let url = holder.internalURL {
                    return .holder(holder, url: url)
                }
                if try await holders.take(instanceID: grant.instanceID, terminal: grant.terminal, replicaID: me, now: now) { return .here }
            }
        } catch {
            logger.warning("terminal holder lookup failed", metadata: ["instance.id": "\(grant.instanceID)", "error": "\(error)"])
        }
        return .here
    }

    /// Pumps the client's frames to and from the holder's internal route until either side closes.
    /// False when the holder could not be reached (nothing was sent to the client): the caller takes over.
    func proxy(
        _ grant: TerminalGrant, to holder: TerminalHolder, at url: String, size: TerminalSize, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, context: WebSocketUpgradeContext
    ) async throws -> Bool {
        let logger = context.requestContext.logger
        let metadata: Logger.Metadata = [
            "instance.id": "\(grant.instanceID)", "user.id": "\(grant.userID)", "client.ip": "\(context.requestContext.clientIP)",
            "terminal": "\(grant.terminal)", "replica.id": "\(services.replica.id)", "holder": "\(holder.replicaID)",
        ]
        var headers = HTTPFields()
        do {
            let secret = try await services.store.cluster.proxySecret()
            headers[.replicaGrant] = try ReplicaGrant.seal(grant, secret: secret, now: Date())
        } catch {
            logger.warning("terminal proxy grant not sealed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return false
        }
        // The holder replays its screen in one frame on attach: accept that much from it.
        let settings = services.terminalSettings
        let upstreamFrame = settings.maxFrameBytes + settings.screenBufferBytes
        let configuration = WebSocketClientConfiguration(maxFrameSize: upstreamFrame, additionalHeaders: headers)
        let target = Self.internalURL(base: url, instanceID: grant.instanceID, terminal: grant.terminal, size: size)
        let reached = NIOLockedValueBox(false)
        let metrics = services.metrics
        do {
            try await WebSocketClient.connect(url: target, configuration: configuration, logger: logger) { upstreamIn, upstreamOut, _ in
                reached.withLockedValue { $0 = true }
                // Presence is counted by the holder, which attaches this connection with the grant.
                logger.info("terminal proxied", metadata: metadata)
                metrics.terminalConnections(change: 1)
                defer { metrics.terminalConnections(change: -1) }
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await message in upstreamIn.messages(maxSize: upstreamFrame) {
                                try await outbound.write(message.frame)
                            }
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        group.addTask {
                            for try await message in inbound.messages(maxSize: settings.maxFrameBytes) {
                                try await upstreamOut.write(message.frame)
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                } catch {
                    logger.info("terminal proxy ended with an error", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                }
            }
        } catch {
            guard reached.withLockedValue({ $0 }) else {
                logger.warning("terminal holder unreachable, taking the terminal over", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                return false
            }
            logger.info("terminal proxy ended with an error", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        logger.info("terminal proxy closed", metadata: metadata)
        return true
    }

    /// `ws://host:port/internal/v1/instances/<id>/terminal?terminal=&cols=&rows=` on the replica whose internal URL is `base`.
    static func internalURL(base: String, instanceID: String, terminal: String, size: TerminalSize) -> String {
        var origin = base.hasSuffix("/") ? String(base.dropLast()) : base
        if origin.hasPrefix("https://") {
            origin = "wss://" + origin.dropFirst("https://".count)
        } else if origin.hasPrefix("http://") {
            origin = "ws://" + origin.dropFirst("http://".count)
        }
        let path = internalPath.replacingOccurrences(of: ":id", with: instanceID)
        return "\(origin)\(path)?terminal=\(terminal)&cols=\(size.cols)&rows=\(size.rows)"
    }

    /// Checks the replica grant before the internal upgrade: `403 replica_grant_invalid` when it is
    /// missing, forged, expired or for another instance; 409 when the instance is not running here.
    func shouldUpgradeInternal(_ request: Request, _ context: BerthRequestContext) async throws {
        let id = try context.parameters.require("id")
        do {
            _ = try await internalGrant(request, instanceID: id)
        } catch let error as BerthError where error.code == .replicaGrantInvalid {
            context.logger.notice("replica grant refused", metadata: ["instance.id": "\(id)", "client.ip": "\(context.clientIP)"])
            throw error
        }
        _ = try await services.runningInstance(id)
    }

    /// Attaches a client another replica proxies to this replica's PTY of the terminal.
    func bridgeInternal(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketUpgradeContext) async throws {
        let request = context.request
        guard let id = context.requestContext.parameters.get("id"), let grant = try? await internalGrant(request, instanceID: id) else {
            try await outbound.close(.policyViolation, reason: "grant")
            return
        }
        guard let target = try await localTarget(grant) else {
            try await Self.closeNotRunning(outbound)
            return
        }
        // Still ours, or ours again: the proxying replica read this replica as the holder.
        _ = try? await services.store.terminalHolders.take(instanceID: grant.instanceID, terminal: grant.terminal, replicaID: services.replica.id, now: Date())
        try await attach(grant, to: target, size: Self.size(request), inbound: inbound, outbound: outbound, context: context)
    }

    /// The grant of the request's `Berth-Replica-Grant` header for instance `instanceID`.
    private func internalGrant(_ request: Request, instanceID: String) async throws -> TerminalGrant {
        guard let sealed = request.headers[.replicaGrant] else { throw ReplicaGrant.invalid }
        let secret = try await services.store.cluster.proxySecret()
        return try ReplicaGrant.open(sealed, secret: secret, instanceID: instanceID, now: Date())
    }
}

extension WebSocketMessage {
    /// The message as one frame to send on.
    var frame: WebSocketOutboundWriter.OutboundFrame {
        switch self {
        case .binary(let buffer): .binary(buffer)
        case .text(let text): .text(text)
        }
    }
}
