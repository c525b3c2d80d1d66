import BerthCore
import BerthStore
import Foundation

/// Settings an admin changes while the server runs, stored in the database and applied at once:
/// registration, public host, default TTL, renewal cap, assignment mode, caps and which
/// environments are switched off. What is not set falls back to the server's configuration.
public actor EventSettings {
    /// The settings as the API shows and takes them.
    public struct Values: Codable, Sendable, Equatable {
        /// Whether visitors may register.
        public var registrationOpen: Bool
        /// Host name endpoints show; nil for the configuration's.
        public var publicHost: String?
        /// TTL of environments that declare none (e.g. `30m`); nil for their own default.
        public var defaultTTL: String?
        /// The most renewals an instance gets; nil for the environment's.
        public var renewalCap: Int?
        /// `user`, `team` or `unlimited`.
        public var assignment: String
        /// Most active instances per owner.
        public var ownerCap: Int
        /// Most active instances overall.
        public var globalCap: Int
    }

    /// A partial update: only the fields present in the JSON change; `null` clears the optional ones.
    public struct Patch: Decodable, Sendable {
        var registrationOpen: Bool?
        var publicHost: String??
        var defaultTTL: String??
        var renewalCap: Int??
        var assignment: String?
        var ownerCap: Int?
        var globalCap: Int?

        enum Key: String, CodingKey, CaseIterable {
            case registrationOpen, publicHost, defaultTTL, renewalCap, assignment, ownerCap, globalCap
        }

        public init(from decoder: any Decoder) throws {
            struct AnyKey: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
            let known = Set(Key.allCases.map(\.rawValue))
            for key in try decoder.container(keyedBy: AnyKey.self).allKeys where !known.contains(key.stringValue) {
                throw BerthError(
                    .invalidSetting, "Unknown setting '\(key.stringValue.prefix(64))'; known: \(Key.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            let container = try decoder.container(keyedBy: Key.self)
            func optional<T: Decodable>(_ key: Key, _ type: T.Type) throws -> T?? {
                guard container.contains(key) else { return nil }
                return .some(try container.decodeNil(forKey: key) ? nil : container.decode(T.self, forKey: key))
            }
            registrationOpen = try container.decodeIfPresent(Bool.self, forKey: .registrationOpen)
            publicHost = try optional(.publicHost, String.self)
            defaultTTL = try optional(.defaultTTL, String.self)
            renewalCap = try optional(.renewalCap, Int.self)
            assignment = try container.decodeIfPresent(String.self, forKey: .assignment)
            ownerCap = try container.decodeIfPresent(Int.self, forKey: .ownerCap)
            globalCap = try container.decodeIfPresent(Int.self, forKey: .globalCap)
        }
    }

    let store: BerthDatabase
    let lifecycle: InstanceLifecycle
    let configuration: BerthConfiguration
    private var stored: [String: String] = [:]

    /// Creates the settings; call ``load()`` before use.
    public init(store: BerthDatabase, lifecycle: InstanceLifecycle, configuration: BerthConfiguration) {
        self.store = store
        self.lifecycle = lifecycle
        self.configuration = configuration
    }

    /// Reads the stored settings and applies them.
    public func load() async throws {
        stored = try await store.play.settings()
        await lifecycle.updatePolicy(policy())
    }

    /// The settings in force.
    public var values: Values {
        Values(
            registrationOpen: stored["registration"] != "closed", publicHost: stored["publicHost"],
            defaultTTL: stored["defaultTTL"].flatMap(Int.init).map(DurationText.format), renewalCap: stored["renewalCap"].flatMap(Int.init),
            assignment: stored["assignment"] ?? configuration.assignment.rawValue,
            ownerCap: stored["ownerCap"].flatMap(Int.init) ?? configuration.ownerCap,
            globalCap: stored["globalCap"].flatMap(Int.init) ?? configuration.globalCap
        )
    }

    /// Whether visitors may register.
    public var registrationOpen: Bool { stored["registration"] != "closed" }

    /// Environments switched off.
    public var disabledEnvironments: Set<String> {
        Set((stored["disabledEnvironments"] ?? "").split(separator: ",").map(String.init))
    }

    /// Validates and stores `patch`, then applies it; returns the settings in force.
    public func update(_ patch: Patch) async throws -> Values {
        var changes: [String: String?] = [:]
        if let open = patch.registrationOpen { changes["registration"] = open ? "open" : "closed" }
        if let host = patch.publicHost {
            if let host, !host.isEmpty {
                let allowed = host.count <= 253 && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }
                guard allowed else { throw Self.invalid("publicHost must be a host name or address, such as ctf.example.org.") }
                changes["publicHost"] = host
            } else {
                changes["publicHost"] = .some(nil)
            }
        }
        if let ttl = patch.defaultTTL {
            if let ttl, !ttl.isEmpty {
                guard let seconds = DurationText.seconds(ttl), (60...7 * 86400).contains(seconds) else {
                    throw Self.invalid("defaultTTL must be a duration from 1m to 7d, such as 45m.")
                }
                changes["defaultTTL"] = String(seconds)
            } else {
                changes["defaultTTL"] = .some(nil)
            }
        }
        if let cap = patch.renewalCap {
            if let cap {
                guard (0...1000).contains(cap) else { throw Self.invalid("renewalCap must be from 0 to 1000, or null for no cap.") }
                changes["renewalCap"] = String(cap)
            } else {
                changes["renewalCap"] = .some(nil)
            }
        }
        if let assignment = patch.assignment {
            guard AssignmentMode(rawValue: assignment) != nil else { throw Self.invalid("assignment must be user, team or unlimited.") }
            changes["assignment"] = assignment
        }
        if let cap = patch.ownerCap {
            guard (1...1000).contains(cap) else { throw Self.invalid("ownerCap must be from 1 to 1000.") }
            changes["ownerCap"] = String(cap)
        }
        if let cap = patch.globalCap {
            guard (1...100_000).contains(cap) else { throw Self.invalid("globalCap must be from 1 to 100000.") }
            changes["globalCap"] = String(cap)
        }
        for (key, value) in changes {
            try await store.play.setSetting(key: key, value: value)
            stored[key] = value
        }
        await lifecycle.updatePolicy(policy())
        return values
    }

    /// Switches an environment on or off for players.
    public func setEnabled(_ slug: String, _ enabled: Bool) async throws {
        var disabled = disabledEnvironments
        if enabled { disabled.remove(slug) } else { disabled.insert(slug) }
        let value = disabled.sorted().joined(separator: ",")
        try await store.play.setSetting(key: "disabledEnvironments", value: value.isEmpty ? nil : value)
        stored["disabledEnvironments"] = value.isEmpty ? nil : value
        await lifecycle.updatePolicy(policy())
    }

    /// The lifecycle policy: the configuration with the stored settings over it.
    func policy() -> LifecyclePolicy {
        var policy = LifecyclePolicy(configuration)
        let current = values
        policy.assignment = AssignmentMode(rawValue: current.assignment) ?? configuration.assignment
        policy.ownerCap = current.ownerCap
        policy.globalCap = current.globalCap
        if let host = current.publicHost { policy.endpointHost = host }
        policy.defaultTTLSeconds = stored["defaultTTL"].flatMap(Int.init)
        policy.renewalCap = current.renewalCap
        policy.disabledEnvironments = disabledEnvironments
        return policy
    }

    static func invalid(_ message: String) -> BerthError {
        BerthError(.invalidSetting, message)
    }
}
