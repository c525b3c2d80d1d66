import Foundation
import HTTPTransport
import NIOSSL

/// Mutual TLS to Docker engines that listen on TCP with `--tlsverify`: the CA that signed the
/// engines' certificates, and the client certificate and key Berth presents to them.
///
/// The files follow Docker's `DOCKER_CERT_PATH` convention: `ca.pem`, `cert.pem` and `key.pem` in
/// one directory. The TLS context is built once (parsing keys is slow) and shared by every
/// connection to every engine; each connection verifies the engine's certificate against the CA
/// only (never the system's roots) and against the address connected to.
public struct EngineTLS: Sendable {
    /// The directory the files were read from.
    public let directory: String
    /// The client context: trust roots = the CA, the client chain and key, full verification.
    public let context: NIOSSLContext

    /// The CA certificate(s) the engines' certificates must be signed by.
    public static let caFile = "ca.pem"
    /// The client certificate (chain) Berth presents.
    public static let certificateFile = "cert.pem"
    /// The client certificate's private key (unencrypted PEM).
    public static let keyFile = "key.pem"

    /// Wraps a context built elsewhere (tests, or callers with their own configuration).
    public init(context: NIOSSLContext, directory: String = "") {
        self.context = context
        self.directory = directory
    }

    /// Reads `ca.pem`, `cert.pem` and `key.pem` from `directory` and builds the client context;
    /// fails with an ``EngineTLSError`` naming the file that is missing, unreadable or invalid.
    public static func load(directory: String) throws -> EngineTLS {
        let ca = try certificates(in: directory, file: caFile)
        let chain = try certificates(in: directory, file: certificateFile)
        let keyPath = path(directory, keyFile)
        let keyBytes = try read(keyPath)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw EngineTLSError(path: keyPath, problem: "is not an unencrypted PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(ca)
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        configuration.certificateVerification = .fullVerification
        do {
            return EngineTLS(context: try NIOSSLContext(configuration: configuration), directory: directory)
        } catch {
            throw EngineTLSError(
                path: keyPath, problem: "cannot be used with \(path(directory, certificateFile)): is it the key of that certificate? (\(error))"
            )
        }
    }

    /// The transport's TLS for an engine reached at `host`: a DNS name is checked against the
    /// certificate's DNS names, an IP address (a Swarm node's `Status.Addr`) against its IP
    /// addresses.
    public func transportTLS(host: String) -> TransportTLS {
        TransportTLS(context: context, host: host)
    }

    private static func certificates(in directory: String, file: String) throws -> [NIOSSLCertificate] {
        let location = path(directory, file)
        let bytes = try read(location)
        let parsed: [NIOSSLCertificate]
        do {
            parsed = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw EngineTLSError(path: location, problem: "is not a PEM certificate (\(error))")
        }
        guard !parsed.isEmpty else { throw EngineTLSError(path: location, problem: "holds no PEM certificate") }
        return parsed
    }

    private static func read(_ location: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory) else {
            throw EngineTLSError(path: location, problem: "does not exist")
        }
        guard !isDirectory.boolValue else { throw EngineTLSError(path: location, problem: "is a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: location) else {
            throw EngineTLSError(path: location, problem: "cannot be read (check its permissions)")
        }
        return [UInt8](data)
    }

    private static func path(_ directory: String, _ file: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(file).path
    }
}

/// A TLS file for the engines that is missing, unreadable or invalid.
public struct EngineTLSError: Error, Sendable, CustomStringConvertible {
    /// The file concerned.
    public var path: String
    /// What is wrong with it.
    public var problem: String

    /// Creates an error.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        "engine TLS file \(path) \(problem) (the directory must hold ca.pem, cert.pem and key.pem, as Docker's DOCKER_CERT_PATH does)"
    }
}
