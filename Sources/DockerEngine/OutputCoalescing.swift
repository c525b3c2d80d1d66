import NIOCore

/// How an exec stream gathers output that arrives in quick succession into fewer, larger reads.
///
/// A PTY hands its output to the daemon a few KiB at a time, so a program printing fast arrives
/// as thousands of small reads a second, and every read costs the consumer the same task
/// switches and wake-ups however small it is. With coalescing, a read that comes at least
/// ``hold`` after the previous read is passed on at once, so a keystroke's echo is never held.
/// Reads that follow each other faster than that, as when output streams, are gathered and
/// passed on together ``hold`` after the previous delivery, or as soon as ``maxBytes`` have gathered.
public struct OutputCoalescing: Sendable, Equatable {
    /// Longest time gathered output waits after the previous delivery.
    public var hold: TimeAmount
    /// Gathered bytes that are passed on at once, without waiting for the hold to end.
    public var maxBytes: Int

    /// Coalescing with the given hold and size bound.
    public init(hold: TimeAmount, maxBytes: Int) {
        self.hold = hold
        self.maxBytes = max(1, maxBytes)
    }

    /// The terminal's setting: at most 2 ms of delay, only while output streams; up to 64 KiB at once.
    public static let terminal = OutputCoalescing(hold: .milliseconds(2), maxBytes: 64 * 1024)
}

/// Gathers inbound byte reads as ``OutputCoalescing`` describes. It sits on the event loop, so
/// holding output costs a timer, not a thread wake-up; it never delays the end of the stream.
final class OutputCoalescingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let settings: OutputCoalescing
    private var gathered: ByteBuffer?
    private var lastDelivery: NIODeadline?
    private var lastRead: NIODeadline?
    private var timer: Scheduled<Void>?

    init(_ settings: OutputCoalescing) {
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = context.eventLoop.now
        // After a quiet spell, deliver what this read brings without waiting.
        if let previous = lastRead, now - previous >= settings.hold { lastDelivery = nil }
        lastRead = now
        var bytes = unwrapInboundIn(data)
        if gathered == nil {
            gathered = bytes
        } else {
            gathered?.writeBuffer(&bytes)
        }
        // A burst of reads never makes one buffer much larger than maxBytes.
        if let pending = gathered?.readableBytes, pending >= settings.maxBytes { deliver(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let pending = gathered?.readableBytes, pending > 0 else {
            context.fireChannelReadComplete()
            return
        }
        guard let last = lastDelivery, pending < settings.maxBytes, context.eventLoop.now < last + settings.hold else {
            deliver(context: context)
            return
        }
        if timer == nil {
            let due = last + settings.hold
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(deadline: due) {
                let (handler, context) = loopBound.value
                handler.timer = nil
                handler.deliver(context: context)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        deliver(context: context)
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        deliver(context: context)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deliver(context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deliver(context: context)
    }

    /// Passes on what has gathered, if anything.
    private func deliver(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let bytes = gathered, bytes.readableBytes > 0 else { return }
        gathered = nil
        lastDelivery = context.eventLoop.now
        context.fireChannelRead(wrapInboundOut(bytes))
        context.fireChannelReadComplete()
    }
}
