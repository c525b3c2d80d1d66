import BerthCore
import Foundation
import Logging

/// Keeps instances away from the host they run on.
///
/// Docker isolates one bridge network from another, but it has no setting that stops a container
/// from opening connections to its own host: anything listening on the bridge's gateway address
/// (or on `0.0.0.0`, like sshd or Berth itself with `--host 0.0.0.0`) is reachable from inside.
/// Every network Berth creates is a bridge named ``bridgePrefix`` plus part of the instance id, so
/// one `INPUT` rule per address family covers them all: packets arriving from such a bridge are
/// dropped unless they belong to a connection the host opened (the replies of published ports,
/// `docker exec` does not use the network at all). Traffic to the internet, for `network:
/// internet`, is forwarded and never meets the rule.
public struct HostFirewall: Sendable {
    /// Whether Berth installs the rule (`BERTH_HOST_FIREWALL`).
    public typealias Mode = HostFirewallMode

    /// What installing found.
    public enum Outcome: Sendable, Equatable {
        /// The rule was added for these commands (`iptables`, `ip6tables`).
        case installed([String])
        /// The rule was already there for every command.
        case present
    }

    /// Interface names of Berth's bridges start with this, followed by ten characters of the id.
    public static let bridgePrefix = "berth"

    /// The comment the rule carries, so operators can tell where it came from.
    public static let comment = "berth: instances may not open connections to the host"

    /// The rule, as `iptables` arguments after the chain name.
    public static let ruleArguments = [
        "-i", bridgePrefix + "+", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED",
        "-m", "comment", "--comment", comment, "-j", "DROP",
    ]

    /// The bridge interface name for an instance's network: at most 15 characters, as Linux allows.
    public static func bridgeName(forInstance id: String) -> String {
        let body = id.split(separator: "_", maxSplits: 1).last.map(String.init) ?? id
        return bridgePrefix + String(body.suffix(10))
    }

    private let iptables: String
    private let ip6tables: String?

    /// A firewall driven by the given commands; `ip6tables` is optional, as hosts may lack IPv6.
    public init(iptables: String = "iptables", ip6tables: String? = "ip6tables") {
        self.iptables = iptables
        self.ip6tables = ip6tables
    }

    /// Adds the rule at the top of `INPUT` unless it is there already. Safe to call again.
    ///
    /// Throws ``BerthError`` `host_firewall_unavailable` when `iptables` is missing or refuses
    /// (usually: not root). A missing or failing `ip6tables` is not an error, since many hosts
    /// have no IPv6 tables: it is only left out of ``Outcome/installed(_:)``.
    public func install() async throws -> Outcome {
        var added: [String] = []
        if try await ensureRule(command: iptables) { added.append(iptables) }
        if let ip6tables, (try? await ensureRule(command: ip6tables)) == true { added.append(ip6tables) }
        return added.isEmpty ? .present : .installed(added)
    }

    /// True when the rule is in `INPUT` for `iptables`.
    public func isInstalled() async throws -> Bool {
        try await Self.hasRule(command: iptables)
    }

    private static func hasRule(command: String) async throws -> Bool {
        try await run(command, ["-w", "-C", "INPUT"] + ruleArguments).status == 0
    }

    private func ensureRule(command: String) async throws -> Bool {
        if try await Self.hasRule(command: command) { return false }
        let insert = try await Self.run(command, ["-w", "-I", "INPUT", "1"] + Self.ruleArguments)
        guard insert.status == 0 else {
            throw BerthError(
                .hostFirewallUnavailable,
                "\(command) could not add Berth's INPUT rule (exit \(insert.status)): \(insert.output.prefix(300)). Run Berth as root on the engine's host, or set BERTH_HOST_FIREWALL=off and add the rule yourself."
            )
        }
        return true
    }

    /// Installs the rule as `mode` asks, logging what happened. `engineIsLocal` is false when the
    /// engine runs on another machine, where a rule on this one would protect nothing.
    public static func apply(_ mode: Mode, engineIsLocal: Bool, logger: Logger) async throws {
        switch mode {
        case .off:
            logger.notice("host firewall off: instances can open connections to services on this host's bridge addresses")
        case .on, .auto:
            if mode == .auto && (!engineIsLocal || geteuid() != 0) {
                logger.warning(
                    "host firewall not installed: instances can open connections to services on the engine host's bridge addresses",
                    metadata: ["reason": "\(engineIsLocal ? "not running as root" : "the engine is not on this machine")"]
                )
                return
            }
            do {
                let outcome = try await HostFirewall().install()
                logger.info("host firewall ready", metadata: ["rule": "INPUT -i \(bridgePrefix)+ new connections dropped", "outcome": "\(outcome)"])
            } catch {
                guard mode == .auto else { throw error }
                logger.warning("host firewall not installed", metadata: ["error": "\(error)"])
            }
        }
    }

    private static func run(_ command: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        guard let executable = locate(command) else {
            throw BerthError(.hostFirewallUnavailable, "\(command) is not installed (looked in PATH, /usr/sbin and /sbin)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            return try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { finished in
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    continuation.resume(returning: (finished.terminationStatus, String(decoding: data, as: UTF8.self)))
                }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        } catch {
            throw BerthError(.hostFirewallUnavailable, "cannot run \(command): \(error.localizedDescription)")
        }
    }

    /// Finds `command` on PATH or in the sbin folders, which a non-login PATH often lacks.
    private static func locate(_ command: String) -> URL? {
        if command.contains("/") { return URL(fileURLWithPath: command) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin"]
        return folders.lazy
            .map { URL(fileURLWithPath: $0).appendingPathComponent(command) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
