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
/// issues them), and the terminal sessions it bridges to.
struct TerminalRoutes {
    let services: BerthServices

    func register(on table: RouteTable) {
        table.webSocket("/api/v1/instances/:id/terminal", shouldUpgrade: { request, context in
            try await shouldUpgrade(request, context)
        }, onUpgrade: { inbound, outbound, context in
            try await bridge(inbound: inbound, outbound: outbound, context: context)
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

    /// Bridges one WebSocket client to the instance's terminal until either side ends.
    func bridge(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketUpgradeContext) async throws {
        let request = context.request
        let logger = context.requestContext.logger
        guard let ticket = request.uri.queryParameters.get("ticket"), let grant = try await services.tickets.take(ticket) else {
            try await outbound.close(.policyViolation, reason: "ticket")
            return
        }
        guard let instance = await services.lifecycle.activeInstance(grant.instanceID), instance.state == .running,
              let containerID = instance.containerID, let environment = await services.catalog.environment(instance.environment)
        else {
            try await outbound.write(.text(ServerControl.error(code: "instance_not_running", message: "The instance is not running.").json))
            try await outbound.close(.normalClosure, reason: "instance_not_running")
            return
        }
        let cols = request.uri.queryParameters.get("cols").flatMap { Int($0) } ?? 80
        let rows = request.uri.queryParameters.get("rows").flatMap { Int($0) } ?? 24
        let size = TerminalSize(cols: cols, rows: rows).isValid ? TerminalSize(cols: cols, rows: rows) : TerminalSize(cols: 80, rows: 24)
        let session = await services.terminals.session(
            instanceID: instance.id, name: grant.terminal, containerID: containerID, terminal: environment.berth.terminal, size: size
        )
        let (clientID, output) = await session.attach(access: grant.access, by: grant.userID)
        let present = grant.countsAsPresence ? await services.presence.countTerminalOpened(instance.id, logger: logger) : false
        // The hub warns each terminal once a minute; a client that joins in between hears it now.
        if let secondsLeft = services.terminalSettings.secondsLeftToWarn(before: instance.expiresAt) {
            await session.notify(clientID, .expiring(secondsLeft: max(0, secondsLeft)))
        }
        let metadata: Logger.Metadata = [
            "instance.id": "\(instance.id)", "user.id": "\(grant.userID)", "client.ip": "\(context.requestContext.clientIP)",
            "terminal": "\(grant.terminal)", "access": "\(grant.access.rawValue)",
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

extension BerthServices {
    /// Instance `id` when its terminal can be opened: active and running with a container.
    func runningInstance(_ id: String) async throws -> Instance {
        guard let instance = await lifecycle.activeInstance(id) else {
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
