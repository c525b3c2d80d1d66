import BerthAPI
import Foundation
import HTTPTransport
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime
import Testing

@testable import BerthCLI

/// The generated client over ``APIClientTransport``, against small live Hummingbird servers that
/// answer a few of the contract's routes the way Berth does: over TCP and a Unix socket, with
/// streamed bodies, error envelopes, undocumented statuses, refused connections and deadlines.
@Suite struct APIClientTransportTests {
    static let token = "transport-test-token"

    @Test func decodesAnAnswerAndSendsTheBearerToken() async throws {
        let router = Router()
        router.get("/api/v1/users") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer \(Self.token)" else {
                return Self.json(.unauthorized, #"{"error":{"code":"unauthorized","message":"Send a valid token."}}"#)
            }
            return Self.json(.ok, #"{"items":[{"id":"usr_1","name":"ada","role":"admin","createdAt":"2026-11-28T10:00:00Z"}]}"#)
        }
        try await Self.withServer(router) { url in
            let output = try await Self.client(url).listUsers()
            let users = try output.ok.body.json.items
            #expect(users.map(\.name) == ["ada"])
            #expect(users.first?.role == .admin)

            let refused = try await Self.client(url, token: "wrong").listUsers()
            guard case .unauthorized(let answer) = refused else {
                Issue.record("expected 401, got \(refused)")
                return
            }
            #expect(ServerCallError(try answer.body.json) == ServerCallError(code: "unauthorized", message: "Send a valid token."))
        }
    }

    @Test func sendsTheRequestBodyWithItsLength() async throws {
        let router = Router()
        router.post("/api/v1/teams") { request, _ -> Response in
            let length = request.headers[.contentLength] ?? "none"
            let chunked = request.headers[.transferEncoding] ?? "none"
            let body = try await request.body.collect(upTo: 1 << 20)
            let name = "\(length)|\(chunked)|\(String(buffer: body))"
            let team = Components.Schemas.Team(id: "team_1", name: name, createdAt: Date(timeIntervalSince1970: 0), members: [])
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(team))))
        }
        try await Self.withServer(router) { url in
            let team = try await Self.client(url).createTeam(body: .json(.init(name: "blue"))).created.body.json
            let parts = team.name.split(separator: "|", maxSplits: 2).map(String.init)
            #expect(parts.count == 3)
            #expect(parts.dropFirst().first == "none", "the body is sent with a length, not chunked")
            let body = parts.last ?? ""
            #expect(parts.first == String(body.utf8.count))
            #expect(body.contains(#""name""#) && body.contains(#""blue""#))
        }
    }

    @Test func anErrorEnvelopeBecomesTheCLIsError() async throws {
        let router = Router()
        router.post("/api/v1/users") { _, _ in
            Self.json(.conflict, #"{"error":{"code":"user_name_taken","message":"A user named 'ada' already exists."}}"#)
        }
        try await Self.withServer(router) { url in
            let options = try ServerOptions.parse(["--server", url, "--token", Self.token])
            let failure = await #expect(throws: ServerCallError.self) {
                try await options.call { client in
                    switch try await client.createUser(body: .json(.init(name: "ada"))) {
                    case .conflict(let answer): throw ServerCallError(try answer.body.json)
                    default: return
                    }
                }
            }
            #expect(failure == ServerCallError(code: "user_name_taken", message: "A user named 'ada' already exists."))
            #expect(failure?.description == "user_name_taken: A user named 'ada' already exists.")
        }
    }

    @Test func anUndocumentedStatusKeepsItsStatusAndBody() async throws {
        let router = Router()
        router.get("/api/v1/audit/verify") { _, _ in
            Response(status: .badGateway, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "proxy: upstream down")))
        }
        router.get("/api/v1/teams") { _, _ in
            Self.json(.internalServerError, #"{"error":{"code":"internal","message":"Something broke."}}"#)
        }
        try await Self.withServer(router) { url in
            let client = try Self.client(url)
            guard case .undocumented(let status, let payload) = try await client.verifyAudit() else {
                Issue.record("expected an undocumented answer")
                return
            }
            #expect(status == 502)
            #expect(await ServerCallError.undocumented(status, payload) == ServerCallError(code: "http_502", message: "proxy: upstream down"))

            guard case .undocumented(let status, let payload) = try await client.listTeams() else {
                Issue.record("expected an undocumented answer")
                return
            }
            #expect(await ServerCallError.undocumented(status, payload) == ServerCallError(code: "internal", message: "Something broke."))
        }
    }

    @Test func anAnswerOutsideTheContractIsUnexpected() async throws {
        let router = Router()
        router.get("/api/v1/users") { _, _ in Self.json(.ok, #"{"users":[]}"#) }
        try await Self.withServer(router) { url in
            let options = try ServerOptions.parse(["--server", url, "--token", Self.token])
            let failure = await #expect(throws: ServerCallError.self) {
                try await options.call { client in try await client.listUsers().ok.body.json.items }
            }
            #expect(failure?.code == "unexpected_answer")
            #expect(failure?.message.contains("listUsers") == true)
        }
    }

    /// A build log arrives line by line: the server writes its second line only once the client
    /// has read the first, so a transport that buffered the body would never see it.
    @Test func aStreamedBodyArrivesAsItIsWritten() async throws {
        let (firstLineRead, signalFirstLineRead) = AsyncStream<Void>.makeStream()
        let router = Router()
        router.post("/api/v1/admin/environments/{slug}/build") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: #"{"progress":"step 1"}"# + "\n"))
                let read = await Self.first(of: firstLineRead, within: .seconds(60))
                try await writer.write(ByteBuffer(string: read ? #"{"done":true,"image":"sha256:1"}"# + "\n" : #"{"error":"not streamed"}"# + "\n"))
                try await writer.finish(nil)
            })
        }
        try await Self.withServer(router) { url in
            let output = try await Self.client(url).buildEnvironment(path: .init(slug: "web"))
            let body = try output.ok.body.applicationXNdjson
            var lines: [String] = []
            var pending = ""
            for try await chunk in body {
                pending += String(decoding: chunk, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    lines.append(String(pending[..<newline]))
                    pending = String(pending[pending.index(after: newline)...])
                    if lines.count == 1 { signalFirstLineRead.yield() }
                }
            }
            #expect(lines == [#"{"progress":"step 1"}"#, #"{"done":true,"image":"sha256:1"}"#])
        }
    }

    /// A recording's cast: a `Range` read returns the bytes from the offset, as a stream the
    /// caller reads chunk by chunk.
    @Test func aRangeReadOfALargeCastStreams() async throws {
        let cast = ByteBuffer(bytes: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let router = Router()
        router.get("/api/v1/recordings/{id}/cast") { request, _ -> Response in
            // The generated client percent-encodes header parameters (`bytes%3D1000001-`); Berth's
            // generated server decodes them the same way, so this server does too.
            let range = request.headers[.range].flatMap { $0.removingPercentEncoding }
            let offset = range.flatMap { Int($0.dropFirst("bytes=".count).dropLast()) } ?? 0
            guard offset < cast.readableBytes else {
                return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(cast.readableBytes)"])
            }
            let tail = cast.getSlice(at: offset, length: cast.readableBytes - offset) ?? ByteBuffer()
            let chunks = stride(from: 0, to: tail.readableBytes, by: 64 << 10).compactMap { start in
                tail.getSlice(at: start, length: min(64 << 10, tail.readableBytes - start))
            }
            return Response(
                status: offset == 0 ? .ok : .partialContent,
                headers: [.contentType: "application/x-asciicast", .contentRange: "bytes \(offset)-\(cast.readableBytes - 1)/\(cast.readableBytes)"],
                body: ResponseBody(contentsOf: chunks)
            )
        }
        try await Self.withServer(router) { url in
            let client = try Self.client(url)
            let offset = 1_000_001
            let output = try await client.downloadRecording(path: .init(id: "rec_1"), headers: .init(range: "bytes=\(offset)-"))
            let body = try output.partialContent.body.applicationXAsciicast
            #expect(body.length == .known(Int64(cast.readableBytes - offset)))
            var received: [UInt8] = []
            var chunks = 0
            for try await chunk in body {
                received += chunk
                chunks += 1
            }
            #expect(received == Array(cast.readableBytesView.dropFirst(offset)))
            #expect(chunks > 1, "the body arrives in pieces, not as one buffer")

            let past = try await client.downloadRecording(path: .init(id: "rec_1"), headers: .init(range: "bytes=\(cast.readableBytes)-"))
            guard case .rangeNotSatisfiable = past else {
                Issue.record("expected 416, got \(past)")
                return
            }
        }
    }

    /// A caller that stops reading a body and drops it closes the connection: the server's next
    /// write fails, instead of the transport reading a long stream to its end for nobody.
    @Test func droppingABodyClosesTheConnection() async throws {
        let (closed, signalClosed) = AsyncStream<Void>.makeStream()
        let router = Router()
        router.get("/api/v1/recordings/{id}/cast") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/x-asciicast"], body: ResponseBody { writer in
                do {
                    // About a minute of output unless the client goes away.
                    for _ in 0..<6000 {
                        try await writer.write(ByteBuffer(repeating: UInt8(ascii: "x"), count: 16 << 10))
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    try await writer.finish(nil)
                } catch {
                    signalClosed.yield()
                    throw error
                }
            })
        }
        try await Self.withServer(router) { url in
            try await Self.readOneChunk(of: try Self.client(url))
            #expect(await Self.first(of: closed, within: .seconds(30)), "the server kept writing to a body nobody reads")
        }
    }

    /// Reads the first chunk of a cast, then lets the answer go.
    static func readOneChunk(of client: Client) async throws {
        let body = try await client.downloadRecording(path: .init(id: "rec_1")).ok.body.applicationXAsciicast
        for try await chunk in body {
            #expect(!chunk.isEmpty)
            break
        }
    }

    @Test func worksOverAUnixSocket() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-\(UUID().uuidString.prefix(8)).sock").path
        let router = Router()
        router.post("/api/v1/admin/purge") { _, _ in Self.json(.ok, #"{"stopped":2}"#) }
        try await Self.withServer(router, address: .unixDomainSocket(path: path)) { _ in
            let answer = try await Self.client("unix://\(path)").purge().ok.body.json
            #expect(answer.stopped == 2)
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test func aServerThatIsNotListeningIsUnreachable() async throws {
        // A port that was free a moment ago: bind it, note it, close it.
        let url = try await Self.withServer(Router()) { url in url }
        let options = try ServerOptions.parse(["--server", url, "--token", Self.token])
        let failure = await #expect(throws: ServerCallError.self) {
            try await options.call { client in try await client.listUsers() }
        }
        #expect(failure?.code == "server_unreachable")
        #expect(failure?.message.contains(url) == true, "the message names the server: \(failure?.message ?? "")")
    }

    @Test func aServerThatDoesNotAnswerInTimeTimesOut() async throws {
        let (released, release) = AsyncStream<Void>.makeStream()
        let router = Router()
        router.get("/api/v1/users") { _, _ -> Response in
            _ = await Self.first(of: released, within: .seconds(60))
            return Self.json(.ok, #"{"items":[]}"#)
        }
        try await Self.withServer(router) { url in
            let transport = APIClientTransport(transport: try HTTPTransport(webURL: url), serverURL: url, timeout: .milliseconds(300))
            let client = try Client.berth(transport: transport, token: Self.token)
            let failure = await #expect(throws: ServerCallError.self) {
                try await ServerCallError.mapping { try await client.listUsers() }
            }
            release.yield()
            #expect(failure?.code == "server_timeout")
            #expect(failure?.message.contains(url) == true)
        }
    }

    @Test func rejectsAServerURLItCannotUse() throws {
        for url in ["ftp://example.com", "http://", "unix://relative/path"] {
            let options = try ServerOptions.parse(["--server", url, "--token", Self.token])
            #expect(throws: (any Error).self, "\(url)") { try options.client() }
        }
    }

    // MARK: Fixtures

    /// A client of `url` with the bearer `token`, as the CLI makes it.
    static func client(_ url: String, token: String = token) throws -> Client {
        try ServerOptions.parse(["--server", url, "--token", token]).client()
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// True when `stream` yields within `limit`; false when the limit passes first.
    static func first(of stream: AsyncStream<Void>, within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                return await iterator.next() != nil
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Runs `router` on a live server at `address` (a free loopback port by default) for the
    /// length of `body`, which gets the server's URL.
    static func withServer<Result: Sendable>(
        _ router: Router<BasicRequestContext>, address: BindAddress = .hostname("127.0.0.1", port: 0),
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        let (running, announce) = AsyncStream<String>.makeStream()
        var logger = Logger(label: "berth.cli.test")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: address),
            onServerRunning: { channel in
                if let port = channel.localAddress?.port {
                    announce.yield("http://127.0.0.1:\(port)")
                } else {
                    announce.yield(channel.localAddress?.pathname.map { "unix://\($0)" } ?? "")
                }
            },
            logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = running.makeAsyncIterator()
            let url = try #require(await iterator.next())
            do {
                let result = try await body(url)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
