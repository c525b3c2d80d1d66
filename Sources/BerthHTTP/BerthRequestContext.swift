import BerthCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The per-request context: Hummingbird's core storage plus who is asking and from where.
public struct BerthRequestContext: RequestContext, WebSocketRequestContext {
    /// Hummingbird's own per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller, set by ``CallerIdentification``.
    public var caller: User?
    /// Why the credentials sent were refused (an unknown token), set instead of refusing at once:
    /// public routes ignore bad credentials, the other route groups answer with this.
    public var credentialProblem: BerthError?
    /// The client's address (`client.ip`): the peer, or what a trusted proxy forwarded
    /// (set by ``ClientAddressMiddleware``).
    public var clientIP: String
    /// Hummingbird's hand-over slot for a WebSocket upgrade.
    public let webSocket: WebSocketHandlerReference<BerthRequestContext>
    /// Facts inner middleware and routes report back to the audit log and the request log.
    public let facts: RequestFacts
    /// Set by ``BerthServerChannel`` on a WebSocket upgrade request; a WebSocket route accepts by
    /// leaving its handler there. Nil on plain requests.
    public var webSocketUpgrade: WebSocketUpgradeSlot?

    /// Creates the context for a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        // swift-nio gives IPv6 peers as text; trusted-proxy matching normalizes mapped IPv4.
        self.clientIP = source.channel.remoteAddress?.ipAddress ?? "-"
        self.webSocket = .init()
        self.facts = RequestFacts()
    }

    /// Request bodies are small JSON documents.
    public static let maxRequestBody = 64 * 1024

    /// Request bodies are small JSON documents (``maxRequestBody``).
    public var maxUploadSize: Int { Self.maxRequestBody }
}
