import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A Unix-socket stand-in for the Docker Engine's socket whose behaviour a test switches: it
/// forwards every connection to the real engine, or accepts connections and never answers (a
/// wedged engine), or closes them at once (an engine that is down). Switching away from
/// forwarding cuts the connections already open, so an outage hits calls in flight too.
public final class EngineProxy: Sendable {
    /// What the proxy does with connections.
    public enum Mode: Sendable, Equatable {
        /// Relays bytes both ways to the upstream socket.
        case forward
        /// Accepts and reads, never answers.
        case wedged
        /// Closes each connection as soon as it is accepted.
        case down
    }

    /// The socket path to use as `unix://<path>`.
    public let path: String
    private let upstream: String
    private let state = Mutex<(mode: Mode, open: [any Channel])>((.forward, []))
    private let server: any Channel

    private init(path: String, upstream: String, server: any Channel) {
        self.path = path
        self.upstream = upstream
        self.server = server
    }

    /// Runs `body` with a proxy in `mode` in front of the engine socket `upstream` (by default the
    /// one `DOCKER_HOST` names, which must be a Unix socket), and closes it afterwards.
    public static func with<Result: Sendable>(
        mode: Mode = .forward, upstream: String? = nil, _ body: (EngineProxy) async throws -> Result
    ) async throws -> Result {
        let target = try upstream ?? Self.engineSocket()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-proxy-\(UniqueName.make()).sock").path
        let box = ProxyBox()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                guard let proxy = box.proxy else { return channel.close() }
                return proxy.accept(channel)
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        let proxy = EngineProxy(path: path, upstream: target, server: server)
        box.proxy = proxy
        proxy.setMode(mode)
        let result: Result
        do {
            result = try await body(proxy)
        } catch {
            await proxy.close()
            throw error
        }
        await proxy.close()
        return result
    }

    /// The address to give a client: `unix://<path>`.
    public var url: String { "unix://\(path)" }

    /// Switches the mode; leaving `forward` closes every open connection.
    public func setMode(_ mode: Mode) {
        let cut: [any Channel] = state.withLock { state in
            let previous = state.mode
            state.mode = mode
            guard previous != mode else { return [] }
            let open = state.open
            state.open = []
            return open
        }
        for channel in cut { channel.close(promise: nil) }
    }

    /// The current mode.
    public var mode: Mode { state.withLock { $0.mode } }

    private func track(_ channels: any Channel...) {
        state.withLock { $0.open.append(contentsOf: channels) }
    }

    private func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        switch mode {
        case .down:
            return channel.close()
        case .wedged:
            track(channel)
            return channel.pipeline.addHandler(DiscardHandler()).flatMap { channel.setOption(.autoRead, value: true) }
        case .forward:
            track(channel)
            return ClientBootstrap(group: channel.eventLoop)
                .connect(unixDomainSocketPath: upstream)
                .flatMap { engine in
                    self.track(engine)
                    return engine.pipeline.addHandler(RelayHandler(peer: channel))
                        .flatMap { channel.pipeline.addHandler(RelayHandler(peer: engine)) }
                        .flatMap { channel.setOption(.autoRead, value: true) }
                }
        }
    }

    private func close() async {
        setMode(.down)
        try? await server.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func engineSocket() throws -> String {
        let host = ProcessInfo.processInfo.environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "unix:///var/run/docker.sock"
        guard host.hasPrefix("unix://") else { throw FixtureError("EngineProxy needs a Unix-socket DOCKER_HOST, not \(host)") }
        return String(host.dropFirst("unix://".count))
    }
}

/// Lets the accept closure, built before the proxy exists, reach it.
private final class ProxyBox: Sendable {
    private let value = Mutex<EngineProxy?>(nil)

    var proxy: EngineProxy? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Writes what one side reads to the other, and closes the other when this side closes.
private final class RelayHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let peer: any Channel

    init(peer: any Channel) {
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Reads and drops everything: the engine that never answers.
private final class DiscardHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
