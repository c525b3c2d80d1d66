import ArgumentParser
import BerthAPI
import Foundation
import HTTPTransport
import HTTPTypes
import NIOCore
import OpenAPIRuntime

/// `--server` and `--token` for commands that talk to a running server.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL: http://host:port, https://host[:port] or unix:///path (default: BERTH_URL or http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "API token (default: BERTH_TOKEN, then BERTH_ADMIN_TOKEN).")
    var token: String?

    /// How long connecting may take, as before the generated client; an answer, once connected, may
    /// take as long as the server needs (purges, builds and downloads last).
    static let connectTimeout = TimeAmount.seconds(5)

    /// The generated API client for the chosen server, sending the token on every request.
    func client() throws -> Client {
        let environment = ProcessInfo.processInfo.environment
        let url = server ?? environment["BERTH_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let secret = token ?? environment["BERTH_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 })
            ?? environment["BERTH_ADMIN_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 })
        else {
            throw ValidationError("Pass --token (or set BERTH_TOKEN): these commands act through the server's API.")
        }
        let transport: HTTPTransport
        do {
            if url.hasPrefix("http://") || url.hasPrefix("https://") {
                transport = try HTTPTransport(webURL: url, connectTimeout: Self.connectTimeout)
            } else {
                transport = HTTPTransport(address: try TransportAddress(url: url), connectTimeout: Self.connectTimeout)
            }
        } catch {
            throw ValidationError("--server: '\(url)' is not an http://host:port, https://host[:port] or unix:///path address.")
        }
        return try Client.berth(transport: APIClientTransport(transport: transport, serverURL: url), token: secret)
    }

    /// Runs `body` with the client; a failure of the generated client (a transport failure, or an
    /// answer that does not match the contract) becomes a ``ServerCallError``.
    func call<Result>(_ body: (Client) async throws -> Result) async throws -> Result {
        let client = try client()
        return try await ServerCallError.mapping { try await body(client) }
    }
}

extension Client {
    /// A client of Berth's API over `transport`, authenticated with the bearer `token`.
    static func berth(transport: any ClientTransport, token: String) throws -> Client {
        Client(serverURL: try Servers.Server1.url(), transport: transport, middlewares: [BearerTokenMiddleware(token: token)])
    }
}

/// Adds `Authorization: Bearer <token>` to every request.
struct BearerTokenMiddleware: ClientMiddleware {
    let token: String

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        return try await next(request, body, baseURL)
    }
}

/// An error answer of the server, or a failure to reach it, as the CLI reports it: `code: message`
/// (the process then exits with status 1).
struct ServerCallError: Error, CustomStringConvertible, Equatable {
    /// The server's stable snake_case code, or the CLI's own (`server_unreachable`, `http_<status>`, ...).
    var code: String
    /// What went wrong, in words.
    var message: String

    var description: String { "\(code): \(message)" }

    init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A documented error answer: the contract's error envelope.
    init(_ envelope: Components.Schemas._Error) {
        self.init(code: envelope.error.code, message: envelope.error.message)
    }

    /// An answer whose status the contract does not document: its envelope if it has one, else
    /// `http_<status>` and the body as text (at most 64 KiB of it).
    static func undocumented(_ status: Int, _ payload: UndocumentedPayload) async -> ServerCallError {
        var text = ""
        if let body = payload.body, let bytes = try? await [UInt8](collecting: body, upTo: 64 << 10) {
            text = String(decoding: bytes, as: UTF8.self)
            if let envelope = try? JSONDecoder().decode(Components.Schemas._Error.self, from: Data(bytes)) {
                return ServerCallError(envelope)
            }
        }
        return ServerCallError(code: "http_\(status)", message: text.isEmpty ? "HTTP status \(status) with an empty body" : text)
    }

    /// Runs `body`, turning the generated client's errors into ``ServerCallError``s: the
    /// transport's own (unreachable, timed out) pass through, anything else is an answer the CLI
    /// could not read.
    static func mapping<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as ClientError {
            if let answer = error.underlyingError as? ServerCallError { throw answer }
            throw ServerCallError(
                code: "unexpected_answer",
                message: "The server's answer to \(error.operationID) could not be read: \(error.causeDescription): \(error.underlyingError)"
            )
        }
    }
}
