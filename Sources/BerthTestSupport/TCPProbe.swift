import NIOCore
import NIOPosix
import Synchronization

/// A TCP listener that only counts the connections it accepts, to prove whether something
/// (an instance, typically) can reach an address on the host.
public final class TCPProbe: Sendable {
    /// The address it listens on.
    public let host: String
    /// The port it was given.
    public let port: Int
    private let counter: ConnectionCounter

    private init(host: String, port: Int, counter: ConnectionCounter) {
        self.host = host
        self.port = port
        self.counter = counter
    }

    /// Connections accepted so far.
    public var acceptedConnections: Int { counter.value }

    /// Listens on `host` at a free port while `body` runs.
    public static func with<Result>(host: String, _ body: (TCPProbe) async throws -> Result) async throws -> Result {
        let counter = ConnectionCounter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                counter.increment()
                return child.close()
            }
            .bind(host: host, port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw FixtureError("the probe listener on \(host) has no port")
        }
        let probe = TCPProbe(host: host, port: port, counter: counter)
        do {
            let result = try await body(probe)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

final class ConnectionCounter: Sendable {
    private let count = Mutex(0)

    func increment() {
        count.withLock { $0 += 1 }
    }

    var value: Int { count.withLock { $0 } }
}
