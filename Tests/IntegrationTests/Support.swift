import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Every integration test drives the one real engine; running them one at a time keeps timings
/// (the reaper's 5 s, the fork bomb) honest on a small machine.
@Suite("Integration (real Docker Engine)", .serialized)
struct Integration {}

/// The environments the integration tests build, all from ``EngineFixture/baseImage``.
enum Environments {
    static let shellSlug = "berth-it-shell"
    static let webSlug = "berth-it-web"
    static let plainSlug = "berth-it-plain"
    static let shortSlug = "berth-it-short"
    static let cappedSlug = "berth-it-capped"

    static let baseDockerfile = """
        FROM \(EngineFixture.baseImage)
        RUN echo built-by-berth > /etc/berth-marker
        CMD ["/bin/sh"]
        """

    /// A hardened shell: non-root, read-only root, small tmpfs, no network.
    static let shell = TestEnvironment(
        slug: shellSlug,
        challenge: """
            name: Integration shell
            category: test
            berth:
              terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player}
              resources: {memory: 48m, cpus: 0.5, pids: 48}
              network: none
              lifetime: {ttl: 10m, renewals: 2, maxLifetime: 25m}
              readOnlyRoot: true
              writable: [/home/player, /tmp]
              tmpfsSize: 4m
            """,
        dockerfile: baseDockerfile
    )

    /// A busybox web server on container port 8080, on an isolated network.
    static let web = TestEnvironment(
        slug: webSlug,
        challenge: """
            name: Integration web
            category: test
            berth:
              command: ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]
              terminal: {user: "1000:1000"}
              ports: [{port: 8080, protocol: http}]
              network: isolated
              resources: {memory: 32m, cpus: 0.5, pids: 32}
              readOnlyRoot: true
              writable: [/tmp]
            """,
        dockerfile: """
            FROM \(EngineFixture.baseImage)
            RUN mkdir -p /srv/www && echo "hello from berth" > /srv/www/index.html
            """
    )

    /// A folder written for ctfcli only: no berth block at all.
    static let plain = TestEnvironment(
        slug: plainSlug,
        challenge: """
            name: Plain ctfcli challenge
            category: misc
            value: 100
            type: standard
            flags: ["flag{plain}"]
            """,
        dockerfile: baseDockerfile
    )

    /// Expires two seconds after it starts.
    static let short = TestEnvironment(
        slug: shortSlug,
        challenge: """
            name: Short-lived
            berth:
              terminal: {user: "1000:1000"}
              lifetime: {ttl: 2s, renewals: 0, maxLifetime: 1m}
            """,
        dockerfile: baseDockerfile
    )

    /// Many renewals, but a maximum lifetime only a little above the ttl.
    static let capped = TestEnvironment(
        slug: cappedSlug,
        challenge: """
            name: Capped lifetime
            berth:
              terminal: {user: "1000:1000"}
              lifetime: {ttl: 10m, renewals: 5, maxLifetime: 12m}
            """,
        dockerfile: baseDockerfile
    )
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
