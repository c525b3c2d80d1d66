import DockerEngine
import NIOCore
import Testing

/// One frame of Docker's multiplexed stream: type, three zero bytes, big-endian length, payload.
func frame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
    let length = UInt32(payload.count)
    return [stream, 0, 0, 0, UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)] + payload
}

/// Feeds `bytes` in chunks of `size` and collects every frame.
func demultiplex(_ bytes: [UInt8], chunkSize size: Int) -> (frames: [(StreamDemultiplexer.Stream, [UInt8])], buffered: Int) {
    var demultiplexer = StreamDemultiplexer()
    var frames: [(StreamDemultiplexer.Stream, [UInt8])] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + size, bytes.count)
        for (stream, payload) in demultiplexer.feed(ByteBuffer(bytes: bytes[offset..<end])) {
            frames.append((stream, Array(payload.readableBytesView)))
        }
        offset = end
    }
    return (frames, demultiplexer.bufferedBytes)
}

@Suite("StreamDemultiplexer")
struct StreamDemultiplexerTests {
    static let payloads: [(UInt8, [UInt8])] = [
        (1, Array("hello stdout\n".utf8)),
        (2, Array("oops on stderr\n".utf8)),
        (1, []),
        (1, (0..<1000).map { UInt8($0 % 251) }),
        (2, Array("last".utf8)),
    ]

    @Test("frames come out whole and in order whatever the chunk size", arguments: [1, 2, 3, 7, 8, 9, 64, 1000, 100_000])
    func anyChunking(chunkSize: Int) {
        let bytes = Self.payloads.flatMap { frame($0.0, $0.1) }
        let (frames, buffered) = demultiplex(bytes, chunkSize: chunkSize)
        #expect(frames.count == Self.payloads.count)
        for (got, want) in zip(frames, Self.payloads) {
            #expect(got.0.rawValue == want.0)
            #expect(got.1 == want.1)
        }
        #expect(buffered == 0)
    }

    @Test("an incomplete frame is held back until the rest arrives")
    func partialFrame() {
        var demultiplexer = StreamDemultiplexer()
        let bytes = frame(2, Array("abcdef".utf8))
        #expect(demultiplexer.feed(ByteBuffer(bytes: bytes[0..<5])).isEmpty)
        #expect(demultiplexer.bufferedBytes == 5)
        #expect(demultiplexer.feed(ByteBuffer(bytes: bytes[5..<10])).isEmpty)
        #expect(demultiplexer.bufferedBytes == 10)
        let frames = demultiplexer.feed(ByteBuffer(bytes: bytes[10...]))
        #expect(frames.count == 1)
        #expect(frames.first?.0 == .stderr)
        #expect(frames.first.map { Array($0.1.readableBytesView) } == Array("abcdef".utf8))
        #expect(demultiplexer.bufferedBytes == 0)
    }

    @Test("a chunk that ends one frame and starts the next yields the first and keeps the rest")
    func straddlingChunk() {
        var demultiplexer = StreamDemultiplexer()
        let bytes = frame(1, [1, 2, 3]) + frame(2, [4, 5, 6])
        let first = demultiplexer.feed(ByteBuffer(bytes: bytes[0..<13]))
        #expect(first.map { Array($0.1.readableBytesView) } == [[1, 2, 3]])
        #expect(demultiplexer.bufferedBytes == 2)
        let second = demultiplexer.feed(ByteBuffer(bytes: bytes[13...]))
        #expect(second.map(\.0) == [.stderr])
        #expect(second.map { Array($0.1.readableBytesView) } == [[4, 5, 6]])
    }
}
