import BerthCore
import Crypto
import Foundation

/// A terminal grant one replica hands another when it proxies a client's terminal to the replica
/// that holds the PTY: the ticket's grant and an expiry, signed with HMAC-SHA256 under the
/// cluster's proxy secret, sent in the `Berth-Replica-Grant` header of the internal WebSocket.
///
/// The text is `base64url(JSON)` + `.` + lowercase hex HMAC of the base64url part. Sealing and
/// opening do no I/O; the caller reads the secret from the store.
public enum ReplicaGrant {
    /// How long a sealed grant is accepted: long enough to connect, too short to be replayed later.
    public static let lifetimeSeconds: Double = 30

    private struct Payload: Codable {
        var instanceID: String
        var userID: String
        var access: TerminalAccess
        var terminal: String
        var countsAsPresence: Bool
        /// Epoch seconds.
        var expiresAt: Double
    }

    /// Seals `grant` under `secret`, valid until ``lifetimeSeconds`` after `now`.
    public static func seal(_ grant: TerminalGrant, secret: String, now: Date) throws -> String {
        let payload = Payload(
            instanceID: grant.instanceID, userID: grant.userID, access: grant.access, terminal: grant.terminal,
            countsAsPresence: grant.countsAsPresence, expiresAt: now.timeIntervalSince1970 + lifetimeSeconds
        )
        let encoded = base64URL(try JSONEncoder().encode(payload))
        return encoded + "." + signature(of: encoded, secret: secret)
    }

    /// The grant `sealed` carries when its signature is right under `secret`, it has not expired at
    /// `now` and it is for `instanceID`; otherwise `replica_grant_invalid` (the reason is not told:
    /// the caller is another replica, or someone forging one).
    public static func open(_ sealed: String, secret: String, instanceID: String, now: Date) throws -> TerminalGrant {
        let parts = sealed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, Secrets.constantTimeEquals(String(parts[1]), signature(of: String(parts[0]), secret: secret)),
              let json = data(base64URL: String(parts[0])),
              let payload = try? JSONDecoder().decode(Payload.self, from: json),
              payload.expiresAt > now.timeIntervalSince1970, payload.instanceID == instanceID
        else {
            throw invalid
        }
        return TerminalGrant(
            instanceID: payload.instanceID, userID: payload.userID, access: payload.access, terminal: payload.terminal,
            countsAsPresence: payload.countsAsPresence
        )
    }

    /// The refusal of a missing, forged, expired or misdirected grant.
    public static var invalid: BerthError {
        BerthError(.replicaGrantInvalid, "This internal route needs a valid, unexpired replica grant for this instance.")
    }

    static func signature(of text: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
