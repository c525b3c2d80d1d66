import Foundation
import HTTPTransport
import HTTPTypes
import NIOCore
import NIOHTTP1
import OpenAPIRuntime

/// Carries the generated API client's requests over ``HTTPTransport``: HTTP/1.1 over TCP, TLS or a
/// Unix socket, one connection per request.
///
/// Request bodies are collected first and sent with their `Content-Length`. Response bodies stream:
/// the connection stays open while the caller reads the body, and is read only as fast as the
/// caller asks for chunks, so a build log shows as it comes and a large recording never sits whole
/// in memory. The connection closes when the body ends, or when the caller drops it.
///
/// It lives here rather than in HTTPTransport so that the Docker Engine client, which shares
/// HTTPTransport, does not pull in the OpenAPI runtime.
struct APIClientTransport: ClientTransport {
    /// The connection to the server.
    let transport: HTTPTransport
    /// The server's URL as the user gave it, for error messages.
    let serverURL: String
    /// The limit for the whole exchange, body included; nil for none (streams may last).
    let timeout: TimeAmount?
    /// The largest request body sent; the CLI's JSON bodies are far smaller.
    let maxRequestBodyBytes: Int

    init(transport: HTTPTransport, serverURL: String, timeout: TimeAmount? = nil, maxRequestBodyBytes: Int = 16 << 20) {
        self.transport = transport
        self.serverURL = serverURL
        self.timeout = timeout
        self.maxRequestBodyBytes = maxRequestBodyBytes
    }

    /// The transport is bound to one server: `baseURL` (the spec's `/`) is not used.
    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        let method = HTTPMethod(rawValue: request.method.rawValue)
        let headers = request.headerFields.map { ($0.name.rawName, $0.value) }
        var payload: ByteBuffer?
        if let body {
            payload = ByteBuffer(bytes: try await [UInt8](collecting: body, upTo: maxRequestBodyBytes))
        }
        let (heads, headSink) = AsyncThrowingStream<(HTTPResponse, HTTPBody?), any Error>.makeStream()
        let exchange = Task { [transport, timeout, serverURL, path = request.path ?? "/", payload] in
            let pipe = ResponseBodyPipe()
            do {
                try await transport.stream(method: method, path: path, headers: headers, body: payload, timeout: timeout) { head, reader in
                    let response = Self.response(head)
                    let length = head.headers.first(name: "Content-Length").flatMap { Int64($0) }
                    guard length != 0, head.status != 204, head.status != 304, method != .HEAD else {
                        headSink.yield((response, nil))
                        headSink.finish()
                        return
                    }
                    headSink.yield((response, HTTPBody(pipe.body, length: length.map { .known($0) } ?? .unknown, iterationBehavior: .single)))
                    headSink.finish()
                    try await pipe.pump(&reader)
                }
                // Only now is the body known to be whole: a deadline that closed the connection
                // ends the reader quietly, and the transport says so after it.
                pipe.finish()
            } catch {
                let failure = Self.failure(error, serverURL: serverURL)
                headSink.finish(throwing: failure)
                pipe.fail(failure)
            }
        }
        // From here the body's reader owns the exchange: it ends when the body is read or dropped.
        var iterator = heads.makeAsyncIterator()
        let answer = try await withTaskCancellationHandler {
            try await iterator.next()
        } onCancel: {
            exchange.cancel()
        }
        guard let answer else {
            exchange.cancel()
            throw CancellationError()
        }
        return answer
    }

    /// The response head in HTTPTypes' terms; header names HTTPTypes refuses are left out.
    static func response(_ head: TransportResponseHead) -> HTTPResponse {
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return HTTPResponse(status: .init(code: head.status), headerFields: fields)
    }

    /// A transport failure as the CLI reports it: the server could not be reached, did not answer
    /// in time, or broke the connection mid-answer.
    static func failure(_ error: any Error, serverURL: String) -> any Error {
        switch error {
        case is CancellationError:
            return error
        case TransportError.connectFailed(_, let reason):
            return ServerCallError(
                code: "server_unreachable", message: "Cannot reach the Berth server at \(serverURL): \(reason). Is `berth serve` running?")
        case let transportError as TransportError where transportError.isTimeout:
            return ServerCallError(code: "server_timeout", message: "The Berth server at \(serverURL) did not answer in time: \(transportError).")
        default:
            return ServerCallError(
                code: "server_connection_lost", message: "The connection to the Berth server at \(serverURL) broke before its answer was complete: \(error).")
        }
    }
}

/// Hands a response body from the connection to its reader, one chunk per request for more, so the
/// connection is read no faster than the body is consumed.
final class ResponseBodyPipe: Sendable {
    private let chunks: AsyncThrowingStream<HTTPBody.ByteChunk, any Error>
    private let chunkSink: AsyncThrowingStream<HTTPBody.ByteChunk, any Error>.Continuation
    private let demand: AsyncStream<Void>
    private let demandSink: AsyncStream<Void>.Continuation

    init() {
        (chunks, chunkSink) = AsyncThrowingStream.makeStream()
        (demand, demandSink) = AsyncStream.makeStream()
    }

    /// The body as its reader sees it. Dropping it (and its iterators) ends the exchange.
    var body: Body { Body(chunks: chunks, reader: Reader(demandSink: demandSink)) }

    /// Copies the body from the connection, a chunk each time the reader asks; returns at the end
    /// of the body, or as soon as the reader is gone. The caller ends the body (``finish()`` or
    /// ``fail(_:)``) once the exchange is over.
    func pump(_ reader: inout TransportBodyReader) async throws {
        var requests = demand.makeAsyncIterator()
        while await requests.next() != nil {
            guard let chunk = try await reader.next() else { return }
            chunkSink.yield(HTTPBody.ByteChunk(chunk.readableBytesView))
        }
    }

    /// Ends the body once the exchange has finished cleanly.
    func finish() {
        chunkSink.finish()
    }

    /// Ends the body with `error` (a failure after the head arrived, such as a dropped connection).
    func fail(_ error: any Error) {
        chunkSink.finish(throwing: error)
    }

    /// Tells the pump that the reader is gone when the last copy of the body or of its iterators goes.
    final class Reader: Sendable {
        let demandSink: AsyncStream<Void>.Continuation

        init(demandSink: AsyncStream<Void>.Continuation) { self.demandSink = demandSink }

        func ask() { demandSink.yield(()) }

        deinit { demandSink.finish() }
    }

    /// The body's byte chunks, read on demand.
    struct Body: AsyncSequence, Sendable {
        typealias Element = HTTPBody.ByteChunk
        let chunks: AsyncThrowingStream<HTTPBody.ByteChunk, any Error>
        let reader: Reader

        func makeAsyncIterator() -> Iterator { Iterator(chunks: chunks.makeAsyncIterator(), reader: reader) }

        struct Iterator: AsyncIteratorProtocol {
            var chunks: AsyncThrowingStream<HTTPBody.ByteChunk, any Error>.AsyncIterator
            let reader: Reader
            var finished = false

            mutating func next() async throws -> HTTPBody.ByteChunk? {
                guard !finished else { return nil }
                reader.ask()
                guard let chunk = try await chunks.next() else {
                    finished = true
                    return nil
                }
                return chunk
            }
        }
    }
}
