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

    public var description: String {
        switch self {
        case .invalidAddress(let url): "'\(url)' is not a unix:///path or tcp://host:port address"
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .prematureClose: "the server closed the connection before the response was complete"
        case .timedOut(let address, let limit): "\(address) did not answer within \(Self.text(limit))"
        case .bodyLengthMismatch(let declared, let missing):
            "the request body was not the \(declared) bytes declared (\(missing) missing; a file changed while it was sent?)"
        }
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

/// A minimal HTTP/1.1 client over SwiftNIO for one server address: one connection per request,
/// which on a Unix socket costs microseconds and keeps every stream independent.
public struct HTTPTransport: Sendable {
    /// The server address.
    public let address: TransportAddress
    /// The name to verify the server's certificate against, for HTTPS; nil for plain HTTP.
    public let tlsServerName: String?
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount

    /// Creates a transport; `group` defaults to NIO's shared event loops. With `tlsServerName`, the
    /// connection is TLS, checked against the system's trusted roots.
    public init(
        address: TransportAddress, tlsServerName: String? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        connectTimeout: TimeAmount = .seconds(5)
    ) {
        self.address = address
        self.tlsServerName = tlsServerName
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
        if case .tcp(let host, let port) = address, (tlsServerName != nil && port == 443) || (tlsServerName == nil && port == 80) {
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
        do {
            channel = try await connect(timeout: timeout)
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
            throw error
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

    private func connect(timeout: TimeAmount?) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(min(connectTimeout, timeout ?? connectTimeout))
        let tls = tlsServerName
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: try Self.clientTLS.get(), serverHostname: tls))
                }
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
