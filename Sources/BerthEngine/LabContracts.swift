import BerthCore

/// Runs an environment's `checks/` scripts inside an instance.
public protocol LabCheckRunning: Sendable {
    /// Runs `script` (a name from ``LabSpec/scripts``) in the instance's container and concludes.
    /// Never throws: anything that keeps the script from running is ``CheckOutcome/Status/checkError``.
    func run(script: String, in instance: Instance, environment: EnvironmentSpec) async -> CheckOutcome
}

/// Gives a learner a hint for the step they are on.
public protocol LabHintGiving: Sendable {
    /// A hint from the AI endpoint when one is configured and answers in time, else the next authored
    /// hint, else ``LabHint/Source/none``. Never throws.
    func hint(_ request: LabHintRequest) async -> LabHint
}
