import Crypto
import Foundation

/// An access key for S3-compatible storage. Its description never shows the secret.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The access key id (`AKIA…` on AWS), sent in every request.
    public var accessKeyID: String
    /// The secret, used only to derive signing keys; never sent, never logged.
    public var secretAccessKey: String
    /// A session token for temporary credentials (sent as `x-amz-security-token`), if any.
    public var sessionToken: String?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "S3Credentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "secretAccessKey": "<redacted>"], displayStyle: .struct)
    }
}

/// AWS Signature Version 4 as S3 checks it (header-based authentication): the canonical request
/// (method, the path as sent, the sorted RFC 3986-encoded query, the lower-cased sorted headers,
/// the signed header names, the payload's SHA-256), the string to sign, the signing key derived
/// from the secret by date, region and service, and the `Authorization` header.
///
/// The caller gives the real SHA-256 of the body (S3Client hashes a file before it streams it), so
/// the body is signed too; ``unsignedPayload`` exists for callers that cannot hash first.
public struct SigV4Signer: Sendable {
    /// The payload hash of a request whose body is not signed.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The credentials.
    public let credentials: S3Credentials
    /// The region, e.g. `us-east-1` (MinIO and moto accept any; AWS wants the bucket's).
    public let region: String
    /// The service name in the credential scope: `s3`.
    public let service: String

    /// Creates a signer.
    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to send with a request: `headers` (which must include `host` exactly as sent)
    /// plus `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` with a session token, and
    /// `Authorization`. Every header given is signed.
    ///
    /// - Parameters:
    ///   - encodedPath: the request path as sent, already percent-encoded (``encodePath(_:)``).
    ///   - query: the query's names and values, not encoded (they are encoded here, and must be
    ///     sent encoded the same way: ``canonicalQuery(_:)``).
    public func sign(
        method: String, encodedPath: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String, date: Date
    ) -> [(String, String)] {
        let timestamp = Self.timestamp(date)
        var all = headers
        all.append(("x-amz-date", timestamp))
        all.append(("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        let (canonical, signedHeaders) = canonicalRequest(
            method: method, encodedPath: encodedPath, query: query, headers: all, payloadHash: payloadHash
        )
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope)\n\(Self.hex(SHA256.hash(data: Data(canonical.utf8))))"
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: String(timestamp.prefix(8)))))
        all.append((
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return all
    }

    /// The canonical request and the signed header names (`host;x-amz-date;…`).
    func canonicalRequest(
        method: String, encodedPath: String, query: [(String, String)], headers: [(String, String)], payloadHash: String
    ) -> (String, String) {
        // Lower-cased names, values trimmed with inner runs of spaces made one; repeated names joined by commas.
        var byName: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            byName[name.lowercased(), default: []].append(trimmed)
        }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0, default: []].joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let path = encodedPath.isEmpty ? "/" : encodedPath
        let request = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (request, signedHeaders)
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    /// The query as signed and sent: each name and value RFC 3986-encoded, pairs sorted by name
    /// then value, joined by `&`.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in (name: encode(pair.0), value: encode(pair.1)) }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// A path with each segment RFC 3986-encoded once and `/` kept (S3 does not normalise paths:
    /// empty segments and dots stay as they are).
    public static func encodePath(_ path: String) -> String {
        encode(path, keeping: "/")
    }

    /// RFC 3986 encoding: every byte of the UTF-8 form except `A-Z a-z 0-9 - _ . ~` (and `keeping`)
    /// becomes `%XX` with upper-case hex digits.
    public static func encode(_ text: String, keeping: Character? = nil) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let kept = keeping.flatMap { $0.asciiValue }
        for byte in text.utf8 {
            if isUnreserved(byte) || byte == kept {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// `A-Z a-z 0-9 - _ . ~`.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        let letter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        let digit = byte >= 0x30 && byte <= 0x39
        return letter || digit || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0,
            parts.second ?? 0
        )
    }

    /// Lower-case hex of a digest or MAC.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

extension SigV4Signer {
    /// The lower-case hex SHA-256 of `data`.
    public static func sha256Hex(_ data: Data) -> String {
        hex(SHA256.hash(data: data))
    }
}
