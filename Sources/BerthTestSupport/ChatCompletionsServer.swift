import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A small OpenAI-compatible chat-completions server on loopback (port 0), for tests and benches of
/// the hint advisor: it records every request and answers as told: an answer (optionally after a
/// delay), an error status, or garbage. Run it with ``with(_:)``; it never reaches outside the machine.
public final class ChatCompletionsServer: Sendable {
    /// How the server answers `POST /…/chat/completions`.
    public enum Behaviour: Sendable, Equatable {
        /// A chat completion whose `choices[0].message.content` is the text, after `delay`.
        case answer(String, delay: Duration = .zero)
        /// The status with an OpenAI-style error body.
        case fail(status: Int)
        /// 200 with a body that is not JSON.
        case garbage
        /// 200 with this exact body (a completion without content, an oversized one, …).
        case raw(String)
    }

    /// One request the server received.
    public struct Recorded: Sendable {
        /// The request path, e.g. `/v1/chat/completions`.
        public var path: String
        /// The `Host` header.
        public var host: String?
        /// The `Authorization` header, nil when absent.
        public var authorization: String?
        /// The `Content-Type` header.
        public var contentType: String?
        /// The body as sent.
        public var body: String
        /// The body's `model`.
        public var model: String?
        /// The body's `messages`, as role and content.
        public var messages: [(role: String, content: String)]
        /// The body's `max_tokens`.
        public var maxTokens: Int?
        /// The body's `temperature`.
        public var temperature: Double?

        /// Every message's content, joined: what the prompt held.
        public var promptText: String { messages.map(\.content).joined(separator: "\n") }
    }

    private struct State {
        var behaviour: Behaviour = .answer("Look at the file the check names.")
        var requests: [Recorded] = []
        var stopping = false
    }

    private let state = Mutex(State())

    /// The base URL to configure as `BERTH_AI_URL`, e.g. `http://127.0.0.1:53121/v1`.
    public let baseURL: String

    private init(baseURL: String) {
        self.baseURL = baseURL
    }

    /// Changes how the server answers from the next request on.
    public func answer(with behaviour: Behaviour) {
        state.withLock { $0.behaviour = behaviour }
    }

    /// The requests received so far, oldest first.
    public var requests: [Recorded] { state.withLock { $0.requests } }

    /// Runs a server on a free port of the loopback address `host` (`127.0.0.1` or `::1`) for the
    /// duration of `body`, then stops it. A request still waiting out a delay is answered at once
    /// when the server stops, so stopping never waits.
    public static func with<Result: Sendable>(
        host: String = "127.0.0.1", behaviour: Behaviour = .answer("Look at the file the check names."),
        _ body: (ChatCompletionsServer) async throws -> Result
    ) async throws -> Result {
        let (running, announce) = AsyncStream<Int>.makeStream()
        let holder = Mutex<ChatCompletionsServer?>(nil)
        let router = Router()
        router.post("**") { request, context -> Response in
            guard let server = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return try await server.respond(to: request, context: context)
        }
        var logger = Logger(label: "berth.test.chat-completions")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: 0), serverName: "chat-completions-test"),
            onServerRunning: { channel in announce.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        // Stopped with a graceful shutdown, never by cancelling its task: cancelling while a
        // connection is accepted but not yet served traps in NIO ("Deinited NIOAsyncWriter
        // without calling finish()", apple/swift-nio#3481).
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = running.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await services.triggerGracefulShutdown()
                throw FixtureError("the chat-completions test server did not start")
            }
            let server = ChatCompletionsServer(baseURL: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/v1")
            server.answer(with: behaviour)
            holder.withLock { $0 = server }
            do {
                let result = try await body(server)
                server.state.withLock { $0.stopping = true }
                await services.triggerGracefulShutdown()
                return result
            } catch {
                server.state.withLock { $0.stopping = true }
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }

    private func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 4 << 20)
        let text = String(buffer: bytes)
        var recorded = Recorded(
            path: request.uri.path, host: request.head.authority, authorization: request.headers[.authorization], contentType: request.headers[.contentType], body: text,
            messages: []
        )
        if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            recorded.model = json["model"] as? String
            recorded.maxTokens = json["max_tokens"] as? Int
            recorded.temperature = json["temperature"] as? Double
            for case let message as [String: Any] in json["messages"] as? [Any] ?? [] {
                recorded.messages.append((role: message["role"] as? String ?? "", content: message["content"] as? String ?? ""))
            }
        }
        let behaviour = state.withLock { state in
            state.requests.append(recorded)
            return state.behaviour
        }
        guard request.uri.path.hasSuffix("/chat/completions") else { return Self.json(status: .notFound, Self.errorBody("no such route")) }
        switch behaviour {
        case .answer(let content, let delay):
            let until = ContinuousClock.now + delay
            while ContinuousClock.now < until, !state.withLock({ $0.stopping }) {
                try? await Task.sleep(for: min(.milliseconds(20), until - ContinuousClock.now))
            }
            let completion: [String: Any] = [
                "id": "chatcmpl-test", "object": "chat.completion", "created": Int(Date().timeIntervalSince1970), "model": recorded.model ?? "",
                "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
                "usage": ["prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2],
            ]
            let data = (try? JSONSerialization.data(withJSONObject: completion)) ?? Data()
            return Self.json(status: .ok, String(decoding: data, as: UTF8.self))
        case .fail(let status):
            return Self.json(status: HTTPResponse.Status(code: status), Self.errorBody("the test server was told to fail with \(status)"))
        case .garbage:
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>not json")))
        case .raw(let body):
            return Self.json(status: .ok, body)
        }
    }

    private static func errorBody(_ message: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["error": ["message": message, "type": "test_error"]])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func json(status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
