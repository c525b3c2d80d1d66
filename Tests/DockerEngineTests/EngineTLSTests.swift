import BerthTestSupport
import DockerEngine
import Foundation
import HTTPTransport
import NIOCore
import NIOSSL
import Testing

/// Mutual TLS to an engine (`dockerd --tlsverify`), against a TLS stub on loopback with
/// certificates made by `openssl` for each test.
@Suite("Engine mutual TLS")
struct EngineTLSTests {
    /// A PKI with the engines' CA, a server certificate for 127.0.0.1 and a client certificate.
    private static func withPKI<Result>(_ body: (TestPKI) async throws -> Result) async throws -> Result {
        try await TestPKI.with { pki in
            try pki.makeCA("ca")
            try pki.issue("engine", by: "ca", server: true, names: ["IP:127.0.0.1", "DNS:localhost"])
            try pki.issue("berth", by: "ca", server: false)
            return try await body(pki)
        }
    }

    /// The message of the ``DockerError`` `operation` throws (Issue recorded when it throws none).
    private static func failure(_ operation: () async throws -> Void) async -> String {
        do {
            try await operation()
            Issue.record("the call succeeded")
            return ""
        } catch let error as DockerError {
            #expect(error.isUnreachable, "a TLS failure is no answer from the engine: \(error)")
            return error.description
        } catch {
            Issue.record("not a DockerError: \(error)")
            return "\(error)"
        }
    }

    @Test("ping succeeds with the client certificate, by IP address (verified against the IP SAN) and by DNS name")
    func pingWithClientCertificate() async throws {
        try await Self.withPKI { pki in
            let tls = try EngineTLS.load(directory: try pki.clientDirectory(ca: "ca", client: "berth"))
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let byIP = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                #expect(byIP.transport.tls != nil)
                #expect(byIP.transport.tlsServerName == nil, "an IP address is verified against the connected address, not sent as SNI")
                try await byIP.ping()
                let byName = DockerClient(address: .tcp(host: "localhost", port: stub.port), tls: tls, timeout: .seconds(10))
                #expect(byName.transport.tlsServerName == "localhost")
                try await byName.ping()
            }
        }
    }

    @Test("without a client certificate the engine refuses, and the error says so")
    func pingWithoutClientCertificate() async throws {
        try await Self.withPKI { pki in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.path("ca.pem")))
            let anonymous = EngineTLS(context: try NIOSSLContext(configuration: configuration))
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: anonymous, timeout: .seconds(10))
                let message = await Self.failure { try await docker.ping() }
                #expect(message.contains("TLS with tcp://127.0.0.1:\(stub.port) failed"), "\(message)")
                #expect(message.contains("refused the client certificate") || message.contains("may have refused the client certificate"), "\(message)")
            }
        }
    }

    @Test("a client certificate from another CA is refused, and the error says so")
    func clientCertificateFromAnotherCA() async throws {
        try await Self.withPKI { pki in
            try pki.makeCA("rogue")
            try pki.issue("intruder", by: "rogue", server: false)
            // Trusts the right CA for the server, presents a certificate the engine does not trust.
            let folder = try pki.clientDirectory(ca: "ca", client: "intruder")
            let tls = try EngineTLS.load(directory: folder)
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                let message = await Self.failure { try await docker.ping() }
                #expect(message.contains("refused the client certificate"), "\(message)")
            }
        }
    }

    @Test("an engine whose certificate another CA signed is not trusted")
    func serverCertificateFromAnotherCA() async throws {
        try await Self.withPKI { pki in
            try pki.makeCA("rogue")
            try pki.issue("impostor", by: "rogue", server: true, names: ["IP:127.0.0.1"])
            let tls = try EngineTLS.load(directory: try pki.clientDirectory(ca: "ca", client: "berth"))
            try await EngineStub.with(context: try pki.serverContext(server: "impostor", clientCA: "ca")) { stub in
                let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                let message = await Self.failure { try await docker.ping() }
                #expect(message.contains("not signed by the trusted CA"), "\(message)")
            }
        }
    }

    @Test("an engine certificate for another address is not accepted for this one")
    func serverCertificateForAnotherAddress() async throws {
        try await Self.withPKI { pki in
            try pki.issue("elsewhere", by: "ca", server: true, names: ["IP:10.255.0.7", "DNS:node7.example"])
            let tls = try EngineTLS.load(directory: try pki.clientDirectory(ca: "ca", client: "berth"))
            try await EngineStub.with(context: try pki.serverContext(server: "elsewhere", clientCA: "ca")) { stub in
                let byIP = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                let message = await Self.failure { try await byIP.ping() }
                #expect(message.contains("does not name the address"), "\(message)")
                let byName = DockerClient(address: .tcp(host: "localhost", port: stub.port), tls: tls, timeout: .seconds(10))
                #expect(await Self.failure { try await byName.ping() }.contains("does not name the address"))
            }
        }
    }

    @Test("a plain client gets no answer from a TLS engine, and a TLS client none from a plain one")
    func plainAndTLSMismatch() async throws {
        try await Self.withPKI { pki in
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let plain = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), timeout: .seconds(10))
                #expect(plain.transport.tls == nil)
                _ = await Self.failure { try await plain.ping() }
            }
            let tls = try EngineTLS.load(directory: try pki.clientDirectory(ca: "ca", client: "berth"))
            try await EngineStub.with(context: nil) { stub in
                let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                let message = await Self.failure { try await docker.ping() }
                #expect(message.contains("does not speak TLS"), "\(message)")
            }
        }
    }

    @Test("the hijacked exec stream runs over the same mutual TLS")
    func execStreamOverTLS() async throws {
        try await Self.withPKI { pki in
            let tls = try EngineTLS.load(directory: try pki.clientDirectory(ca: "ca", client: "berth"))
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let docker = DockerClient(address: .tcp(host: "127.0.0.1", port: stub.port), tls: tls, timeout: .seconds(10))
                let echoed = try await docker.withExecStream("stub-exec", initialSize: nil) { stream -> String in
                    try await stream.outbound.write(ByteBuffer(string: "typed over mTLS\n"))
                    var received = ""
                    for try await chunk in stream.inbound {
                        received += String(buffer: chunk)
                        if received.contains("\n") { break }
                    }
                    return received
                }
                #expect(echoed == "typed over mTLS\n")

                // Finishing the input half-closes the TLS session (close_notify); the engine ends
                // the stream in turn, and the stream ends cleanly, not with a TLS error.
                let drained = try await docker.withExecStream("stub-exec", initialSize: nil) { stream -> String in
                    try await stream.outbound.write(ByteBuffer(string: "last words"))
                    var received = ""
                    var chunks = stream.inbound.makeAsyncIterator()
                    while !received.hasSuffix("last words"), let chunk = try await chunks.next() {
                        received += String(buffer: chunk)
                    }
                    stream.outbound.finish()
                    while let chunk = try await chunks.next() { received += String(buffer: chunk) }
                    return received
                }
                #expect(drained == "last words")

                // Without the client certificate the stream is refused before any byte flows.
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.path("ca.pem")))
                let anonymous = DockerClient(
                    address: .tcp(host: "127.0.0.1", port: stub.port), tls: EngineTLS(context: try NIOSSLContext(configuration: configuration))
                )
                let message = await Self.failure {
                    _ = try await anonymous.withExecStream("stub-exec", initialSize: nil) { _ in "" }
                }
                #expect(message.contains("docker start exec: TLS with"), "\(message)")
            }
        }
    }

    @Test("load names the file that is missing, unreadable or invalid")
    func loadErrors() async throws {
        try await Self.withPKI { pki in
            let good = try pki.clientDirectory(ca: "ca", client: "berth")
            #expect(try EngineTLS.load(directory: good).directory == good)

            func loadError(_ directory: String) -> String {
                do {
                    _ = try EngineTLS.load(directory: directory)
                    return "loaded"
                } catch {
                    return "\(error)"
                }
            }
            let empty = pki.path("empty")
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            #expect(loadError(empty).contains("\(empty)/ca.pem does not exist"))
            #expect(loadError(pki.path("no-such-directory")).contains("ca.pem does not exist"))

            try FileManager.default.removeItem(atPath: good + "/key.pem")
            #expect(loadError(good).contains("\(good)/key.pem does not exist"))

            try "not a key".write(toFile: good + "/key.pem", atomically: true, encoding: .utf8)
            #expect(loadError(good).contains("key.pem is not an unencrypted PEM private key"))

            // Another certificate's key: the pair does not match.
            try FileManager.default.removeItem(atPath: good + "/key.pem")
            try FileManager.default.copyItem(atPath: pki.path("engine-key.pem"), toPath: good + "/key.pem")
            #expect(loadError(good).contains("key.pem cannot be used with \(good)/cert.pem"))

            try "garbage".write(toFile: good + "/cert.pem", atomically: true, encoding: .utf8)
            #expect(loadError(good).contains("cert.pem is not a PEM certificate") || loadError(good).contains("cert.pem holds no PEM certificate"))

            try FileManager.default.removeItem(atPath: good + "/ca.pem")
            try FileManager.default.createDirectory(atPath: good + "/ca.pem", withIntermediateDirectories: true)
            #expect(loadError(good).contains("ca.pem is a directory"))
        }
    }

    @Test("DOCKER_TLS_VERIFY with DOCKER_CERT_PATH makes a TCP client mutual TLS, as the docker CLI does")
    func fromEnvironment() async throws {
        try await Self.withPKI { pki in
            let folder = try pki.clientDirectory(ca: "ca", client: "berth")
            try await EngineStub.with(context: try pki.serverContext(server: "engine", clientCA: "ca")) { stub in
                let docker = try DockerClient.fromEnvironment([
                    "DOCKER_HOST": "tcp://127.0.0.1:\(stub.port)", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": folder,
                ])
                #expect(docker.transport.tls != nil)
                try await docker.ping()
            }
            #expect(try DockerClient.fromEnvironment(["DOCKER_HOST": "tcp://127.0.0.1:2376"]).transport.tls == nil)
            #expect(try DockerClient.fromEnvironment(["DOCKER_HOST": "unix:///run/x.sock", "DOCKER_TLS_VERIFY": "1"]).transport.tls == nil)
            #expect(throws: DockerError.self) {
                try DockerClient.fromEnvironment(["DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": pki.path("none")])
            }
        }
    }

    @Test("an IP address is verified against IP SANs, a name against DNS SANs and sent as SNI")
    func serverNames() throws {
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        #expect(TransportTLS(context: context, host: "10.0.0.4").serverName == nil)
        #expect(TransportTLS(context: context, host: "::1").serverName == nil)
        #expect(TransportTLS(context: context, host: "fd00::12").serverName == nil)
        #expect(TransportTLS(context: context, host: "node-1.swarm.example").serverName == "node-1.swarm.example")
    }
}
