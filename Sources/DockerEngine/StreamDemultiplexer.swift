import NIOCore

/// Splits Docker's multiplexed attach/exec stream (8-byte header: stream type, 3 zero bytes,
/// big-endian length) into stdout and stderr, across arbitrary chunk boundaries.
public struct StreamDemultiplexer: Sendable {
    /// Which stream a frame belongs to.
    public enum Stream: UInt8, Sendable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    private var pending = ByteBuffer()

    /// Creates an empty demultiplexer.
    public init() {}

    /// Feeds raw bytes and returns every complete frame they finish.
    public mutating func feed(_ bytes: ByteBuffer) -> [(Stream, ByteBuffer)] {
        var input = bytes
        pending.writeBuffer(&input)
        var frames: [(Stream, ByteBuffer)] = []
        while pending.readableBytes >= 8 {
            let start = pending.readerIndex
            guard let kind = pending.getInteger(at: start, as: UInt8.self),
                  let length = pending.getInteger(at: start + 4, endianness: .big, as: UInt32.self)
            else { break }
            guard pending.readableBytes >= 8 + Int(length) else { break }
            pending.moveReaderIndex(forwardBy: 8)
            guard let payload = pending.readSlice(length: Int(length)) else { break }
            frames.append((Stream(rawValue: kind) ?? .stdout, payload))
        }
        pending.discardReadBytes()
        return frames
    }

    /// Bytes received that do not yet form a complete frame.
    public var bufferedBytes: Int { pending.readableBytes }
}
