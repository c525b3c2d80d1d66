import BerthTestSupport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A throw-away PKI made with the `openssl` command in a temporary directory: CAs, and server and
/// client certificates they sign, as an operator would make for engines started with `--tlsverify`.
struct TestPKI {
    let directory: URL

    /// Runs `body` with a PKI in a fresh directory that is removed afterwards.
    static func with<Result>(_ body: (TestPKI) async throws -> Result) async throws -> Result {
        try await TemporaryDirectory.with(prefix: "berth-pki") { folder in
            let pki = TestPKI(directory: folder.url)
            try pki.write(
                "openssl.cnf",
                """
                [req]
                distinguished_name = dn
                prompt = no
                [dn]
                CN = berth-test
                [berth_ca]
                basicConstraints = critical,CA:TRUE
                keyUsage = critical,keyCertSign,cRLSign
                subjectKeyIdentifier = hash

                """
            )
            return try await body(pki)
        }
    }

    /// The path of `name` in the PKI's directory.
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }

    /// Makes a self-signed CA: `<name>.pem` and `<name>-key.pem`.
    func makeCA(_ name: String) throws {
        try openssl([
            "req", "-x509", "-config", "openssl.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name)-key.pem", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(name)",
            "-extensions", "berth_ca",
        ])
    }

    /// Makes `<name>.pem` and `<name>-key.pem` signed by the CA `ca`, for a server (`IP:` and
    /// `DNS:` names in `names`) or a client.
    func issue(_ name: String, by ca: String, server: Bool, names: [String] = []) throws {
        var extensions = "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
        extensions += "extendedKeyUsage = \(server ? "serverAuth" : "clientAuth")\n"
        if !names.isEmpty { extensions += "subjectAltName = \(names.joined(separator: ","))\n" }
        try write("\(name).ext", extensions)
        try openssl([
            "req", "-new", "-config", "openssl.cnf", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(name)-key.pem", "-out", "\(name).csr", "-subj", "/CN=\(name)",
        ])
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca)-key.pem",
            "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-days", "2", "-out", "\(name).pem", "-extfile", "\(name).ext",
        ])
    }

    /// A directory as `BERTH_SWARM_TLS_DIR` / `DOCKER_CERT_PATH` expect: `ca.pem` (the CA `ca`),
    /// `cert.pem` and `key.pem` (the client `client`).
    func clientDirectory(ca: String, client: String) throws -> String {
        let folder = directory.appendingPathComponent("client-\(ca)-\(client)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (source, target) in [("\(ca).pem", "ca.pem"), ("\(client).pem", "cert.pem"), ("\(client)-key.pem", "key.pem")] {
            try FileManager.default.copyItem(atPath: path(source), toPath: folder.appendingPathComponent(target).path)
        }
        return folder.path
    }

    /// A server context presenting `server` and requiring a client certificate signed by `clientCA`,
    /// as `dockerd --tlsverify` does.
    func serverContext(server: String, clientCA: String) throws -> NIOSSLContext {
        let configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: try NIOSSLCertificate.fromPEMFile(path("\(server).pem")).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: path("\(server)-key.pem"), format: .pem)),
            trustRoots: .certificates(try NIOSSLCertificate.fromPEMFile(path("\(clientCA).pem")))
        )
        return try NIOSSLContext(configuration: configuration)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestPKIError(message: "openssl \(arguments.joined(separator: " ")): \(String(decoding: output, as: UTF8.self))")
        }
    }
}

struct TestPKIError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A request the stub received.
struct StubRequest: Sendable {
    /// `GET`, `POST`, …
    var method: String
    /// The path with its query, e.g. `/v1.41/tasks?filters=…`.
    var target: String
    /// The body as text.
    var body: String
}

/// What the stub answers: a status and a JSON body.
struct StubResponse: Sendable {
    var status: Int
    var body: String
}

/// An engine stand-in on loopback, behind TLS when given a context: `GET /_ping` answers `OK`,
/// `POST …/exec/{id}/start` is upgraded to a raw stream that echoes every byte back, other requests
/// go to `responder` (404 with a Docker error body when it has no answer). Every request is kept
/// in ``requests``.
final class EngineStub: Sendable {
    let port: Int
    private let channel: any Channel
    private let recorded: RequestLog

    private init(channel: any Channel, recorded: RequestLog) {
        self.channel = channel
        self.recorded = recorded
        self.port = channel.localAddress?.port ?? 0
    }

    /// The requests received so far, in order.
    var requests: [StubRequest] { recorded.all }

    /// Runs `body` with a stub listening on 127.0.0.1 with `context` (plain HTTP when nil), and
    /// closes it afterwards.
    static func with<Result>(
        context: NIOSSLContext?, responder: @escaping @Sendable (StubRequest) -> StubResponse? = { _ in nil },
        _ body: (EngineStub) async throws -> Result
    ) async throws -> Result {
        let log = RequestLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let context { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try child.pipeline.syncOperations.addHandler(EngineStubHandler(log: log, responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let stub = EngineStub(channel: channel, recorded: log)
        do {
            let result = try await body(stub)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// The requests a stub received.
private final class RequestLog: Sendable {
    private let requests = Mutex<[StubRequest]>([])

    var all: [StubRequest] { requests.withLock { $0 } }

    func append(_ request: StubRequest) { requests.withLock { $0.append(request) } }
}

/// Answers one request per connection, upgrading exec starts to an echo stream.
private final class EngineStubHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let log: RequestLog
    private let responder: @Sendable (StubRequest) -> StubResponse?
    private var pending = ByteBuffer()
    private var head: (requestLine: String, contentLength: Int)?
    private var echoing = false

    init(log: RequestLog, responder: @escaping @Sendable (StubRequest) -> StubResponse?) {
        self.log = log
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if echoing {
            if bytes.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }
            return
        }
        pending.writeBuffer(&bytes)
        if pending.readableBytesView.first == 0x16 {
            // A TLS ClientHello on a plain port: answered as dockerd's HTTP server does.
            respond(context: context, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            context.close(promise: nil)
            return
        }
        if head == nil {
            let view = Array(pending.readableBytesView)
            guard let end = view.indices.dropLast(3).first(where: { view[$0...$0 + 3] == [13, 10, 13, 10] }) else { return }
            let lines = String(decoding: view[..<end], as: UTF8.self).split(separator: "\r\n")
            pending.moveReaderIndex(forwardBy: end + 4)
            let contentLength = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first ?? 0
            head = (lines.first.map(String.init) ?? "", contentLength)
        }
        guard let head, pending.readableBytes >= head.contentLength else { return }
        let body = pending.readString(length: head.contentLength) ?? ""
        let parts = head.requestLine.split(separator: " ")
        let request = StubRequest(method: parts.first.map(String.init) ?? "", target: parts.count > 1 ? String(parts[1]) : "", body: body)
        log.append(request)
        if request.method == "GET" && request.target == "/_ping" {
            respond(context: context, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK")
        } else if request.method == "POST" && request.target.hasPrefix("/v1.41/exec/") && request.target.hasSuffix("/start") {
            respond(context: context, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            echoing = true
            if pending.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(pending), promise: nil) }
            pending.clear()
        } else {
            let answer = responder(request) ?? StubResponse(status: 404, body: #"{"message":"no such path in the stub"}"#)
            respond(
                context: context,
                "HTTP/1.1 \(answer.status) Stub\r\nContent-Type: application/json\r\nContent-Length: \(answer.body.utf8.count)\r\n\r\n\(answer.body)"
            )
        }
    }

    private func respond(context: ChannelHandlerContext, _ text: String) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
