import NIOCore
import NIOPosix

/// A loopback listener that accepts connections and never answers.
final class SilentListener: Sendable {
    let port: Int
    private let channel: any Channel

    init() throws {
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        port = channel.localAddress?.port ?? 0
    }

    func close() {
        try? channel.close().wait()
    }

    /// A loopback port that was free a moment ago (nothing listens there).
    static func freePort() throws -> Int {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()
        return port
    }
}
