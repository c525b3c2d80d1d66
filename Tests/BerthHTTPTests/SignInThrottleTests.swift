import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Sign-in throttling for a classroom behind one NAT address, and client addresses behind a
/// trusted reverse proxy.
@Suite("Sign-in throttling and trusted proxies")
struct SignInThrottleTests {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Signs `name` in from the client address `from` (sent as `X-Forwarded-For` through the
    /// loopback proxy the harness trusts); returns the status.
    static func login(_ client: any TestClientProtocol, _ name: String, _ password: String, from address: String?) async throws -> (status: Int, code: String?) {
        // A fresh browser each time: its CSRF cookie and token, then the sign-in.
        var browser = Browser(client)
        _ = try await browser.session()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cookie] = browser.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        if let csrf = browser.csrf { headers[Browser.csrfHeader] = csrf }
        if let address { headers[forwardedFor] = address }
        let body = #"{"name":"\#(name)","password":"\#(password)"}"#
        let response = try await client.execute(uri: "/api/v1/auth/login", method: .post, headers: headers, body: ByteBuffer(string: body))
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
        return (Int(response.status.code), (object?["error"] as? [String: Any])?["code"] as? String)
    }

    static func register(_ harness: APIHarness, _ names: [String]) async throws {
        for name in names { _ = try await harness.services.accounts.register(name: name, password: "sturdy-Lantern-42") }
    }

    @Test("one player's typos lock out only that player at that address; classmates behind the same address sign in")
    func perAccountAndAddress() async throws {
        try await APIHarness.with(policy: { $0.trustedProxies = try! TrustedProxies(parsing: "127.0.0.1, ::1") }) { harness in
            try await Self.register(harness, ["ann", "ben"])
            try await harness.application.test(.live) { client in
                for _ in 0..<5 {
                    #expect(try await Self.login(client, "ann", "typo-typo-typo", from: "203.0.113.7").status == 401)
                }
                let locked = try await Self.login(client, "ann", "sturdy-Lantern-42", from: "203.0.113.7")
                #expect(locked.status == 429)
                #expect(locked.code == "too_many_attempts")
                // Ben shares the venue's address and is not affected.
                #expect(try await Self.login(client, "ben", "sturdy-Lantern-42", from: "203.0.113.7").status == 200)
                // Ann from her phone's address is not locked out either.
                #expect(try await Self.login(client, "ann", "sturdy-Lantern-42", from: "198.51.100.20").status == 200)
            }
        }
    }

    @Test("an address alone is throttled only at its own, higher limit, and other addresses are not")
    func perAddress() async throws {
        try await APIHarness.with(policy: {
            $0.trustedProxies = try! TrustedProxies(parsing: "127.0.0.0/8, ::1")
            $0.signInAddressLimit = EventLimit(count: 12, windowSeconds: 300)
        }) { harness in
            try await Self.register(harness, ["cat"])
            try await harness.application.test(.live) { client in
                // Twelve guesses at twelve names from one address: each account is far below its limit.
                for index in 0..<12 {
                    #expect(try await Self.login(client, "guess\(index)", "wrong-wrong-wrong", from: "192.0.2.50").status == 401)
                }
                let blocked = try await Self.login(client, "cat", "sturdy-Lantern-42", from: "192.0.2.50")
                #expect(blocked.status == 429)
                #expect(blocked.code == "too_many_attempts")
                #expect(try await Self.login(client, "cat", "sturdy-Lantern-42", from: "192.0.2.51").status == 200)
            }
        }
    }

    @Test("X-Forwarded-For is ignored unless the peer is a trusted proxy, and a client cannot spoof hops")
    func forwardedForTrust() async throws {
        try await APIHarness.with { harness in
            try await Self.register(harness, ["dan"])
            try await harness.application.test(.live) { client in
                // No trusted proxies: a changing header does not give new addresses, so the lock holds.
                for index in 0..<5 {
                    #expect(try await Self.login(client, "dan", "wrong-wrong-wrong", from: "10.9.9.\(index)").status == 401)
                }
                #expect(try await Self.login(client, "dan", "sturdy-Lantern-42", from: "10.9.9.99").status == 429)
                let audit = try await client.call(.get, "/api/v1/audit?action=login", token: APIHarness.adminToken)
                let addresses = Set(((audit.body["items"] as? [[String: Any]]) ?? []).compactMap { $0["clientIp"] as? String })
                #expect(!addresses.isEmpty && addresses.allSatisfy { !$0.hasPrefix("10.9.9.") }, "\(addresses)")
            }
        }
        try await APIHarness.with(policy: { $0.trustedProxies = try! TrustedProxies(parsing: "127.0.0.1, ::1") }) { harness in
            try await harness.application.test(.live) { client in
                // The proxy appends the real peer; whatever the client wrote to the left is not believed.
                _ = try await Self.login(client, "nobody", "wrong-wrong-wrong", from: "6.6.6.6, 192.0.2.77")
                let audit = try await client.call(.get, "/api/v1/audit?action=login", token: APIHarness.adminToken)
                let addresses = ((audit.body["items"] as? [[String: Any]]) ?? []).compactMap { $0["clientIp"] as? String }
                #expect(addresses.contains("192.0.2.77"), "\(addresses)")
                #expect(!addresses.contains("6.6.6.6"))
            }
        }
    }
}
