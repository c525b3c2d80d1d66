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
}
