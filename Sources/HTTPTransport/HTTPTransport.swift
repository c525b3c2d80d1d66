import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Where an HTTP server listens: a Unix socket path or a TCP host and port.
public enum TransportAddress: Sendable, Equatable, CustomStringConvertible {
    /// A Unix domain socket, e.g. `/var/run/docker.sock`.
    case unix(path: String)
    /// A TCP host and port.
    case tcp(host: String, port: Int)

    /// Parses `unix:///path`, `tcp://host:port` or `http://host:port`.
    public init(url: String) throws {
        if url.hasPrefix("unix://") {
            let path = String(url.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw TransportError.invalidAddress(url) }
            self = .unix(path: path)
            return
        }
        for scheme in ["tcp://", "http://"] where url.hasPrefix(scheme) {
            let rest = url.dropFirst(scheme.count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            let parts = rest.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port), !parts[0].isEmpty else {
                throw TransportError.invalidAddress(url)
            }
            self = .tcp(host: String(parts[0]), port: port)
            return
        }
        throw TransportError.invalidAddress(url)
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "tcp://\(host):\(port)"
        }
    }

    var hostHeader: String {
        switch self {
        case .unix: "localhost"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

/// Failures of the transport itself (as opposed to error statuses the server answers with).
public enum TransportError: Error, Sendable, CustomStringConvertible {
    /// The address string could not be parsed.
    case invalidAddress(String)
    /// Connecting failed.
    case connectFailed(address: String, reason: String)
    /// The server closed the connection before a complete response.
    case prematureClose
    /// The server did not answer completely within the request's time limit.
    case timedOut(address: String, limit: TimeAmount)
    /// A streamed request body was not as long as declared (`missing` < 0: too long).
    case bodyLengthMismatch(declared: Int64, missing: Int64)
    /// The TLS handshake or session failed; `reason` says which side refused what.
    case tlsFailed(address: String, reason: String)

    public var description: String {
        switch self {
        case .invalidAddress(let url): "'\(url)' is not a unix:///path or tcp://host:port address"
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .prematureClose: "the server closed the connection before the response was complete"
        case .timedOut(let address, let limit): "\(address) did not answer within \(Self.text(limit))"
        case .bodyLengthMismatch(let declared, let missing):
            "the request body was not the \(declared) bytes declared (\(missing) missing; a file changed while it was sent?)"
        case .tlsFailed(let address, let reason): "TLS with \(address) failed: \(reason)"
        }
    }

    /// The TLS failure behind `error` (itself, or the first error `failure` recorded on its
    /// connection) as a ``tlsFailed(address:reason:)`` naming what went wrong in words; nil when
    /// neither is a TLS failure.
    public static func tls(_ error: any Error, failure: TLSFailure?, address: String) -> TransportError? {
        if let recorded = failure?.error, let described = tls(recorded, address: address) { return described }
        return tls(error, address: address)
    }

    private static func tls(_ error: any Error, address: String) -> TransportError? {
        let detail: String
        switch error {
        case let error as NIOSSLError: detail = "\(error)"
        case let error as NIOSSLExtraError: detail = "\(error)"
        case let error as BoringSSLError: detail = "\(error)"
        default: return nil
        }
        return .tlsFailed(address: address, reason: "\(tlsExplanation(detail)) (\(detail))")
    }

    /// What a TLS library error means for the person who configured the certificates.
    static func tlsExplanation(_ detail: String) -> String {
        let refusedByServer = ["ALERT_CERTIFICATE_REQUIRED", "ALERT_BAD_CERTIFICATE", "ALERT_UNKNOWN_CA", "ALERT_CERTIFICATE_UNKNOWN", "ALERT_HANDSHAKE_FAILURE"]
        if refusedByServer.contains(where: detail.contains) {
            return "the server refused the client certificate (cert.pem must be signed by a CA the server trusts)"
        }
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by the trusted CA (ca.pem)"
        }
        if detail.contains("failedToValidateHostname") {
            return "the server's certificate does not name the address connected to (its subject alternative names must hold it)"
        }
        if detail.contains("WRONG_VERSION_NUMBER") {
            return "the server does not speak TLS on this port"
        }
        if detail.contains("uncleanShutdown") {
            return "the server closed the connection during TLS (it may have refused the client certificate)"
        }
        return "the TLS handshake or session failed"
    }

    /// True when the request ran out of time (the server accepted but did not answer in time).
    public var isTimeout: Bool {
        if case .timedOut = self { return true }
        return false
    }

    /// A time limit as people read it: `30 s`, `1.5 s` or `250 ms`.
    static func text(_ limit: TimeAmount) -> String {
        let milliseconds = limit.nanoseconds / 1_000_000
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        return String(format: "%.1f s", Double(milliseconds) / 1000)
    }
}

/// The status line and headers of a response.
public struct TransportResponseHead: Sendable {
    /// HTTP status code.
    public var status: Int
    /// Response headers.
    public var headers: HTTPHeaders
}

/// A complete, buffered response.
public struct TransportResponse: Sendable {
    /// HTTP status code.
    public var status: Int
    /// Response headers.
    public var headers: HTTPHeaders
    /// The whole body.
    public var body: ByteBuffer

    /// The body as UTF-8 text (invalid bytes replaced).
    public var bodyText: String { String(decoding: body.readableBytesView, as: UTF8.self) }
}

/// Reads the body of a streaming response chunk by chunk.
public struct TransportBodyReader {
    var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator

    /// The next chunk of the body, or nil at its end.
    public mutating func next() async throws -> ByteBuffer? {
        while let part = try await iterator.next() {
            switch part {
            case .body(let buffer): return buffer
            case .end: return nil
            case .head: continue
            }
        }
        return nil
    }
}

/// How a transport secures its connections with TLS: the context (trust roots, and for mutual TLS
/// the client's certificate and key) and the name the server's certificate must hold.
public struct TransportTLS: Sendable {
    private let context: Result<NIOSSLContext, any Error>
    /// The DNS name checked against the server certificate's DNS names and sent as SNI; nil when
    /// the server is reached by IP address, whose certificate must then list the connected
    /// address among its IP subject alternative names (SNI cannot carry an address).
    public let serverName: String?

    /// TLS with `context` to a server reached as `host`: a DNS name or an IP address (IPv4 or
    /// IPv6), each verified against the matching kind of subject alternative name.
    public init(context: NIOSSLContext, host: String) {
        self.init(context: .success(context), host: host)
    }

    private init(context: Result<NIOSSLContext, any Error>, host: String) {
        self.context = context
        self.serverName = Self.isIPAddress(host) ? nil : host
    }

    /// TLS checked against the system's trusted roots, as browsers do.
    static func systemRoots(host: String) -> TransportTLS {
        TransportTLS(context: HTTPTransport.clientTLS, host: host)
    }

    /// True when `host` is a literal IPv4 or IPv6 address rather than a name.
    static func isIPAddress(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return (try? SocketAddress(ipAddress: bare, port: 0)) != nil
    }

    /// Adds the TLS client handler in front of everything else in `channel`'s pipeline (call it
    /// first in a channel initializer), followed by one that keeps the first error in `failure`.
    public func addHandlers(to channel: any Channel, recordingFailuresIn failure: TLSFailure) throws {
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: try context.get(), serverHostname: serverName))
        try channel.pipeline.syncOperations.addHandler(TLSFailureHandler(failure: failure))
    }
}

/// The first error a TLS connection saw. A failed handshake closes the connection, and a write
/// that waited for the handshake then fails with a bare "I/O on closed channel": this keeps the
/// reason, for ``TransportError/tls(_:failure:address:)``.
public final class TLSFailure: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    /// Creates an empty record.
    public init() {}

    /// The first error recorded, if any.
    public var error: (any Error)? { first.withLock { $0 } }

    func record(_ error: any Error) {
        first.withLock { if $0 == nil { $0 = error } }
    }
}

/// Records the errors the TLS handler raises and passes them on.
private final class TLSFailureHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    let failure: TLSFailure

    init(failure: TLSFailure) { self.failure = failure }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure.record(error)
        context.fireErrorCaught(error)
    }
}

/// A minimal HTTP/1.1 client over SwiftNIO for one server address: one connection per request,
/// which on a Unix socket costs microseconds and keeps every stream independent.
public struct HTTPTransport: Sendable {
    /// The server address.
    public let address: TransportAddress
    /// TLS for every connection, or nil for plain HTTP.
    public let tls: TransportTLS?
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount

    /// The name to verify the server's certificate against, for HTTPS to a named host; nil for
    /// plain HTTP or a server reached by IP address.
    public var tlsServerName: String? { tls?.serverName }

    /// Creates a transport; `group` defaults to NIO's shared event loops. With `tlsServerName`, the
    /// connection is TLS, checked against the system's trusted roots.
    public init(
        address: TransportAddress, tlsServerName: String? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5)
    ) {
        self.init(address: address, tls: tlsServerName.map { TransportTLS.systemRoots(host: $0) }, group: group, connectTimeout: connectTimeout)
    }

    /// Creates a transport whose connections use `tls` (a custom context, e.g. mutual TLS with a
    /// private CA), or plain HTTP when it is nil.
    public init(
        address: TransportAddress, tls: TransportTLS?, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5)
    ) {
        self.address = address
        self.tls = tls
        self.group = group
        self.connectTimeout = connectTimeout
    }

    /// A transport for the server of an `http://` or `https://` URL (port 80 or 443 by default).
    public init(webURL url: String, connectTimeout: TimeAmount = .seconds(10)) throws {
        let secure = url.hasPrefix("https://")
        guard secure || url.hasPrefix("http://") else { throw TransportError.invalidAddress(url) }
        let authority = url.dropFirst(secure ? 8 : 7).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let parts = authority.split(separator: ":")
        guard let host = parts.first.map(String.init), !host.isEmpty, parts.count <= 2 else { throw TransportError.invalidAddress(url) }
        let port = parts.count == 2 ? Int(parts[1]) : (secure ? 443 : 80)
        guard let port, (1...65535).contains(port) else { throw TransportError.invalidAddress(url) }
        self.init(address: .tcp(host: host, port: port), tlsServerName: secure ? host : nil, connectTimeout: connectTimeout)
    }

    /// The `Host` header every request carries: default ports are left out (signers sign it).
    public var hostHeader: String {
        if case .tcp(let host, let port) = address, (tls != nil && port == 443) || (tls == nil && port == 80) {
            return host.contains(":") ? "[\(host)]" : host
        }
        return address.hostHeader
    }

    /// One TLS context for every HTTPS request: loading the trusted roots is slow.
    static let clientTLS: Result<NIOSSLContext, any Error> = Result { try NIOSSLContext(configuration: .makeClientConfiguration()) }

    /// Sends a request and buffers the whole response, up to `maxBodyBytes`. With a `timeout`, the
    /// whole exchange (connecting included) must finish within it, or the connection is closed and
    /// ``TransportError/timedOut(address:limit:)`` thrown.
    public func execute(
        method: HTTPMethod, path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil, maxBodyBytes: Int = 64 << 20,
        timeout: TimeAmount? = nil
    ) async throws -> TransportResponse {
        try await stream(method: method, path: path, headers: headers, body: body, timeout: timeout) { head, reader in
            var collected = ByteBuffer()
            while var chunk = try await reader.next() {
                guard collected.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                    throw TransportError.prematureClose
                }
                collected.writeBuffer(&chunk)
            }
            return TransportResponse(status: head.status, headers: head.headers, body: collected)
        }
    }

    /// Sends a request and hands the response head and a body reader to `handle`; the connection is
    /// closed when `handle` returns or throws. With a `timeout`, the whole exchange, `handle`
    /// included, must finish within it (streams that may last, such as builds, events and exec
    /// output, pass none).
    public func stream<Result: Sendable>(
        method: HTTPMethod, path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil, timeout: TimeAmount? = nil,
        _ handle: (TransportResponseHead, inout TransportBodyReader) async throws -> Result
    ) async throws -> Result {
        try await perform(method: method, path: path, headers: headers, body: body.map { .buffer($0) } ?? .none, timeout: timeout, handle)
    }

    /// Like ``stream(method:path:headers:body:timeout:_:)``, with a body of `length` bytes that
    /// `writeBody` writes piece by piece (a large file is never held in memory). Writing more or
    /// fewer bytes than `length` fails the request.
    public func stream<Result: Sendable>(
        method: HTTPMethod, path: String, headers: [(String, String)] = [], bodyLength length: Int64,
        writeBody: @escaping (inout TransportBodyWriter) async throws -> Void, timeout: TimeAmount? = nil,
        _ handle: (TransportResponseHead, inout TransportBodyReader) async throws -> Result
    ) async throws -> Result {
        try await perform(method: method, path: path, headers: headers, body: .stream(length, writeBody), timeout: timeout, handle)
    }

    private func perform<Result: Sendable>(
        method: HTTPMethod, path: String, headers: [(String, String)], body: RequestBody, timeout: TimeAmount?,
        _ handle: (TransportResponseHead, inout TransportBodyReader) async throws -> Result
    ) async throws -> Result {
        let started = NIODeadline.now()
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let tlsFailure = TLSFailure()
        do {
            channel = try await connect(timeout: timeout, tlsFailure: tlsFailure)
        } catch TransportError.connectFailed(_, _) where timeout != nil && NIODeadline.now() - started >= timeout ?? .zero {
            throw TransportError.timedOut(address: address.description, limit: timeout ?? .zero)
        }
        // The deadline closes the connection, which ends any read or write waiting on it; the flag
        // tells that close apart from the server's own.
        let expired = ExpiryFlag()
        let deadline = timeout.map { limit in
            channel.channel.eventLoop.scheduleTask(deadline: started + limit) { [channel = channel.channel] in
                expired.set()
                channel.close(promise: nil)
            }
        }
        defer { deadline?.cancel() }
        let result: Result
        do {
            result = try await exchange(channel, method: method, path: path, headers: headers, body: body, handle)
        } catch {
            if expired.isSet, let timeout { throw TransportError.timedOut(address: address.description, limit: timeout) }
            throw TransportError.tls(error, failure: tlsFailure, address: address.description) ?? error
        }
        // The close also ends a body reader without an error: what it read is cut short.
        if expired.isSet, let timeout { throw TransportError.timedOut(address: address.description, limit: timeout) }
        return result
    }

    private func exchange<Result: Sendable>(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>,
        method: HTTPMethod, path: String, headers: [(String, String)], body: RequestBody,
        _ handle: (TransportResponseHead, inout TransportBodyReader) async throws -> Result
    ) async throws -> Result {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: hostHeader)
            head.headers.add(name: "User-Agent", value: "berth")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            switch body {
            case .buffer(let buffer):
                head.headers.replaceOrAdd(name: "Content-Length", value: String(buffer.readableBytes))
            case .stream(let length, _):
                head.headers.replaceOrAdd(name: "Content-Length", value: String(length))
            case .none:
                if method == .POST || method == .PUT { head.headers.replaceOrAdd(name: "Content-Length", value: "0") }
            }
            try await outbound.write(.head(head))
            switch body {
            case .buffer(let buffer): try await outbound.write(.body(.byteBuffer(buffer)))
            case .stream(let length, let write):
                var writer = TransportBodyWriter(outbound: outbound, remaining: length)
                try await write(&writer)
                guard writer.remaining == 0 else { throw TransportError.bodyLengthMismatch(declared: length, missing: writer.remaining) }
            case .none: break
            }
            try await outbound.write(.end(nil))

            var reader = TransportBodyReader(iterator: inbound.makeAsyncIterator())
            while let part = try await reader.iterator.next() {
                if case .head(let responseHead) = part {
                    let head = TransportResponseHead(status: Int(responseHead.status.code), headers: responseHead.headers)
                    return try await handle(head, &reader)
                }
            }
            throw TransportError.prematureClose
        }
    }

    private func connect(timeout: TimeAmount?, tlsFailure: TLSFailure) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(min(connectTimeout, timeout ?? connectTimeout))
        let tls = tls
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try tls?.addHandlers(to: channel, recordingFailuresIn: tlsFailure)
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
        }
        do {
            switch address {
            case .unix(let path):
                return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
            case .tcp(let host, let port):
                return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            }
        } catch {
            throw TransportError.connectFailed(address: address.description, reason: "\(error)")
        }
    }
}

/// A request body: none, one buffer, or written piece by piece.
private enum RequestBody {
    case none
    case buffer(ByteBuffer)
    case stream(Int64, (inout TransportBodyWriter) async throws -> Void)
}

/// Writes a streamed request body.
public struct TransportBodyWriter {
    let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    /// Bytes still to write of the declared length.
    public internal(set) var remaining: Int64

    /// Sends the next piece of the body.
    public mutating func write(_ buffer: ByteBuffer) async throws {
        guard Int64(buffer.readableBytes) <= remaining else {
            throw TransportError.bodyLengthMismatch(declared: remaining, missing: remaining - Int64(buffer.readableBytes))
        }
        remaining -= Int64(buffer.readableBytes)
        try await outbound.write(.body(.byteBuffer(buffer)))
    }
}

/// Set once when a request's deadline passes.
private final class ExpiryFlag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }

    var isSet: Bool { value.withLock { $0 } }
}
