import Crypto
import Foundation

/// Random secrets and their hashes: tokens, tickets and share links are shown once and kept only
/// as SHA-256 hashes.
public enum Secrets {
    /// `byteCount` random bytes as unpadded base64url text.
    public static func randomBase64URL(byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The lowercase hex SHA-256 of `secret`'s UTF-8 bytes.
    public static func sha256Hex(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `given` equals the configured secret `expected`, comparing every byte without
    /// stopping at the first difference, so the time taken does not tell a guesser how much of
    /// the secret they got right (only, at most, its length).
    public static func constantTimeEquals(_ given: String, _ expected: String) -> Bool {
        let left = Array(given.utf8)
        let right = Array(expected.utf8)
        var difference: UInt8 = left.count == right.count ? 0 : 1
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}
