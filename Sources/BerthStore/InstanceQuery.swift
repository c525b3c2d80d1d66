import BerthCore
import Foundation

/// Which instances ``InstanceRepository/instances(_:)`` returns.
public struct InstanceQuery: Sendable {
    /// Only instances in an active state (requested, starting, running, stopping).
    public var activeOnly: Bool
    /// Only instances of this owner.
    public var owner: Owner?
    /// Only instances of this environment.
    public var environment: String?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query; the default returns the newest 500 instances.
    public init(activeOnly: Bool = false, owner: Owner? = nil, environment: String? = nil, limit: Int = 500) {
        self.activeOnly = activeOnly
        self.owner = owner
        self.environment = environment
        self.limit = limit
    }
}
