import BerthCore
import Testing

@Suite("Trusted proxies and event limits")
struct TrustedProxiesTests {
    @Test("addresses and CIDR blocks, IPv4 and IPv6, with IPv4-mapped peers")
    func membership() throws {
        let proxies = try TrustedProxies(parsing: "10.0.0.0/8, 192.168.1.5 ,fd00::/8, ::1")
        #expect(proxies.contains("10.200.3.4"))
        #expect(proxies.contains("192.168.1.5"))
        #expect(!proxies.contains("192.168.1.6"))
        #expect(!proxies.contains("11.0.0.1"))
        #expect(proxies.contains("fd12:3456::1"))
        #expect(proxies.contains("::1"))
        #expect(proxies.contains("::ffff:10.1.2.3"))
        #expect(!proxies.contains("fe80::1"))
        #expect(!proxies.contains("not-an-address"))
        #expect(try TrustedProxies(parsing: "0.0.0.0/0").contains("8.8.8.8"))
        #expect(try TrustedProxies(parsing: "172.16.0.0/12").contains("172.31.255.255"))
        #expect(try !TrustedProxies(parsing: "172.16.0.0/12").contains("172.32.0.0"))
        #expect(try TrustedProxies(parsing: " , ").isEmpty)
    }

    @Test("a bad entry is refused with a message naming it")
    func invalid() {
        for text in ["10.0.0.0/33", "proxy.example.org", "10.0.0.0/x", "::1/129", "1.2.3"] {
            #expect(throws: BerthError.self, "\(text)") { try TrustedProxies(parsing: text) }
        }
        #expect(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: ["trustedProxies": "10.0.0.0/40"], environment: [:], configFileYAML: nil)
        }
        #expect(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_TRUSTED_PROXIES": "nginx"], configFileYAML: nil)
        }
    }

    @Test("the client is the first hop from the right that no trusted proxy owns")
    func clientAddress() throws {
        let proxies = try TrustedProxies(parsing: "127.0.0.1, 10.0.0.0/8")
        // An untrusted peer's header is never read.
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["1.1.1.1"]) == "203.0.113.9")
        // A trusted peer without a header is the client itself.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.4"]) == "198.51.100.4")
        // Spoofed entries left of the real client are ignored; chained trusted proxies are skipped.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 198.51.100.4, 10.1.1.1"]) == "198.51.100.4")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6", "198.51.100.4"]) == "198.51.100.4")
        // Garbage stops the walk at the last believable hop.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.4, <script>"]) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["<script>, 10.2.2.2"]) == "10.2.2.2")
        // Ports and brackets are dropped.
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.4:5555"]) == "198.51.100.4")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["[2001:db8::7]:443"]) == "2001:db8::7")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["2001:db8::7"]) == "2001:db8::7")
    }

    @Test("limits read as COUNT/DURATION")
    func limits() throws {
        #expect(EventLimit(parsing: "5/5m") == EventLimit(count: 5, windowSeconds: 300))
        #expect(EventLimit(parsing: " 100 / 1h ") == EventLimit(count: 100, windowSeconds: 3600))
        for bad in ["5", "0/5m", "-1/5m", "5/0s", "5/2d", "x/5m", "5/5m/1"] {
            #expect(EventLimit(parsing: bad) == nil, "\(bad)")
        }
        let configuration = try BerthConfiguration.resolve(
            flags: [:], environment: ["BERTH_SIGN_IN_LIMIT": "3/10m", "BERTH_SIGN_IN_ADDRESS_LIMIT": "50/5m"], configFileYAML: nil)
        #expect(configuration.signInLimit == EventLimit(count: 3, windowSeconds: 600))
        #expect(configuration.signInAddressLimit == EventLimit(count: 50, windowSeconds: 300))
        #expect(configuration.registrationLimit == EventLimit(count: 100, windowSeconds: 3600))
    }
}
