@testable import DockerEngine
import NIOCore
import NIOEmbedded
import Testing

/// The coalescing handler on an embedded channel, whose clock only moves when the test says so.
@Suite("Output coalescing")
struct OutputCoalescingTests {
    private let settings = OutputCoalescing(hold: .milliseconds(1), maxBytes: 1000)

    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(OutputCoalescingHandler(settings))
        return channel
    }

    /// One socket read: `channelRead` then `channelReadComplete`, as NIO delivers it.
    private func read(_ channel: EmbeddedChannel, _ text: String) throws {
        channel.pipeline.fireChannelRead(ByteBuffer(string: text))
        channel.pipeline.fireChannelReadComplete()
    }

    private func delivered(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test("the first read after a quiet spell passes at once: an echo is never held")
    func firstReadPasses() throws {
        let channel = try channel()
        try read(channel, "a")
        #expect(try delivered(channel) == ["a"])
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        try read(channel, "b")
        #expect(try delivered(channel) == ["b"], "after the hold has passed, a read is not held either")
    }

    @Test("reads within the hold are gathered and passed on together when it ends, in order")
    func gathersWithinHold() throws {
        let channel = try channel()
        try read(channel, "first ")
        #expect(try delivered(channel) == ["first "])
        channel.embeddedEventLoop.advanceTime(by: .microseconds(200))
        try read(channel, "second ")
        try read(channel, "third")
        #expect(try delivered(channel).isEmpty, "held until 1 ms after the previous delivery")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(799))
        #expect(try delivered(channel).isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .microseconds(1))
        #expect(try delivered(channel) == ["second third"])
    }

    @Test("a read after a quiet gap passes at once, even soon after a delivery: typing is never held")
    func quietGapPasses() throws {
        let channel = try channel()
        try read(channel, "prompt")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(500))
        try read(channel, "more")
        #expect(try delivered(channel) == ["prompt"])
        channel.embeddedEventLoop.advanceTime(by: .microseconds(500))
        #expect(try delivered(channel) == ["more"], "the held read goes 1 ms after the previous delivery")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(600))
        try read(channel, "echo")
        #expect(try delivered(channel) == ["echo"], "1.1 ms after the previous read, 0.6 ms after the last delivery")
    }

    @Test("reaching maxBytes passes the gathered bytes on without waiting")
    func sizeBound() throws {
        let channel = try channel()
        try read(channel, "x")
        _ = try delivered(channel)
        try read(channel, String(repeating: "y", count: 600))
        #expect(try delivered(channel).isEmpty)
        try read(channel, String(repeating: "z", count: 400))
        let out = try delivered(channel)
        #expect(out == [String(repeating: "y", count: 600) + String(repeating: "z", count: 400)])
    }

    @Test("the end of the stream and errors never leave bytes behind")
    func endDelivers() throws {
        let channel = try channel()
        try read(channel, "x")
        _ = try delivered(channel)
        try read(channel, "last words")
        #expect(try delivered(channel).isEmpty)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try delivered(channel) == ["last words"])

        try read(channel, "then ")
        struct Broken: Error {}
        channel.pipeline.fireErrorCaught(Broken())
        #expect(try delivered(channel) == ["then "])
        #expect(throws: Broken.self) { try channel.throwIfErrorCaught() }

        try read(channel, "gone")
        #expect(try delivered(channel).isEmpty)
        try channel.close().wait()
        #expect(try delivered(channel) == ["gone"], "closing passes on what was held")
    }
}
