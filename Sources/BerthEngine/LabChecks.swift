import BerthCore
import DockerEngine
import Foundation
import Logging

/// What one run of a script in an instance gave, before the check contract judges it.
public struct ScriptRun: Sendable, Equatable {
    /// The exit code.
    public var exitCode: Int
    /// Its standard output (bounded by ``CheckBounds/maximumOutputBytes`` with stderr).
    public var stdout: String
    /// Its standard error.
    public var stderr: String
    /// The text of `$BERTH_RESULT` after the run, nil when the script wrote none.
    public var resultFile: String?
    /// True when `$BERTH_RESULT` was larger than ``CheckBounds/maximumResultBytes`` and was not read.
    public var resultTooLarge: Bool
    /// True when the script was not in `/run/berth-checks` (the runner installs the scripts and retries once).
    public var scriptMissing: Bool

    /// Creates a run.
    public init(exitCode: Int, stdout: String = "", stderr: String = "", resultFile: String? = nil, resultTooLarge: Bool = false, scriptMissing: Bool = false) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.resultFile = resultFile
        self.resultTooLarge = resultTooLarge
        self.scriptMissing = scriptMissing
    }
}

/// Why a script could not run to its end. Each is a `check_error`, never the learner's failure.
public enum LabScriptFailure: Error, Sendable, Equatable {
    /// It ran longer than its timeout and was killed.
    case timedOut(Duration)
    /// The container is not running (or gone).
    case notRunning(String)
    /// It wrote more than ``CheckBounds/maximumOutputBytes``; it was killed.
    case outputTooLarge
    /// The engine failed.
    case engine(String)
}

/// Where lab scripts live and run: `/run/berth-checks` inside an instance, root only. A separate
/// protocol from ``InstanceRuntime`` so runtimes grow it without touching the lifecycle's contract.
public protocol LabScriptHost: Sendable {
    /// Copies `scripts` (name → text) into `/run/berth-checks` in the container (folder 0700, files
    /// 0700, owned by root), replacing ones of the same name.
    func install(scripts: [String: String], containerID: String) async throws(LabScriptFailure)
    /// Runs `/run/berth-checks/<script>` as root with `environment` added (`BERTH_RESULT` is set by
    /// the host), killing it and its children after `timeout`.
    func run(script: String, containerID: String, environment: [String: String], timeout: Duration) async throws(LabScriptFailure) -> ScriptRun
}

/// What the lifecycle asks of labs when an instance starts and stops.
public protocol LabInstanceHooks: Sendable {
    /// Installs the environment's scripts in the freshly started container and runs `setup`.
    /// Throws ``LabSetupFailure`` when either fails; the instance must then not be reported running.
    func prepare(_ instance: Instance, containerID: String, environment: EnvironmentSpec) async throws
    /// Runs `cleanup` best-effort, with a short timeout, before the container is removed.
    func cleanup(_ instance: Instance, environment: EnvironmentSpec) async
}

/// A lab's scripts could not be installed, or its `setup` did not pass.
public struct LabSetupFailure: Error, Sendable {
    /// What the learner is told.
    public static let learnerMessage = "The lab's setup failed; an organiser can see why."
    /// For operators: the script, its exit code or why it could not run, and its output's tail.
    public var operatorDetail: String
}

/// Runs an environment's `checks/` scripts in its instances: installs them when an instance starts,
/// runs `setup` before the instance is reported running, runs checks under the contract
/// (``CheckContract``) with a timeout, and `cleanup` before a stop.
public struct LabChecks: LabCheckRunning, LabInstanceHooks {
    /// The folder scripts live in inside an instance.
    public static let scriptFolder = "/run/berth-checks"
    /// Capabilities a lab's container gets so its root-run scripts can read, write and chown the
    /// learner's files (the learner's own processes, not root, never hold them).
    public static let scriptCapabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER"]
    /// The longest `cleanup` may run: it must never hold up a stop.
    public static let cleanupTimeout: Duration = .seconds(10)

    let host: any LabScriptHost
    let catalog: EnvironmentCatalog
    /// How long a script may run before it is killed and the check is a `check_error`
    /// (`BERTH_CHECK_TIMEOUT`, default 60 s).
    public let timeout: Duration
    let logger: Logger

    /// Creates a runner of scripts read from `catalog`'s folders and run on `host`.
    public init(host: any LabScriptHost, catalog: EnvironmentCatalog, timeout: Duration = .seconds(60), logger: Logger = Logger(label: "berth.labs")) {
        self.host = host
        self.catalog = catalog
        self.timeout = timeout
        self.logger = logger
    }

    public func run(script: String, in instance: Instance, environment: EnvironmentSpec) async -> CheckOutcome {
        let started = ContinuousClock.now
        guard let lab = environment.lab, lab.scripts.contains(script) else {
            return failure(script, instance, "the environment has no script checks/\(script)", started: started)
        }
        guard instance.state == .running, let containerID = instance.containerID else {
            return failure(script, instance, "the instance is \(instance.state.rawValue), not running", started: started)
        }
        return await execute(script, lab: lab, instance: instance, containerID: containerID, environment: environment, timeout: timeout, started: started)
    }

    public func prepare(_ instance: Instance, containerID: String, environment: EnvironmentSpec) async throws {
        guard let lab = environment.lab, !lab.scripts.isEmpty else { return }
        let scripts: [String: String]
        do {
            scripts = try await read(lab.scripts, of: environment)
            try await host.install(scripts: scripts, containerID: containerID)
        } catch let error as LabSetupFailure {
            logger.error("lab scripts could not be installed", metadata: ["instance.id": "\(instance.id)", "environment": "\(environment.slug)", "reason": "\(error.operatorDetail)"])
            throw error
        } catch {
            let detail = "the scripts could not be copied into the instance: \(Self.describe(error))"
            logger.error("lab scripts could not be installed", metadata: ["instance.id": "\(instance.id)", "environment": "\(environment.slug)", "reason": "\(detail)"])
            throw LabSetupFailure(operatorDetail: detail)
        }
        guard lab.scripts.contains("setup") else { return }
        let started = ContinuousClock.now
        let outcome = await execute("setup", lab: lab, instance: instance, containerID: containerID, environment: environment, timeout: timeout, started: started)
        guard outcome.status == .passed else {
            let why = outcome.status == .checkError ? "could not run" : "exited with \(outcome.exitCode.map(String.init) ?? "?")"
            let detail = "checks/setup \(why)" + (outcome.operatorDetail.map { ":\n\($0)" } ?? "")
            logger.error("lab setup failed", metadata: [
                "instance.id": "\(instance.id)", "environment": "\(environment.slug)", "script": "setup", "reason": "\(detail)",
            ])
            throw LabSetupFailure(operatorDetail: detail)
        }
        logger.info("lab setup passed", metadata: ["instance.id": "\(instance.id)", "duration.ms": "\(outcome.durationMilliseconds)"])
    }

    public func cleanup(_ instance: Instance, environment: EnvironmentSpec) async {
        guard let lab = environment.lab, lab.scripts.contains("cleanup"), let containerID = instance.containerID else { return }
        let outcome = await execute(
            "cleanup", lab: lab, instance: instance, containerID: containerID, environment: environment,
            timeout: min(timeout, Self.cleanupTimeout), started: .now
        )
        if outcome.status != .passed {
            logger.notice("lab cleanup did not pass; the instance stops anyway", metadata: [
                "instance.id": "\(instance.id)", "script": "cleanup", "reason": "\(outcome.operatorDetail ?? "exit \(outcome.exitCode ?? -1)")",
            ])
        }
    }

    // MARK: - Internals

    private func execute(
        _ script: String, lab: LabSpec, instance: Instance, containerID: String, environment: EnvironmentSpec, timeout: Duration,
        started: ContinuousClock.Instant
    ) async -> CheckOutcome {
        let variables = ["BERTH_STEP": Self.step(of: script, in: lab), "BERTH_INSTANCE_ID": instance.id]
        do {
            var run = try await host.run(script: script, containerID: containerID, environment: variables, timeout: timeout)
            if run.scriptMissing {
                // Scripts live on a tmpfs: an instance started before its environment had them, or
                // a script removed by another, gets them again once.
                logger.notice("lab script missing in the instance; installing the scripts again", metadata: ["instance.id": "\(instance.id)", "script": "\(script)"])
                try await host.install(scripts: read(lab.scripts, of: environment), containerID: containerID)
                run = try await host.run(script: script, containerID: containerID, environment: variables, timeout: timeout)
            }
            let duration = ContinuousClock.now - started
            if run.scriptMissing {
                return failure(script, instance, "checks/\(script) is not in \(Self.scriptFolder) even after installing the scripts", started: started)
            }
            if run.exitCode == 126 || run.exitCode == 127 {
                let tail = CheckContract.outputTail(stdout: run.stdout, stderr: run.stderr)
                return failure(
                    script, instance,
                    "exit \(run.exitCode): the script is not executable, or its interpreter (the #! line) or a command it runs is missing in the image\(tail.isEmpty ? "" : "\n" + tail)",
                    exitCode: run.exitCode, started: started
                )
            }
            var outcome = CheckContract.conclude(exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr, resultFile: run.resultFile, duration: duration)
            if run.resultTooLarge {
                let note = "$BERTH_RESULT is larger than \(CheckBounds.maximumResultBytes >> 10) KiB and was ignored"
                outcome.operatorDetail = [note, outcome.operatorDetail].compactMap { $0 }.joined(separator: "\n")
            }
            logger.debug("lab script ran", metadata: [
                "instance.id": "\(instance.id)", "script": "\(script)", "status": "\(outcome.status.rawValue)", "duration.ms": "\(outcome.durationMilliseconds)",
            ])
            return outcome
        } catch let error as LabSetupFailure {
            return failure(script, instance, error.operatorDetail, started: started)
        } catch let error as LabScriptFailure {
            return failure(script, instance, Self.describe(error), started: started)
        } catch {
            return failure(script, instance, "\(error)", started: started)
        }
    }

    /// A `check_error`, logged with its detail for operators.
    private func failure(_ script: String, _ instance: Instance, _ reason: String, exitCode: Int? = nil, started: ContinuousClock.Instant) -> CheckOutcome {
        logger.warning("lab script could not run", metadata: ["instance.id": "\(instance.id)", "script": "\(script)", "reason": "\(reason)"])
        return CheckContract.checkError(reason, exitCode: exitCode, duration: ContinuousClock.now - started)
    }

    /// The scripts' texts from the environment's `checks/` folder.
    private func read(_ names: [String], of environment: EnvironmentSpec) async throws -> [String: String] {
        let folder = await catalog.folder(of: environment.slug)
        var scripts: [String: String] = [:]
        for name in names {
            switch LabFolder.script(name, in: folder) {
            case .success(let data):
                guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
                    throw LabSetupFailure(operatorDetail: "checks/\(name) is not UTF-8 text without NUL bytes")
                }
                scripts[name] = text
            case .failure(.missing):
                throw LabSetupFailure(operatorDetail: "checks/\(name) is no longer a regular file in \(folder.path); reload the catalog")
            case .failure(.tooLarge):
                throw LabSetupFailure(operatorDetail: "checks/\(name) is larger than \(LabBounds.maximumScriptBytes >> 10) KiB")
            }
        }
        return scripts
    }

    /// The step a script belongs to: `<id>` of `check-<id>`/`solve-<id>`, else the first step.
    static func step(of script: String, in lab: LabSpec) -> String {
        for prefix in ["check-", "solve-"] where script.hasPrefix(prefix) {
            return String(script.dropFirst(prefix.count))
        }
        return lab.steps.first?.id ?? ""
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case LabScriptFailure.timedOut(let limit): return "timed out after \(limit); the script and its children were killed (BERTH_CHECK_TIMEOUT sets the limit)"
        case LabScriptFailure.notRunning(let detail): return "the instance's container is not running: \(detail)"
        case LabScriptFailure.outputTooLarge: return "the script wrote more than \(CheckBounds.maximumOutputBytes >> 20) MiB of output and was killed"
        case LabScriptFailure.engine(let detail): return "engine error: \(detail)"
        default: return "\(error)"
        }
    }
}

extension DockerRuntime: LabScriptHost {}

extension EngineBackedRuntime {
    public func install(scripts: [String: String], containerID: String) async throws(LabScriptFailure) {
        // The text travels as arguments (exec has no stdin here, and the archive API cannot write
        // to a tmpfs), written to a temporary name and moved into place.
        let program = #"umask 077 && mkdir -p "${1%/*}" && chmod 700 "${1%/*}" && f="$1" && shift && : > "$f.part" && for c in "$@"; do printf '%s' "$c" >> "$f.part" || exit 1; done && chmod 700 "$f.part" && mv -f "$f.part" "$f""#
        for (name, text) in scripts.sorted(by: { $0.key < $1.key }) {
            let command = ["/bin/sh", "-c", program, "berth-install", "\(LabChecks.scriptFolder)/\(name)"] + ScriptChunks.split(text)
            let result = try await labExec(containerID, command: command, environment: [], maxOutputBytes: 64 << 10, timeout: engineTimeout)
            guard result.exitCode == 0 else {
                throw .engine("installing checks/\(name) exited with \(result.exitCode): \(result.stderr.prefix(300))")
            }
        }
    }

    public func run(script: String, containerID: String, environment: [String: String], timeout: Duration) async throws(LabScriptFailure) -> ScriptRun {
        let token = (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        let folder = LabChecks.scriptFolder
        let pidFile = "\(folder)/.run-\(token).pid"
        let resultFile = "\(folder)/.result-\(token).json"
        // The wrapper records its pid so a timeout can kill it and the script's tree, says when the
        // script is not there at all, and says on its last stderr line when the script left a
        // result file: a check without one takes a single exec. (A script that prints the same
        // line only costs one more read.) It starts a `#!` script's interpreter itself, as the
        // kernel would (the rest of the line is one argument), because a swarm service's tmpfs is
        // always `noexec`; a carriage return ending the line is dropped.
        let wrapper = #"""
            pid=$1 script=$2 token=$3
            echo $$ > "$pid" && [ -e "$script" ] || { echo "berth: script missing" >&2; exit 127; }
            line=; IFS= read -r line < "$script" || :
            case $line in
            '#!'*)
              line=${line#??}; cr=$(printf '\r'); line=${line%"$cr"}
              set -f; set -- $line; set +f
              if [ $# -eq 0 ]; then "$script"
              else interpreter=$1; shift
                if [ $# -gt 0 ]; then "$interpreter" "$*" "$script"; else "$interpreter" "$script"; fi
              fi ;;
            *) "$script" ;;
            esac
            rc=$?
            rm -f "$pid"
            if [ -s "$BERTH_RESULT" ]; then echo "berth: result $token" >&2; else rm -f "$BERTH_RESULT"; fi
            exit $rc
            """#
        let path = "\(folder)/\(script)"
        let variables = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + ["BERTH_RESULT=\(resultFile)"]
        let command = ["/bin/sh", "-c", wrapper, "berth-run", pidFile, path, token]
        let resultMarker = "berth: result \(token)\n"
        let outcome: Result<ExecResult, LabScriptFailure> = await withTaskGroup(of: Result<ExecResult, LabScriptFailure>?.self) { group in
            group.addTask {
                do throws(LabScriptFailure) {
                    return .success(try await labExec(
                        containerID, command: command, environment: variables, maxOutputBytes: CheckBounds.maximumOutputBytes,
                        timeout: timeout + .seconds(30), workingDir: folder
                    ))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(.timedOut(timeout))
            }
            var first: Result<ExecResult, LabScriptFailure>?
            while first == nil, let next = await group.next() { first = next }
            if case .failure(.timedOut)? = first {
                // Killing the tree ends the exec's stream, so the exec task returns soon after.
                await killTree(pidFile: pidFile, containerID: containerID)
            }
            group.cancelAll()
            return first ?? .failure(.engine("the run ended without a result"))
        }
        let result: ExecResult
        switch outcome {
        case .success(let value):
            result = value
        case .failure(let failure):
            if failure == .outputTooLarge { await killTree(pidFile: pidFile, containerID: containerID) }
            await removeRunFiles(pidFile: pidFile, resultFile: resultFile, containerID: containerID)
            throw failure
        }
        if result.exitCode == 127, result.stderr.hasSuffix("berth: script missing\n") {
            await removeRunFiles(pidFile: pidFile, resultFile: resultFile, containerID: containerID)
            return ScriptRun(exitCode: 127, stderr: result.stderr, scriptMissing: true)
        }
        var run = ScriptRun(exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr)
        guard result.stderr.hasSuffix(resultMarker) else { return run }
        run.stderr = String(result.stderr.dropLast(resultMarker.count))
        do {
            let read = try await labExec(
                containerID, command: ["/bin/sh", "-c", #"cat "$1" 2>/dev/null; rm -f "$1" "$2""#, "berth-result", resultFile, pidFile],
                environment: [], maxOutputBytes: CheckBounds.maximumResultBytes, timeout: engineTimeout
            )
            run.resultFile = read.stdout.isEmpty ? nil : read.stdout
        } catch .outputTooLarge {
            run.resultTooLarge = true
            await removeRunFiles(pidFile: pidFile, resultFile: resultFile, containerID: containerID)
        } catch {
            // The verdict stands on the exit code; only the result file's extras are lost.
            run.resultFile = nil
        }
        return run
    }

    /// One exec as root in `/run/berth-checks`, its errors mapped to ``LabScriptFailure``.
    private func labExec(
        _ containerID: String, command: [String], environment: [String], maxOutputBytes: Int, timeout: Duration, workingDir: String = "/"
    ) async throws(LabScriptFailure) -> ExecResult {
        do {
            return try await engines.engine(forContainer: containerID).exec(
                containerID, command: command, user: "0", workingDir: workingDir,
                env: environment, maxOutputBytes: maxOutputBytes, outputTimeout: timeout
            )
        } catch let error as DockerError {
            if error.message.contains("exec output exceeded") { throw .outputTooLarge }
            if error.status == 409 || error.status == 404 { throw .notRunning(error.message) }
            throw .engine("\(error.operation): \(error.message)")
        } catch {
            throw .engine("\(error)")
        }
    }

    /// Stops, then kills, the process whose pid is in `pidFile` and all its descendants.
    private func killTree(pidFile: String, containerID: String) async {
        let program = #"""
            k() { kill -STOP "$1" 2>/dev/null
              for d in /proc/[0-9]*; do
                while read -r key value; do
                  if [ "$key" = "PPid:" ]; then [ "$value" = "$1" ] && k "${d#/proc/}"; break; fi
                done < "$d/status" 2>/dev/null
              done
              kill -KILL "$1" 2>/dev/null; }
            p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && k "$p"; rm -f "$1"
            """#
        _ = try? await labExec(containerID, command: ["/bin/sh", "-c", program, "berth-kill", pidFile], environment: [], maxOutputBytes: 64 << 10, timeout: engineTimeout)
    }

    private func removeRunFiles(pidFile: String, resultFile: String, containerID: String) async {
        _ = try? await labExec(containerID, command: ["rm", "-f", pidFile, resultFile], environment: [], maxOutputBytes: 64 << 10, timeout: engineTimeout)
    }
}

/// Scripts travel to containers as exec arguments, in pieces.
enum ScriptChunks {
    /// Largest piece of a script passed as one argument (the kernel refuses single arguments over 128 KiB).
    static let scriptChunkBytes = 96 << 10

    /// `text` in pieces of at most ``scriptChunkBytes`` UTF-8 bytes, split between characters.
    static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            if bytes + size > scriptChunkBytes, !current.isEmpty {
                pieces.append(current)
                current = ""
                bytes = 0
            }
            current.append(character)
            bytes += size
        }
        if !current.isEmpty || pieces.isEmpty { pieces.append(current) }
        return pieces
    }
}
