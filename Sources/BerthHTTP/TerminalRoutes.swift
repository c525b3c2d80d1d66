import BerthCore
import BerthEngine
import BerthMetrics
import BerthTerminal
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The terminal WebSocket, opened with a ticket (``BerthAPIHandler/createTerminalTicket(_:)``
/// issues them), and the terminal sessions it bridges to: this replica's own, or another live
/// replica's through its internal terminal route (see TerminalRoutes+Replicas.swift).
struct TerminalRoutes {
    let services: BerthServices

    func register(on table: RouteTable) {
        table.webSocket("/api/v1/instances/:id/terminal", shouldUpgrade: { request, context in
            try await shouldUpgrade(request, context)
        }, onUpgrade: { inbound, outbound, context in
            try await bridge(inbound: inbound, outbound: outbound, context: context)
        })
        // Server to server, outside /api and every session route: the signed grant is the only key.
        table.webSocket(Self.internalPath, shouldUpgrade: { request, context in
            try await shouldUpgradeInternal(request, context)
        }, onUpgrade: { inbound, outbound, context in
            try await bridgeInternal(inbound: inbound, outbound: outbound, context: context)
        })
    }

    /// Checks the Origin and the ticket before the upgrade, so refusals are plain HTTP errors with
    /// the error envelope (``BerthServerChannel`` sends them): 403 for a foreign Origin or a ticket
    /// of another terminal, 401 for a missing, unknown, expired or used ticket, 409 when the
    /// instance is not running. Only an accepted upgrade uses the ticket up.
    func shouldUpgrade(_ request: Request, _ context: BerthRequestContext) async throws {
        let id = try context.parameters.require("id")
        let policy = OriginPolicy(allowed: services.configuration.allowedOrigins)
        // Every Origin header must pass: a second, foreign one is as bad as one.
        for origin in request.headers[values: .origin] {
            guard policy.allows(origin: origin, host: request.head.authority) else {
                context.logger.notice("terminal origin refused", metadata: ["instance.id": "\(id)", "client.ip": "\(context.clientIP)", "origin": "\(origin)"])
                throw BerthError(.originNotAllowed,
                    "This page's origin may not open terminals; the operator can allow it with BERTH_ALLOWED_ORIGINS.")
            }
        }
        guard let ticket = request.uri.queryParameters.get("ticket"), !ticket.isEmpty else {
            throw BerthError(.ticketRequired, "A terminal needs a ticket: POST /api/v1/instances/{id}/terminal/ticket, then connect with ?ticket=.")
        }
        guard let grant = try await services.tickets.peek(ticket, instanceID: id) else {
            context.logger.notice("terminal ticket refused", metadata: ["instance.id": "\(id)", "client.ip": "\(context.clientIP)"])
            throw BerthError(.ticketInvalid, "The ticket is unknown, expired or already used; ask for a new one.")
        }
        if let requested = request.uri.queryParameters.get("terminal"), requested != grant.terminal {
            throw BerthError(.ticketWrongTerminal, "The ticket was issued for terminal '\(grant.terminal)', not '\(requested)'.")
        }
        _ = try await services.runningInstance(id)
        // Two connections racing with one ticket: only the first gets through.
        guard try await services.tickets.redeem(ticket, instanceID: id) != nil else {
            throw BerthError(.ticketInvalid, "The ticket is unknown, expired or already used; ask for a new one.")
        }
    }

    /// Bridges one WebSocket client to the instance's terminal until either side ends: to this
    /// replica's PTY, or through the replica that holds it (``TerminalPlacement``).
    func bridge(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketUpgradeContext) async throws {
        let request = context.request
        guard let ticket = request.uri.queryParameters.get("ticket"), let grant = try await services.tickets.take(ticket) else {
            try await outbound.close(.policyViolation, reason: "ticket")
            return
        }
        guard let target = try await localTarget(grant) else {
            try await Self.closeNotRunning(outbound)
            return
        }
        let size = Self.size(request)
        switch await placement(of: grant, logger: context.requestContext.logger) {
        case .here:
            break
        case .holder(let holder, let url):
            if try await proxy(grant, to: holder, at: url, size: size, inbound: inbound, outbound: outbound, context: context) { return }
            // The holder's database row says it lives, but it cannot be reached: as good as dead.
            do {
                _ = try await services.store.terminalHolders.take(
                    instanceID: grant.instanceID, terminal: grant.terminal, replicaID: services.replica.id, now: Date(), replacing: holder.replicaID
                )
            } catch {
                context.requestContext.logger.warning("terminal takeover not recorded", metadata: [
                    "instance.id": "\(grant.instanceID)", "holder": "\(holder.replicaID)", "error": "\(error)",
                ])
            }
        }
        try await attach(grant, to: target, size: size, inbound: inbound, outbound: outbound, context: context)
    }

    /// The instance's terminal on this replica, nil when the instance is not running here.
    func localTarget(_ grant: TerminalGrant) async throws -> LocalTerminal? {
        guard let instance = try await services.lifecycle.activeInstance(grant.instanceID), instance.state == .running,
              let containerID = instance.containerID, let environment = await services.catalog.environment(instance.environment)
        else { return nil }
        return LocalTerminal(instance: instance, containerID: containerID, spec: environment.berth.terminal)
    }

    /// Tells the client the instance is not running (an `instance_not_running` error frame) and closes.
    static func closeNotRunning(_ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(ServerControl.error(code: "instance_not_running", message: "The instance is not running.").json))
        try await outbound.close(.normalClosure, reason: "instance_not_running")
    }

    /// The size asked for with `cols=` and `rows=`, or 80×24.
    static func size(_ request: Request) -> TerminalSize {
        let cols = request.uri.queryParameters.get("cols").flatMap { Int($0) } ?? 80
        let rows = request.uri.queryParameters.get("rows").flatMap { Int($0) } ?? 24
        return TerminalSize(cols: cols, rows: rows).isValid ? TerminalSize(cols: cols, rows: rows) : TerminalSize(cols: 80, rows: 24)
    }

    /// Attaches a client to this replica's PTY of the terminal (started when there is none) until either side ends.
    func attach(
        _ grant: TerminalGrant, to target: LocalTerminal, size: TerminalSize, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        context: WebSocketUpgradeContext
    ) async throws {
        let logger = context.requestContext.logger
        let instance = target.instance
        let session = await services.terminals.session(
            instanceID: instance.id, name: grant.terminal, containerID: target.containerID, terminal: target.spec, size: size
        )
        let (clientID, output) = await session.attach(access: grant.access, by: grant.userID)
        let present = grant.countsAsPresence ? await services.presence.countTerminalOpened(instance.id, logger: logger) : false
        // The hub warns each terminal once a minute; a client that joins in between hears it now.
        if let secondsLeft = services.terminalSettings.secondsLeftToWarn(before: instance.expiresAt) {
            await session.notify(clientID, .expiring(secondsLeft: max(0, secondsLeft)))
        }
        let metadata: Logger.Metadata = [
            "instance.id": "\(instance.id)", "user.id": "\(grant.userID)", "client.ip": "\(context.requestContext.clientIP)",
            "terminal": "\(grant.terminal)", "access": "\(grant.access.rawValue)", "replica.id": "\(services.replica.id)",
        ]
        logger.info("terminal connected", metadata: metadata)
        let metrics = services.metrics
        metrics.terminalConnections(change: 1)
        let maxFrame = services.terminalSettings.maxFrameBytes
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await item in output {
                        switch item {
                        case .bytes(let buffer):
                            try await outbound.write(.binary(buffer))
                            metrics.terminalBytesOut(buffer.readableBytes)
                            await session.delivered(clientID, bytes: buffer.readableBytes)
                        case .control(let message):
                            let json = message.json
                            try await outbound.write(.text(json))
                            metrics.terminalBytesOut(json.utf8.count)
                        }
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                group.addTask {
                    var warnedReadOnly = false
                    // One frame at a time: `input` returns once the bytes are in the PTY (after
                    // the rate limit's wait), and only then is the next frame read, so a fast
                    // paste is held back in the client's socket, never dropped or buffered here.
                    for try await message in inbound.messages(maxSize: maxFrame) {
                        switch message {
                        case .binary(let buffer):
                            metrics.terminalBytesIn(buffer.readableBytes)
                            switch await session.input(buffer, from: clientID) {
                            case .written, .closed: break
                            case .readOnly:
                                if !warnedReadOnly { await session.notify(clientID, .readonly) }
                                warnedReadOnly = true
                            }
                        case .text(let text):
                            metrics.terminalBytesIn(text.utf8.count)
                            switch ClientControl.parse(text) {
                            case .success(let control): await session.control(control, from: clientID)
                            case .failure(let error): await session.notify(clientID, .notice(code: "invalid_control", message: error.message))
                            }
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            logger.info("terminal connection ended with an error", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        await session.detach(clientID)
        if present { await services.presence.countTerminalClosed(instance.id, logger: logger) }
        metrics.terminalConnections(change: -1)
        logger.info("terminal disconnected", metadata: metadata)
    }
}

/// An instance's terminal as this replica would run it.
struct LocalTerminal {
    var instance: Instance
    var containerID: String
    var spec: TerminalSpec
}

extension BerthServices {
    /// Instance `id` when its terminal can be opened: active and running with a container.
    func runningInstance(_ id: String) async throws -> Instance {
        guard let instance = try await lifecycle.activeInstance(id) else {
            throw BerthError(.instanceNotActive, "Instance \(id) is not running; start it first.")
        }
        guard instance.state == .running, instance.containerID != nil else {
            throw BerthError(.instanceNotRunning, "Instance \(id) is \(instance.state.rawValue); wait until it is running.")
        }
        return instance
    }
}

/// Decides which page origins may open terminal WebSockets: the listed ones, or by default only
/// the server's own origin (same host and port as the request).
struct OriginPolicy {
    let allowed: [String]

    func allows(origin: String, host: String?) -> Bool {
        let normalized = origin.lowercased()
        if allowed.contains(where: { $0.lowercased() == normalized }) { return true }
        guard let host = host?.lowercased() else { return false }
        return normalized == "http://\(host)" || normalized == "https://\(host)"
    }
}
