import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// What a WebSocket route's handler gets: the request that asked for the upgrade and its context.
public struct WebSocketUpgradeContext: WebSocketContext {
    /// The upgrade request.
    public let request: Request
    /// The request's context, as the route saw it.
    public let requestContext: BerthRequestContext

    public var logger: Logger { requestContext.logger }
}

/// Handles one upgraded WebSocket connection.
public typealias WebSocketUpgradeHandler = WebSocketDataHandler<WebSocketUpgradeContext>

/// Where a WebSocket route leaves its handler when it accepts an upgrade. ``BerthServerChannel``
/// puts one in the context of every upgrade request; plain requests have none.
public final class WebSocketUpgradeSlot: Sendable {
    struct Accepted: Sendable {
        let handler: WebSocketUpgradeHandler
        let context: WebSocketUpgradeContext
    }

    private let accepted = NIOLockedValueBox<Accepted?>(nil)

    init() {}

    /// Accepts the upgrade: once the 101 answer is sent, `handler` runs with the connection.
    public func accept(_ handler: @escaping WebSocketUpgradeHandler, request: Request, context: BerthRequestContext) {
        accepted.withLockedValue { $0 = Accepted(handler: handler, context: WebSocketUpgradeContext(request: request, requestContext: context)) }
    }

    var value: Accepted? { accepted.withLockedValue { $0 } }
}

/// HTTP/1.1 with WebSocket upgrades whose refusals are real HTTP answers.
///
/// Hummingbird's `HTTP1WebSocketUpgradeChannel` answers every refused upgrade with `400` and an
/// empty body, whatever the route said. This channel runs an upgrade request through the router
/// (with its middleware); when the route accepts, the connection upgrades, and when it refuses
/// (it throws, e.g. `401 unauthorized` for a used ticket or `403 forbidden` for a foreign Origin),
/// the router's own response, status and JSON error envelope, is written and the connection
/// closes. Otherwise it follows Hummingbird's channel.
public struct BerthServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum Decision: Sendable {
        case accept(WebSocketUpgradeSlot.Accepted, HTTPFields)
        case refuse(Response)
    }

    enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, WebSocketUpgradeSlot.Accepted, Logger)
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Response, Logger)
    }

    public struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        public let channel: any Channel
    }

    public let responder: HTTPChannelHandler.Responder
    let webSocketResponder: RouterResponder<BerthRequestContext>
    let configuration: WebSocketServerConfiguration

    /// The server builder for `Application(server:)`: upgrade requests go through `webSocketRouter`.
    public static func builder(webSocketRouter: Router<BerthRequestContext>, configuration: WebSocketServerConfiguration) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            BerthServerChannel(responder: Self.redirectingLateUpgrades(responder), webSocketResponder: webSocketResponder, configuration: configuration)
        }
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let decision = NIOLockedValueBox<Decision?>(nil)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: configuration.maxFrameSize,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        let outcome = await decide(head, channel: channel, logger: logger)
                        decision.withLockedValue { $0 = outcome }
                        guard case .accept(_, let fields) = outcome else { return nil }
                        return HTTPHeaders(fields)
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accept(let accepted, _) = decision.withLockedValue({ $0 }) else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        let asyncChannel = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return UpgradeResult.websocket(asyncChannel, accepted, logger)
                    }
                }
            )
            let serverUpgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if case .refuse(let response) = decision.withLockedValue({ $0 }) {
                            return UpgradeResult.refused(asyncChannel, response, logger)
                        }
                        return UpgradeResult.notUpgraded(asyncChannel)
                    }
                }
            )
            var upgradeConfiguration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: serverUpgradeConfiguration)
            upgradeConfiguration.enablePipelining = false  // NIOAsyncChannel serialises requests
            upgradeConfiguration.enableErrorHandling = false  // Hummingbird handles errors
            upgradeConfiguration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            let future = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: upgradeConfiguration)
            return Value(upgradeResult: future, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .refused(let http1, let response, let logger):
                do {
                    try await http1.executeThenClose { _, outbound in
                        try await ResponseWriter(outbound: outbound).write(response: response.head, body: response.body)
                    }
                } catch {
                    logger.debug("websocket refusal not written", metadata: ["error": "\(error)"])
                }
            case .websocket(let asyncChannel, let accepted, let logger):
                do {
                    _ = try await WebSocketHandler.handle(
                        type: .server,
                        configuration: .init(
                            extensions: [], autoPing: configuration.autoPing, closeTimeout: configuration.closeTimeout,
                            validateUTF8: configuration.validateUTF8, maxFrameSize: configuration.maxFrameSize
                        ),
                        asyncChannel: asyncChannel, context: accepted.context, handler: accepted.handler
                    )
                } catch {
                    logger.debug("websocket handler ended with an error", metadata: ["error": "\(error)"])
                }
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("upgrade failed: input closed")
        } catch {
            logger.error("upgrade failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs an upgrade request through the router. The route accepts by leaving a handler in the
    /// context's ``WebSocketUpgradeSlot``; any other answer is the refusal to send.
    func decide(_ head: HTTPRequestHead, channel: any Channel, logger: Logger) async -> Decision {
        let request: Request
        do {
            request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: .init(buffer: .init()))
        } catch {
            return .refuse(Response(status: .badRequest, headers: [.connection: "close"]))
        }
        var context = BerthRequestContext(source: .init(channel: channel, logger: logger))
        let slot = WebSocketUpgradeSlot()
        context.webSocketUpgrade = slot
        var response: Response
        do {
            response = try await webSocketResponder.respond(to: request, context: context)
        } catch {
            response = Response(status: .internalServerError)
        }
        if response.status == .ok {
            guard let accepted = slot.value else {
                let body = #"{"error":{"code":"websocket_not_supported","message":"This path does not open a WebSocket."}}"#
                return .refuse(Response(
                    status: .badRequest, headers: [.contentType: "application/json", .connection: "close"],
                    body: .init(byteBuffer: ByteBuffer(string: body))
                ))
            }
            return .accept(accepted, response.headers)
        }
        response.headers[.connection] = "close"
        return .refuse(response)
    }

    /// An upgrade asked for on a connection that already served plain requests cannot be done by
    /// NIO's upgrader: redirect to the same URI and close, so the client retries on a new
    /// connection (as Hummingbird does).
    static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectedUpgrade: Error {}
        return { request, responseWriter, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            try await responseWriter.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path]))
            throw RedirectedUpgrade()
        }
    }
}
