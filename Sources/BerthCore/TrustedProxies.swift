import Foundation

/// The reverse proxies whose `X-Forwarded-For` Berth believes (`BERTH_TRUSTED_PROXIES`).
///
/// Behind a proxy every request comes from the proxy's address, so address-keyed limits would hit a
/// whole event at once. The header is read only when the peer is one of these proxies, from the
/// right: each hop a trusted proxy added is skipped, and the first address no trusted proxy owns is
/// the client. Anything a client wrote further left is never believed.
public struct TrustedProxies: Sendable, Equatable {
    /// One address block, as network bytes and a prefix length.
    struct Block: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefix
            for (mine, theirs) in zip(bytes, address) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if mine & mask != theirs & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let blocks: [Block]

    /// No proxy is trusted: the peer address is always the client.
    public static let none = TrustedProxies(blocks: [])

    init(blocks: [Block]) {
        self.blocks = blocks
    }

    /// Parses comma-separated addresses and CIDR blocks, e.g. `127.0.0.1, 10.0.0.0/8, ::1`.
    /// Throws a message naming the entry that is neither.
    public init(parsing text: String) throws {
        var blocks: [Block] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.addressBytes(parts[0]) else {
                throw BerthError(.invalidConfig, "'\(entry)' is not an IP address or CIDR block such as 10.0.0.0/8")
            }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let bits = Int(parts[1]), (0...bytes.count * 8).contains(bits) else {
                    throw BerthError(.invalidConfig, "'\(entry)': the prefix length must be 0-\(bytes.count * 8)")
                }
                prefix = bits
            }
            blocks.append(Block(bytes: bytes, prefix: prefix))
        }
        self.blocks = blocks
    }

    /// True when no proxy is trusted.
    public var isEmpty: Bool { blocks.isEmpty }

    /// Whether `address` is one of the trusted proxies.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.addressBytes(address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client's address for a request from `peer` carrying `forwardedFor` (every
    /// `X-Forwarded-For` header value, in order). Falls back to the nearest believable hop when
    /// the header is missing or malformed.
    public func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard let address = Self.normalized(hop) else { return client }
            client = address
            if !contains(address) { return address }
        }
        return client
    }

    /// The address in canonical text, without brackets or port, or nil when it is not an IP address.
    static func normalized(_ text: String) -> String? {
        var candidate = text
        if candidate.hasPrefix("["), let close = candidate.firstIndex(of: "]") {
            candidate = String(candidate[candidate.index(after: candidate.startIndex)..<close])
        } else if candidate.filter({ $0 == ":" }).count == 1, let colon = candidate.firstIndex(of: ":") {
            candidate = String(candidate[..<colon])  // IPv4 with a port
        }
        guard addressBytes(candidate) != nil else { return nil }
        return candidate
    }

    /// The address as 4 or 16 bytes; IPv4-mapped IPv6 addresses become their IPv4 bytes.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12..<16])
        }
        return bytes
    }
}

/// A number of events allowed per window, written `N/DURATION` (`5/5m`).
public struct EventLimit: Sendable, Equatable, CustomStringConvertible {
    /// Most events per window.
    public var count: Int
    /// The window in seconds.
    public var windowSeconds: Int

    /// Creates a limit.
    public init(count: Int, windowSeconds: Int) {
        self.count = count
        self.windowSeconds = windowSeconds
    }

    /// Parses `N/DURATION` such as `5/5m` or `100/1h`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), count >= 1, count <= 1_000_000,
              let seconds = DurationText.seconds(parts[1]), seconds >= 1, seconds <= 86400
        else { return nil }
        self.init(count: count, windowSeconds: seconds)
    }

    public var description: String { "\(count)/\(DurationText.format(windowSeconds))" }
}
