/// A bounded ring of the most recent terminal output, replayed to a client that (re)connects so
/// the screen comes back. Memory never exceeds ``capacity`` bytes.
public struct ScreenBuffer: Sendable {
    /// Most bytes kept.
    public let capacity: Int
    private var storage: [UInt8] = []
    private var start = 0

    /// Creates an empty buffer of `capacity` bytes.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        storage.reserveCapacity(min(self.capacity, 64 * 1024))
    }

    /// Bytes currently held.
    public var count: Int { storage.count }

    /// Appends output, dropping the oldest bytes beyond the capacity. Copies in bulk: this runs
    /// for every chunk of output.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if bytes.count >= capacity {
            storage = Array(bytes.suffix(capacity))
            start = 0
            return
        }
        var remaining = ArraySlice(bytes)
        let room = capacity - storage.count
        if room > 0 {
            storage.append(contentsOf: remaining.prefix(room))
            remaining = remaining.dropFirst(room)
        }
        // Full: overwrite the oldest bytes, wrapping around the end at most once.
        while !remaining.isEmpty {
            let count = min(remaining.count, capacity - start)
            storage.replaceSubrange(start..<(start + count), with: remaining.prefix(count))
            remaining = remaining.dropFirst(count)
            start = (start + count) % capacity
        }
    }

    /// The held bytes, oldest first, starting at a UTF-8 character boundary.
    public func snapshot() -> [UInt8] {
        snapshot(last: capacity)
    }

    /// The newest `limit` held bytes at most, oldest first, starting at a UTF-8 character boundary.
    public func snapshot(last limit: Int) -> [UInt8] {
        let ordered = Array((storage[start...] + storage[..<start]).suffix(max(0, limit)))
        // A cut in the middle of a multi-byte character would show as garbage: skip continuation bytes.
        let firstBoundary = ordered.firstIndex { $0 & 0b1100_0000 != 0b1000_0000 } ?? ordered.endIndex
        return Array(ordered[firstBoundary...])
    }
}
