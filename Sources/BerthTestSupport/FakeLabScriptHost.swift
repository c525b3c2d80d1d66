import BerthCore
import BerthEngine

/// A ``LabScriptHost`` for unit tests of the layers above the check runner (the lifecycle, the
/// check and progress API): it records installs and runs and answers each script as told. The
/// real host, ``DockerRuntime``, is tested against the engine.
public actor FakeLabScriptHost: LabScriptHost {
    /// One recorded run.
    public struct Run: Sendable, Equatable {
        /// The script name.
        public var script: String
        /// The container it ran in.
        public var containerID: String
        /// The variables it was given (`BERTH_STEP`, `BERTH_INSTANCE_ID`).
        public var environment: [String: String]
        /// Its timeout.
        public var timeout: Duration
    }

    /// Scripts installed per container.
    public private(set) var installed: [String: [String: String]] = [:]
    /// Every run, in order.
    public private(set) var runs: [Run] = []
    private var answers: [String: Result<ScriptRun, LabScriptFailure>] = [:]
    private var installFailure: LabScriptFailure?

    /// Creates a host on which every script passes (exit 0) until told otherwise.
    public init() {}

    /// Makes `script` answer `run` from now on.
    public func answer(_ script: String, with run: ScriptRun) {
        answers[script] = .success(run)
    }

    /// Makes `script` fail to run with `failure` from now on.
    public func answer(_ script: String, failing failure: LabScriptFailure) {
        answers[script] = .failure(failure)
    }

    /// Makes every install fail with `failure` (nil: installs succeed).
    public func failInstalls(_ failure: LabScriptFailure?) {
        installFailure = failure
    }

    public func install(scripts: [String: String], containerID: String) async throws(LabScriptFailure) {
        if let installFailure { throw installFailure }
        installed[containerID, default: [:]].merge(scripts) { _, new in new }
    }

    public func run(script: String, containerID: String, environment: [String: String], timeout: Duration) async throws(LabScriptFailure) -> ScriptRun {
        runs.append(Run(script: script, containerID: containerID, environment: environment, timeout: timeout))
        guard installed[containerID]?[script] != nil else { return ScriptRun(exitCode: 127, stderr: "berth: script missing\n", scriptMissing: true) }
        switch answers[script] ?? .success(ScriptRun(exitCode: 0)) {
        case .success(let run): return run
        case .failure(let failure): throw failure
        }
    }
}
