import Crypto
import Foundation
import HTTPTransport
import NIOCore
import NIOHTTP1

/// Where and as whom an ``S3Client`` talks to S3-compatible storage.
public struct S3Configuration: Sendable, CustomStringConvertible {
    /// `http://host:port` or `https://host[:port]`, without a path (path-style URLs are used:
    /// `<endpoint>/<bucket>/<key>`).
    public var endpoint: String
    /// The bucket.
    public var bucket: String
    /// The region the requests are signed for.
    public var region: String
    /// The access key.
    public var credentials: S3Credentials
    /// The limit of a request without a large body (HEAD, DELETE, bucket calls, the start of a GET).
    public var requestTimeout: TimeAmount
    /// The slowest transfer rate tolerated, in bytes per second: a transfer of `n` bytes may last
    /// `requestTimeout + n / minimumRate`.
    public var minimumRate: Int64

    /// Creates a configuration.
    public init(
        endpoint: String, bucket: String, region: String = "us-east-1", credentials: S3Credentials,
        requestTimeout: TimeAmount = .seconds(30), minimumRate: Int64 = 1 << 20
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
        self.requestTimeout = requestTimeout
        self.minimumRate = minimumRate
    }

    public var description: String { "\(endpoint)/\(bucket) (\(region), \(credentials))" }
}

/// What S3 says about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    /// Its size in bytes.
    public var size: Int64
    /// Its ETag, quotes removed.
    public var etag: String?
    /// Its user metadata (`x-amz-meta-NAME` headers), names lower-cased and without the prefix.
    public var metadata: [String: String]

    /// Creates an info.
    public init(size: Int64, etag: String?, metadata: [String: String]) {
        self.size = size
        self.etag = etag
        self.metadata = metadata
    }
}

/// A failure talking to object storage, with words an admin can act on.
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The endpoint setting is not a usable URL.
    case invalidEndpoint(String)
    /// S3 answered with an error status: its `<Code>` (or the status' name when there was no
    /// body, as for HEAD) and `<Message>`.
    case service(status: Int, code: String, message: String)
    /// Nothing answered at the endpoint (refused, unresolvable, unroutable).
    case unreachable(endpoint: String, reason: String)
    /// The endpoint accepted but did not answer in time.
    case timedOut(endpoint: String, reason: String)
    /// The connection broke or the answer made no sense.
    case transport(endpoint: String, reason: String)
    /// A local file could not be read or written.
    case localFile(path: String, reason: String)

    /// A stable code: S3's own (`NoSuchKey`, `SignatureDoesNotMatch`, …) or one of
    /// `invalid_endpoint`, `unreachable`, `timed_out`, `transport`, `local_file`.
    public var code: String {
        switch self {
        case .invalidEndpoint: "invalid_endpoint"
        case .service(_, let code, _): code
        case .unreachable: "unreachable"
        case .timedOut: "timed_out"
        case .transport: "transport"
        case .localFile: "local_file"
        }
    }

    public var description: String {
        switch self {
        case .invalidEndpoint(let endpoint):
            "'\(endpoint)' is not an http:// or https:// URL of an S3-compatible endpoint (host and optional port, no path)"
        case .service(let status, let code, let message):
            switch code {
            case "SignatureDoesNotMatch":
                "object storage refused the signature (HTTP \(status) \(code)): check BERTH_S3_SECRET_ACCESS_KEY and BERTH_S3_REGION"
            case "InvalidAccessKeyId":
                "object storage does not know the access key (HTTP \(status) \(code)): check BERTH_S3_ACCESS_KEY_ID"
            case "AccessDenied":
                "object storage denied access (HTTP \(status) \(code)): give the access key s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket"
            case "NoSuchBucket":
                "the bucket does not exist (HTTP \(status) \(code)): create it or fix BERTH_S3_BUCKET"
            default:
                "object storage answered HTTP \(status) \(code)\(message.isEmpty ? "" : ": \(message)")"
            }
        case .unreachable(let endpoint, let reason): "object storage at \(endpoint) is unreachable: \(reason)"
        case .timedOut(let endpoint, let reason): "object storage at \(endpoint) did not answer in time: \(reason)"
        case .transport(let endpoint, let reason): "the exchange with object storage at \(endpoint) failed: \(reason)"
        case .localFile(let path, let reason): "cannot use the local file \(path): \(reason)"
        }
    }

    /// True when retrying later may succeed without anyone changing a setting (the store was
    /// down, slow, or answered 5xx / throttled).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .timedOut, .transport: true
        case .service(let status, let code, _): status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout"
        case .invalidEndpoint, .localFile: false
        }
    }
}

/// A complete small answer of S3 (an error document, an empty body).
struct Answer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer

    var bodyText: String { String(decoding: body.readableBytesView, as: UTF8.self) }
}

/// A small S3 client (no SDK): PutObject from a file, GetObject to a file (both streamed),
/// HeadObject, DeleteObject and CreateBucket, with path-style URLs and SigV4 signed requests
/// (the body's real SHA-256 included). One connection per request, over HTTPTransport.
public struct S3Client: Sendable {
    /// The configuration (its description hides the secret).
    public let configuration: S3Configuration
    let transport: HTTPTransport
    let signer: SigV4Signer
    let clock: @Sendable () -> Date
    /// Bytes read from a file and sent in one piece.
    static let chunkSize = 1 << 20

    /// Creates a client; throws ``S3Error/invalidEndpoint(_:)`` for an unusable endpoint.
    public init(_ configuration: S3Configuration, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let endpoint = configuration.endpoint.hasSuffix("/") ? String(configuration.endpoint.dropLast()) : configuration.endpoint
        let afterScheme = endpoint.split(separator: "/", omittingEmptySubsequences: false).dropFirst(3)
        guard afterScheme.isEmpty else { throw S3Error.invalidEndpoint(configuration.endpoint) }
        do {
            transport = try HTTPTransport(webURL: endpoint, connectTimeout: min(configuration.requestTimeout, .seconds(10)))
        } catch {
            throw S3Error.invalidEndpoint(configuration.endpoint)
        }
        var configuration = configuration
        configuration.endpoint = endpoint
        self.configuration = configuration
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.clock = clock
    }

    /// The path of an object (or of the bucket, for an empty key), percent-encoded.
    func path(key: String) -> String {
        "/" + SigV4Signer.encode(configuration.bucket) + (key.isEmpty ? "" : "/" + SigV4Signer.encodePath(key))
    }

    // MARK: Operations

    /// Creates the bucket (for tests and first runs); a bucket this key already owns is fine.
    public func createBucket() async throws {
        var body: ByteBuffer?
        if configuration.region != "us-east-1" {
            body = ByteBuffer(
                string: "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>"
            )
        }
        let response = try await send(method: .PUT, key: "", body: body)
        if response.status == 409, Self.errorCode(response.bodyText) == "BucketAlreadyOwnedByYou" { return }
        try Self.check(response)
    }

    /// Uploads `file` as `key` with user metadata (`x-amz-meta-NAME`), streamed, its SHA-256
    /// signed. Returns what S3 stored.
    @discardableResult
    public func putObject(key: String, fromFile file: URL, metadata: [String: String] = [:], contentType: String = "application/octet-stream")
        async throws -> S3ObjectInfo
    {
        let (size, hash) = try Self.sizeAndHash(of: file)
        var headers: [(String, String)] = [("content-type", contentType)]
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-\(name.lowercased())", value)) }
        let path = path(key: key)
        let signed = signer.sign(
            method: "PUT", encodedPath: path, headers: [("host", transport.hostHeader)] + headers, payloadHash: hash, date: clock()
        ).filter { $0.0 != "host" }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: file) } catch { throw S3Error.localFile(path: file.path, reason: "\(error)") }
        defer { try? handle.close() }
        let response = try await mapped {
            try await transport.stream(
                method: .PUT, path: path, headers: signed, bodyLength: size,
                writeBody: { writer in
                    while writer.remaining > 0 {
                        let data: Data
                        do { data = try handle.read(upToCount: Int(min(Int64(Self.chunkSize), writer.remaining))) ?? Data() } catch {
                            throw S3Error.localFile(path: file.path, reason: "\(error)")
                        }
                        guard !data.isEmpty else { throw S3Error.localFile(path: file.path, reason: "it became shorter while it was uploaded") }
                        try await writer.write(ByteBuffer(bytes: data))
                    }
                },
                timeout: transferTimeout(size)
            ) { head, reader in
                try await Self.collect(head, &reader)
            }
        }
        try Self.check(response)
        return S3ObjectInfo(size: size, etag: Self.etag(response.headers), metadata: metadata)
    }

    /// Downloads `key` into `file` (created or replaced), streamed. Returns what S3 says of it;
    /// throws ``S3Error/service(status:code:message:)`` with `NoSuchKey` when there is none.
    @discardableResult
    public func getObject(key: String, toFile file: URL) async throws -> S3ObjectInfo {
        guard let info = try await headObject(key: key) else {
            throw S3Error.service(status: 404, code: "NoSuchKey", message: "the object \(key) does not exist")
        }
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = try? FileHandle(forWritingTo: file) else {
            throw S3Error.localFile(path: file.path, reason: "cannot create it")
        }
        defer { try? handle.close() }
        let path = path(key: key)
        let signed = signedHeaders(method: "GET", path: path, payloadHash: SigV4Signer.emptyPayloadHash)
        let result: (Answer, S3ObjectInfo?) = try await mapped {
            try await transport.stream(method: .GET, path: path, headers: signed, timeout: transferTimeout(info.size)) { head, reader in
                guard head.status == 200 else { return (try await Self.collect(head, &reader), nil) }
                var written: Int64 = 0
                while let chunk = try await reader.next() {
                    do { try chunk.withUnsafeReadableBytes { try handle.write(contentsOf: $0) } } catch {
                        throw S3Error.localFile(path: file.path, reason: "\(error)")
                    }
                    written += Int64(chunk.readableBytes)
                }
                let declared = head.headers.first(name: "content-length").flatMap { Int64($0) }
                if let declared, declared != written {
                    throw S3Error.transport(endpoint: configuration.endpoint, reason: "the download ended after \(written) of \(declared) bytes")
                }
                return (
                    Answer(status: head.status, headers: head.headers, body: ByteBuffer()),
                    S3ObjectInfo(size: written, etag: Self.etag(head.headers), metadata: Self.metadata(head.headers))
                )
            }
        }
        try Self.check(result.0)
        guard let downloaded = result.1 else { throw S3Error.transport(endpoint: configuration.endpoint, reason: "no object in the answer") }
        return downloaded
    }

    /// What S3 says of `key`, or nil when there is no such object.
    public func headObject(key: String) async throws -> S3ObjectInfo? {
        let response = try await send(method: .HEAD, key: key)
        if response.status == 404 { return nil }
        try Self.check(response)
        let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? 0
        return S3ObjectInfo(size: size, etag: Self.etag(response.headers), metadata: Self.metadata(response.headers))
    }

    /// Deletes `key`; an object already gone is fine.
    public func deleteObject(key: String) async throws {
        let response = try await send(method: .DELETE, key: key)
        if response.status == 404 { return }
        try Self.check(response)
    }

    // MARK: Plumbing

    func signedHeaders(method: String, path: String, payloadHash: String) -> [(String, String)] {
        signer.sign(method: method, encodedPath: path, headers: [("host", transport.hostHeader)], payloadHash: payloadHash, date: clock())
            .filter { $0.0 != "host" }
    }

    /// A request with a small buffered body (or none).
    func send(method: HTTPMethod, key: String, body: ByteBuffer? = nil) async throws -> Answer {
        let path = path(key: key)
        let hash = body.map { SigV4Signer.hex(SHA256.hash(data: Data($0.readableBytesView))) } ?? SigV4Signer.emptyPayloadHash
        let headers = signedHeaders(method: method.rawValue, path: path, payloadHash: hash)
        return try await mapped {
            try await transport.stream(method: method, path: path, headers: headers, body: body, timeout: configuration.requestTimeout) { head, reader in
                try await Self.collect(head, &reader)
            }
        }
    }

    /// The limit of a transfer of `bytes`.
    func transferTimeout(_ bytes: Int64) -> TimeAmount {
        configuration.requestTimeout + .seconds(bytes / max(configuration.minimumRate, 1))
    }

    /// Runs a request, turning transport failures into ``S3Error``.
    func mapped<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as S3Error {
            throw error
        } catch let error as TransportError {
            switch error {
            case .connectFailed(_, let reason): throw S3Error.unreachable(endpoint: configuration.endpoint, reason: reason)
            case .timedOut: throw S3Error.timedOut(endpoint: configuration.endpoint, reason: error.description)
            case .invalidAddress: throw S3Error.invalidEndpoint(configuration.endpoint)
            default: throw S3Error.transport(endpoint: configuration.endpoint, reason: error.description)
            }
        } catch {
            throw S3Error.transport(endpoint: configuration.endpoint, reason: "\(error)")
        }
    }

    /// Reads a small answer (an error document or an empty body), up to 1 MiB.
    static func collect(_ head: TransportResponseHead, _ reader: inout TransportBodyReader) async throws -> Answer {
        var body = ByteBuffer()
        while var chunk = try await reader.next() {
            guard body.readableBytes < 1 << 20 else { continue }
            body.writeBuffer(&chunk)
        }
        return Answer(status: head.status, headers: head.headers, body: body)
    }

    /// Throws the error S3 answered with, if it did.
    static func check(_ response: Answer) throws {
        guard !(200..<300).contains(response.status) else { return }
        let text = response.bodyText
        let code = errorCode(text) ?? statusCode(response.status)
        let message = element("Message", in: text) ?? ""
        throw S3Error.service(status: response.status, code: code, message: message)
    }

    /// The `<Code>` of an S3 error document.
    static func errorCode(_ xml: String) -> String? { element("Code", in: xml) }

    /// The text of the first `<name>…</name>` in `xml`, entities decoded.
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// S3's code for an error status without a body (HEAD answers carry none).
    static func statusCode(_ status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 429: "SlowDown"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        default: "HTTP\(status)"
        }
    }

    static func etag(_ headers: HTTPHeaders) -> String? {
        headers.first(name: "etag").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    }

    static func metadata(_ headers: HTTPHeaders) -> [String: String] {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return metadata
    }

    /// A file's size and the hex SHA-256 of its bytes, read in pieces.
    static func sizeAndHash(of file: URL) throws -> (Int64, String) {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: file) } catch { throw S3Error.localFile(path: file.path, reason: "\(error)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
                hasher.update(data: data)
                size += Int64(data.count)
            }
        } catch {
            throw S3Error.localFile(path: file.path, reason: "\(error)")
        }
        return (size, SigV4Signer.hex(hasher.finalize()))
    }
}
