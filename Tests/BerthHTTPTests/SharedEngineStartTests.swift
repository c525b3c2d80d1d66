import BerthCore
import BerthEngine
import BerthHTTP
import BerthTestSupport
import DockerEngine
import Foundation
import Logging
import Testing

/// Whole server start-ups (``BerthAssembly/open(_:parts:logger:)``, as `berth serve` does) side by
/// side on the real engine.
@Suite("Servers sharing one engine at start-up", .serialized)
struct SharedEngineStartTests {
    static func configuration(dataDirectory: URL, namespace: String?) throws -> BerthConfiguration {
        try FileManager.default.createDirectory(at: dataDirectory.appendingPathComponent("environments"), withIntermediateDirectories: true)
        var configuration = BerthConfiguration()
        configuration.dataDirectory = dataDirectory.path
        configuration.environmentsDirectory = dataDirectory.appendingPathComponent("environments").path
        configuration.adminToken = "test-admin-token-0123456789abcdef"
        configuration.namespace = namespace
        configuration.hostFirewall = .off
        return configuration
    }

    static func close(_ opened: BerthAssembly.Opened) async {
        await opened.namespaceLock?.release()
        try? await opened.services.store.close()
    }

    @Test("a second server with a held namespace is refused with namespace_in_use; servers with their default namespaces both start")
    func secondServerRefused() async throws {
        let docker = try DockerClient.fromEnvironment()
        try await EngineFixture.requireEngine(docker)
        let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }
        let namespace = "test-shared-\(UniqueName.make())"
        try await TemporaryDirectory.with { first in
            try await TemporaryDirectory.with { second in
                let running = try await BerthAssembly.open(try Self.configuration(dataDirectory: first.url, namespace: namespace), logger: logger)
                do {
                    let refused = try await #require(throws: BerthError.self) {
                        try await BerthAssembly.open(try Self.configuration(dataDirectory: second.url, namespace: namespace), logger: logger)
                    }
                    #expect(refused.code == .namespaceInUse)
                    #expect(refused.message.contains("'\(namespace)'") && refused.message.contains("BERTH_NAMESPACE"), "\(refused.message)")

                    // Without a namespace each data directory uses its own, so both start.
                    let a = try await BerthAssembly.open(try Self.configuration(dataDirectory: first.url.appendingPathComponent("a"), namespace: nil), logger: logger)
                    let b = try await BerthAssembly.open(try Self.configuration(dataDirectory: second.url.appendingPathComponent("b"), namespace: nil), logger: logger)
                    let namespaces = [a, b].compactMap { $0.namespaceLock?.namespace }
                    #expect(namespaces.count == 2 && namespaces[0] != namespaces[1] && namespaces.allSatisfy { $0.hasPrefix("d-") })
                    await Self.close(a)
                    await Self.close(b)
                } catch {
                    await Self.close(running)
                    throw error
                }
                await Self.close(running)
                // Released at shutdown, the namespace is free for the second server at once.
                let next = try await BerthAssembly.open(try Self.configuration(dataDirectory: second.url, namespace: namespace), logger: logger)
                await Self.close(next)
            }
        }
    }
}
