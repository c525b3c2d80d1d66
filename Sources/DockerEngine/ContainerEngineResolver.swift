/// Finds the engine that runs a container: the one engine of a single host, or on a swarm the
/// engine of the node that runs the container's task.
public protocol ContainerEngineResolver: Sendable {
    /// The engine running `containerID`; a not-found ``DockerError`` when no engine runs it.
    func engine(forContainer containerID: String) async throws -> DockerClient
}

extension DockerClient: ContainerEngineResolver {
    /// A single engine runs every container it knows.
    public func engine(forContainer containerID: String) async throws -> DockerClient { self }
}
