import BerthCore
import Foundation
import Testing

@testable import BerthTerminal

@Suite("Replica grants: the signed header of the internal terminal route")
struct ReplicaGrantTests {
    static let grant = TerminalGrant(instanceID: "inst_a", userID: "usr_1", access: .read, terminal: "build", countsAsPresence: true)
    static let secret = "cluster-proxy-secret-0123456789"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func refused(_ sealed: String, secret: String = Self.secret, instanceID: String = "inst_a", now: Date = Self.now) -> Bool {
        do {
            _ = try ReplicaGrant.open(sealed, secret: secret, instanceID: instanceID, now: now)
            return false
        } catch let error as BerthError {
            return error.code == .replicaGrantInvalid
        } catch {
            return false
        }
    }

    @Test("a sealed grant opens with the same secret for its instance, every field intact")
    func roundTrip() throws {
        let sealed = try ReplicaGrant.seal(Self.grant, secret: Self.secret, now: Self.now)
        #expect(sealed.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }, "header-safe: \(sealed)")
        #expect(try ReplicaGrant.open(sealed, secret: Self.secret, instanceID: "inst_a", now: Self.now.addingTimeInterval(29)) == Self.grant)
    }

    @Test("an expired grant, one for another instance, or one sealed with another secret is replica_grant_invalid")
    func expiredOtherInstanceOtherSecret() throws {
        let sealed = try ReplicaGrant.seal(Self.grant, secret: Self.secret, now: Self.now)
        #expect(refused(sealed, now: Self.now.addingTimeInterval(ReplicaGrant.lifetimeSeconds)), "expired")
        #expect(refused(sealed, instanceID: "inst_b"), "another instance")
        #expect(refused(sealed, secret: "another-secret"), "another cluster's secret")
    }

    @Test("forgeries are refused: a changed payload, a changed or missing signature, junk")
    func forged() throws {
        let sealed = try ReplicaGrant.seal(Self.grant, secret: Self.secret, now: Self.now)
        let parts = sealed.split(separator: ".").map(String.init)
        // The same signature over an upgraded payload (write access, later expiry).
        let json = #"{"instanceID":"inst_a","userID":"usr_1","access":"write","terminal":"build","countsAsPresence":true,"expiresAt":4000000000}"#
        let upgraded = ReplicaGrant.base64URL(Data(json.utf8))
        #expect(refused(upgraded + "." + parts[1]))
        // The right payload signed by someone who guessed: a flipped hex digit, a truncated or empty signature.
        let flipped = String(parts[1].dropLast()) + (parts[1].last == "0" ? "1" : "0")
        #expect(refused(parts[0] + "." + flipped))
        #expect(refused(parts[0] + "." + parts[1].prefix(32)))
        #expect(refused(parts[0] + "."))
        #expect(refused(parts[0]))
        #expect(refused(""))
        #expect(refused("..."))
        #expect(refused(sealed + ".x"))
        // Signed correctly but not a grant.
        let notJSON = ReplicaGrant.base64URL(Data("hello".utf8))
        #expect(refused(notJSON + "." + ReplicaGrant.signature(of: notJSON, secret: Self.secret)))
        // Signed correctly with the payload valid: accepted (the signature alone decides, with expiry and instance).
        #expect(!refused(upgraded + "." + ReplicaGrant.signature(of: upgraded, secret: Self.secret)))
    }
}
