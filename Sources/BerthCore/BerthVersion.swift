/// The version of this Berth build, as replicas record it in the store (an operator sees which
/// replicas still run the old build during a rolling upgrade).
public enum BerthVersion {
    /// Kept equal to `info.version` of `openapi.yaml`, the contract replicas speak to each other.
    public static let current = "1.0.0"
}
