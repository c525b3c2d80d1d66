import Foundation
import NIOCore

/// The status line and headers the daemon answered an exec start with.
public struct ExecHandshakeHead: Sendable, Equatable {
    /// HTTP status code: `101` when the connection was upgraded.
    public var status: Int
    /// The reason phrase, e.g. `UPGRADED`.
    public var reason: String
    /// Header fields by lower-cased name; repeated fields are joined with `, `.
    public var headers: [String: String]

    /// Creates a head.
    public init(status: Int, reason: String, headers: [String: String] = [:]) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// The value of the header `name`, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// True when raw stream bytes follow the head: `101`, or `200` from engines that answer
    /// without upgrading.
    public var isRawStream: Bool {
        status == 101 || status == 200
    }
}

/// What the daemon answered an exec start with, once enough bytes have arrived to tell.
public enum ExecHandshakeOutcome: Sendable, Equatable {
    /// Raw PTY bytes follow; `leftover` holds those that arrived together with the head.
    case stream(ExecHandshakeHead, leftover: [UInt8])
    /// The daemon refused with `head`; `body` is the complete body (usually JSON with a `message`).
    case rejected(ExecHandshakeHead, body: [UInt8])
}

/// Why the answer to an exec start could not be understood.
public enum ExecHandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first line is not `HTTP/1.x <code> <reason>`.
    case malformedStatusLine(String)
    /// A header line has no colon, or a framing header has an invalid value.
    case malformedHeader(String)
    /// The head grew past ``ExecHandshakeParser/maxHeadBytes`` without a blank line.
    case headTooLarge(Int)
    /// A chunk size line of a chunked error body is not hexadecimal.
    case malformedChunk(String)
    /// The connection closed before the answer was complete.
    case truncated

    /// A sentence for logs and error messages.
    public var description: String {
        switch self {
        case .malformedStatusLine(let line): "the engine answered with a malformed status line '\(line)'"
        case .malformedHeader(let line): "the engine answered with a malformed header '\(line)'"
        case .headTooLarge(let limit): "the engine's response head exceeded \(limit) bytes"
        case .malformedChunk(let line): "the engine answered with a malformed chunk size '\(line)'"
        case .truncated: "the engine closed the connection before its answer to the exec start was complete"
        }
    }
}

/// Parses the daemon's answer to `POST /exec/{id}/start` with `Upgrade: tcp`, fed in arbitrary
/// chunks, without doing any I/O.
///
/// On success the daemon sends `HTTP/1.1 101 UPGRADED`, headers and a blank line, then raw bytes:
/// the parser reports ``ExecHandshakeOutcome/stream(_:leftover:)`` as soon as the blank line is seen.
/// On failure the daemon sends an ordinary response whose body (framed by `Content-Length`,
/// chunked, or running to the end of the connection) is collected and reported as
/// ``ExecHandshakeOutcome/rejected(_:body:)``. Interim `1xx` answers other than `101` are skipped.
/// Feed no more bytes once an outcome has been returned.
public struct ExecHandshakeParser: Sendable {
    /// The most bytes a response head may take.
    public static let maxHeadBytes = 64 * 1024
    /// The most bytes of an error body that are kept; a longer body is cut there.
    public static let maxErrorBodyBytes = 1 << 20

    private enum Framing: Sendable {
        case length(Int)
        case chunked
        case untilClose
    }

    private enum State: Sendable {
        case head
        case body(ExecHandshakeHead, Framing)
        case done
    }

    private var pending: [UInt8] = []
    private var scanned = 0
    private var state = State.head

    /// Creates a parser waiting for the status line.
    public init() {}

    /// Feeds the next bytes; returns the outcome once it is known, nil while more are needed.
    public mutating func feed(_ buffer: ByteBuffer) throws -> ExecHandshakeOutcome? {
        try feed(buffer.readableBytesView)
    }

    /// Feeds the next bytes; returns the outcome once it is known, nil while more are needed.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws -> ExecHandshakeOutcome? {
        if case .done = state { return nil }
        pending.append(contentsOf: bytes)
        return try advance()
    }

    /// The connection ended: returns the outcome of an error answer whose body runs to the end of
    /// the connection, or throws ``ExecHandshakeError/truncated``.
    public mutating func finish() throws -> ExecHandshakeOutcome {
        if case .body(let head, .untilClose) = state {
            state = .done
            return .rejected(head, body: Array(pending.prefix(Self.maxErrorBodyBytes)))
        }
        throw ExecHandshakeError.truncated
    }

    private mutating func advance() throws -> ExecHandshakeOutcome? {
        while true {
            switch state {
            case .done:
                return nil
            case .head:
                guard let end = headEnd() else {
                    if pending.count > Self.maxHeadBytes { throw ExecHandshakeError.headTooLarge(Self.maxHeadBytes) }
                    return nil
                }
                let head = try Self.parseHead(pending[..<end])
                pending.removeSubrange(..<(end + 4))
                scanned = 0
                if head.status >= 100 && head.status < 200 && head.status != 101 { continue }
                if head.isRawStream {
                    state = .done
                    let leftover = pending
                    pending = []
                    return .stream(head, leftover: leftover)
                }
                state = .body(head, try Self.framing(of: head))
            case .body(let head, let framing):
                switch framing {
                case .length(let length):
                    let wanted = min(length, Self.maxErrorBodyBytes)
                    guard pending.count >= wanted else { return nil }
                    state = .done
                    return .rejected(head, body: Array(pending.prefix(wanted)))
                case .chunked:
                    guard let body = try Self.dechunk(pending[...]) else { return nil }
                    state = .done
                    return .rejected(head, body: body)
                case .untilClose:
                    guard pending.count >= Self.maxErrorBodyBytes else { return nil }
                    state = .done
                    return .rejected(head, body: Array(pending.prefix(Self.maxErrorBodyBytes)))
                }
            }
        }
    }

    /// The index of the `\r\n\r\n` ending the head, scanning only bytes not scanned before.
    private mutating func headEnd() -> Int? {
        var index = max(0, scanned - 3)
        while index + 4 <= pending.count {
            if pending[index] == 13 && pending[index + 1] == 10 && pending[index + 2] == 13 && pending[index + 3] == 10 {
                return index
            }
            index += 1
        }
        scanned = pending.count
        return nil
    }

    private static func parseHead(_ bytes: ArraySlice<UInt8>) throws -> ExecHandshakeHead {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")[...]
        let statusLine = lines.popFirst() ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw ExecHandshakeError.malformedStatusLine(statusLine)
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw ExecHandshakeError.malformedHeader(line) }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw ExecHandshakeError.malformedHeader(line) }
            if let existing = headers[name] {
                headers[name] = existing + ", " + value
            } else {
                headers[name] = value
            }
        }
        let reason = parts.count > 2 ? String(parts[2]) : ""
        return ExecHandshakeHead(status: status, reason: reason, headers: headers)
    }

    private static func framing(of head: ExecHandshakeHead) throws -> Framing {
        if head.status == 204 || head.status == 304 { return .length(0) }
        if let encoding = head.header("transfer-encoding"), encoding.lowercased().contains("chunked") { return .chunked }
        if let length = head.header("content-length") {
            guard let value = Int(length), value >= 0 else { throw ExecHandshakeError.malformedHeader("Content-Length: \(length)") }
            return .length(value)
        }
        return .untilClose
    }

    /// Decodes a complete chunked body, or returns nil when more bytes are needed.
    private static func dechunk(_ bytes: ArraySlice<UInt8>) throws -> [UInt8]? {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = crlf(in: bytes, from: index) else { return nil }
            let line = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map {
                $0.trimmingCharacters(in: .whitespaces)
            } ?? ""
            guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(sizeText, radix: 16) else {
                throw ExecHandshakeError.malformedChunk(line)
            }
            let dataStart = lineEnd + 2
            if size == 0 { return body }
            guard bytes.endIndex - dataStart >= size + 2 else {
                if body.count + (bytes.endIndex - dataStart) >= maxErrorBodyBytes {
                    return Array((body + bytes[dataStart...]).prefix(maxErrorBodyBytes))
                }
                return nil
            }
            body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
            if body.count >= maxErrorBodyBytes { return Array(body.prefix(maxErrorBodyBytes)) }
            index = dataStart + size + 2
        }
    }

    private static func crlf(in bytes: ArraySlice<UInt8>, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.endIndex {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }
}

/// The first handler of an exec stream's pipeline: runs ``ExecHandshakeParser`` over the bytes
/// that arrive until the daemon's answer is known, completes `outcome` with it, forwards the stream
/// bytes that came with the head, and removes itself. A rejected answer closes the channel.
final class ExecHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var parser = ExecHandshakeParser()
    private let outcome: EventLoopPromise<ExecHandshakeOutcome>
    private var settled = false

    init(outcome: EventLoopPromise<ExecHandshakeOutcome>) {
        self.outcome = outcome
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !settled else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        do {
            guard let result = try parser.feed(buffer) else { return }
            settled = true
            switch result {
            case .stream(_, let leftover):
                if !leftover.isEmpty {
                    context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: leftover)))
                }
                outcome.succeed(result)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            case .rejected:
                outcome.succeed(result)
                context.close(promise: nil)
            }
        } catch {
            settled = true
            outcome.fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !settled {
            settled = true
            do {
                outcome.succeed(try parser.finish())
            } catch {
                outcome.fail(error)
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !settled {
            settled = true
            outcome.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !settled {
            settled = true
            outcome.fail(ExecHandshakeError.truncated)
        }
    }
}
