import BerthCore
import DockerEngine

/// A runtime whose containers are reached through Docker Engines: exec, the file API, lab scripts
/// and flag writes go to the engine that runs the container, which on a swarm is the node's.
public protocol EngineBackedRuntime: InstanceRuntime {
    /// The engine of each container.
    var engines: any ContainerEngineResolver { get }
    /// The limit of one ordinary engine call.
    var engineTimeout: Duration { get }
}

extension EngineBackedRuntime {
    public func writeFile(containerID: String, path: String, contents: String, user: String?) async throws {
        // The values travel as arguments, not in the script, so nothing in them is interpreted.
        let script = #"umask 077 && mkdir -p "${1%/*}" && printf '%s\n' "$2" > "$1""#
        let result: ExecResult
        do {
            result = try await engines.engine(forContainer: containerID).exec(
                containerID, command: ["/bin/sh", "-c", script, "berth-write", path, contents], user: user, outputTimeout: engineTimeout
            )
        } catch let error as DockerError {
            throw LaunchFailure.engine(error)
        }
        guard result.exitCode == 0 else {
            throw BerthError(
                .flagWriteFailed,
                "The instance's flag could not be written to \(path) (exit \(result.exitCode)): \(result.stderr.prefix(300)). The image needs /bin/sh, and the path must be writable by the terminal's user."
            )
        }
    }
}
