@preconcurrency import Crypto
import Foundation

/// The tamper-evidence format of a recording's sidecar chain file (`<name>.cast.chain`).
///
/// The `.cast` file is cut into segments: segment 0 is the header line, and every later segment
/// is the bytes one flush appended. The chain file has one JSON line per segment, then a final
/// line when the recording was closed:
///
/// ```
/// {"segment":n,"offset":o,"length":l,"sha256":"<hex>","chain":"<hex>","signature":"<base64>"}
/// {"final":true,"segments":n,"bytes":b,"chain":"<hex>","signature":"<base64>","publicKey":"<base64>"}
/// ```
///
/// - `sha256` is SHA-256 of the segment's bytes, `.cast` bytes `offset..<offset+length`.
/// - `chain` is `SHA-256(previous chain || sha256)` over the 32 raw bytes of each; before segment
///   0 the previous chain is `SHA-256("berth-recording-v1")`, so recording chains never match
///   chains of other formats signed with the same key.
/// - A segment's `signature` is Ed25519 over the ASCII bytes of its `chain` hex string.
/// - The final `signature` is Ed25519 over the ASCII bytes of
///   `berth-recording-final:<chain hex>:<segments>:<bytes>`, so it cannot be copied from a segment
///   to fake an end. `publicKey` is informational only: verifiers use a key they already trust.
///
/// Every segment is signed, so after a crash everything up to the last flush still verifies; only
/// the final record tells a complete recording from one that was cut short.
public enum RecordingChain {
    /// The tag hashed into the start of every chain; it versions the format.
    public static let genesisTag = "berth-recording-v1"
    /// The prefix of the message the final record signs.
    public static let finalTag = "berth-recording-final"

    /// The chain file that belongs to a `.cast` file: the same path with `.chain` appended.
    public static func chainURL(for castURL: URL) -> URL {
        castURL.deletingLastPathComponent().appendingPathComponent(castURL.lastPathComponent + ".chain")
    }

    /// The chain value before segment 0.
    static let genesis: [UInt8] = sha256(Array(genesisTag.utf8))

    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: some DataProtocol) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// The chain value after a segment with digest `segmentDigest`.
    static func link(previous: [UInt8], segmentDigest: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: segmentDigest)
        return Array(hasher.finalize())
    }

    /// The bytes a segment record's signature covers.
    static func segmentMessage(chainHex: String) -> [UInt8] {
        Array(chainHex.utf8)
    }

    /// The bytes the final record's signature covers.
    static func finalMessage(chainHex: String, segments: Int, bytes: Int) -> [UInt8] {
        Array("\(finalTag):\(chainHex):\(segments):\(bytes)".utf8)
    }

    /// Lower-case hexadecimal.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The writer's side of the chain: seals segments in order and produces their record lines.
///
/// A plain value with no I/O, so the format can be tested without files.
struct ChainSealer: Sendable {
    /// Segments sealed so far.
    private(set) var segments = 0
    /// Bytes covered by the sealed segments, which is where the next segment starts.
    private(set) var bytes = 0
    /// The chain value after the last sealed segment.
    private(set) var chain = RecordingChain.genesis

    /// Seals `segment` as the next segment and returns its chain-file line.
    mutating func seal(_ segment: [UInt8], signer: RecordingSigner) throws -> [UInt8] {
        let digest = RecordingChain.sha256(segment)
        let next = RecordingChain.link(previous: chain, segmentDigest: digest)
        let chainHex = RecordingChain.hex(next)
        let signature = try signer.sign(RecordingChain.segmentMessage(chainHex: chainHex))
        let line =
            #"{"segment":\#(segments),"offset":\#(bytes),"length":\#(segment.count),"sha256":"\#(RecordingChain.hex(digest))","#
            + #""chain":"\#(chainHex)","signature":"\#(signature.base64EncodedString())"}"# + "\n"
        segments += 1
        bytes += segment.count
        chain = next
        return Array(line.utf8)
    }

    /// The final chain-file line for the segments sealed so far.
    func finalRecord(signer: RecordingSigner) throws -> [UInt8] {
        let chainHex = RecordingChain.hex(chain)
        let signature = try signer.sign(RecordingChain.finalMessage(chainHex: chainHex, segments: segments, bytes: bytes))
        let line =
            #"{"final":true,"segments":\#(segments),"bytes":\#(bytes),"chain":"\#(chainHex)","#
            + #""signature":"\#(signature.base64EncodedString())","publicKey":"\#(signer.publicKeyBase64)"}"# + "\n"
        return Array(line.utf8)
    }
}

/// One line of a chain file as read back: a segment record or the final record.
struct ChainRecord: Decodable, Sendable {
    var segment: Int?
    var offset: Int?
    var length: Int?
    var sha256: String?
    var chain: String?
    var signature: String?
    var final: Bool?
    var segments: Int?
    var bytes: Int?
    var publicKey: String?
}
