import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import Testing

/// The check runner and the lifecycle's lab hooks over fakes (engine and script host); the real
/// host is tested against the engine in IntegrationTests' `LabEngineTests`.
@Suite("Lab check runner and lifecycle hooks (fakes)")
struct LabRunnerTests {
    struct Rig {
        let host: FakeLabScriptHost
        let runtime: FakeInstanceRuntime
        let store: BerthDatabase
        let catalog: EnvironmentCatalog
        let lifecycle: InstanceLifecycle
        let checks: LabChecks
        let player: User
    }

    static let challenge = """
        name: Fake lab
        image: berth/base:latest
        berth:
          terminal: {user: "1000:1000"}
        steps:
          - {id: one, title: One}
          - {id: two, title: Two}
        """

    static func with(scripts: [String] = ["setup", "check-one", "check-two", "cleanup"], _ body: (Rig) async throws -> Void) async throws {
        try await TemporaryDirectory.with(prefix: "berth-labs") { directory in
            _ = try directory.write("environments/fake-lab/challenge.yml", challenge)
            for script in scripts { _ = try directory.write("environments/fake-lab/checks/\(script)", "#!/bin/sh\necho \(script)\n") }
            let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }
            let catalog = EnvironmentCatalog(directory: directory.path("environments"))
            let scan = try await catalog.reload()
            #expect(scan.isValid, "\(scan.problems)")
            let store = try await BerthDatabase.open(path: directory.path("berth.db").path, logger: logger)
            let runtime = FakeInstanceRuntime()
            let host = FakeLabScriptHost()
            let lifecycle = InstanceLifecycle(
                store: store, runtime: runtime, catalog: catalog,
                policy: LifecyclePolicy(assignment: .user, ownerCap: 3, globalCap: 10, portRange: 31000...31099, endpointHost: "127.0.0.1"), logger: logger
            )
            let checks = LabChecks(host: host, catalog: catalog, timeout: .seconds(5), logger: logger)
            await lifecycle.useLabHooks(checks)
            let player = try await Accounts(store: store).createUser(name: "learner", role: .player)
            do {
                try await body(Rig(host: host, runtime: runtime, store: store, catalog: catalog, lifecycle: lifecycle, checks: checks, player: player))
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }

    @Test("a start installs every script and runs setup before the instance is running; a stop runs cleanup")
    func startAndStop() async throws {
        try await Self.with { rig in
            let instance = try await rig.lifecycle.request(environment: "fake-lab", by: rig.player)
            #expect(instance.state == .running)
            let containerID = try #require(instance.containerID)
            let installed = await rig.host.installed[containerID] ?? [:]
            #expect(installed.keys.sorted() == ["check-one", "check-two", "cleanup", "setup"])
            #expect(installed["setup"] == "#!/bin/sh\necho setup\n")
            #expect(await rig.host.runs.map(\.script) == ["setup"])
            #expect(await rig.host.runs.first?.environment == ["BERTH_STEP": "one", "BERTH_INSTANCE_ID": instance.id])

            _ = try await rig.lifecycle.stop(instance.id, by: rig.player)
            let runs = await rig.host.runs
            #expect(runs.map(\.script) == ["setup", "cleanup"])
            #expect(runs.last?.timeout == .seconds(5), "cleanup's timeout is the shorter of the check timeout and 10 s")
        }
    }

    @Test("a failing setup fails the start with a plain reason; the operator's event holds the output")
    func setupFails() async throws {
        try await Self.with { rig in
            await rig.host.answer("setup", with: ScriptRun(exitCode: 3, stdout: "preparing\n", stderr: "apk: not found\n"))
            let error = await #expect(throws: BerthError.self) { try await rig.lifecycle.request(environment: "fake-lab", by: rig.player) }
            #expect(error?.code == .instanceStartFailed)
            #expect(error?.message == LabSetupFailure.learnerMessage)
            let instance = try #require(try await rig.store.instances.instances(InstanceQuery(owner: Owner(kind: .user, id: rig.player.id))).first)
            #expect(instance.state == .failed)
            #expect(instance.reason == LabSetupFailure.learnerMessage)
            let events = try await rig.store.instances.events(instanceID: instance.id, limit: 20)
            let setup = try #require(events.first { $0.kind == "lab.setup_failed" })
            #expect(setup.detail.contains("checks/setup exited with 3"))
            #expect(setup.detail.contains("apk: not found"))
            #expect(!events.contains { $0.kind == "instance.running" })
            #expect(await rig.runtime.calls.contains { if case .destroy = $0 { true } else { false } }, "the container is removed")
        }
    }

    @Test("scripts that cannot be installed, and a setup that cannot run, fail the start too")
    func installAndTimeoutFail() async throws {
        try await Self.with { rig in
            await rig.host.failInstalls(.engine("no /bin/sh"))
            await #expect(throws: BerthError.self) { try await rig.lifecycle.request(environment: "fake-lab", by: rig.player) }
            await rig.host.failInstalls(nil)
            await rig.host.answer("setup", failing: .timedOut(.seconds(5)))
            await #expect(throws: BerthError.self) { try await rig.lifecycle.request(environment: "fake-lab", by: rig.player) }
            let failed = try await rig.store.instances.instances(InstanceQuery(owner: Owner(kind: .user, id: rig.player.id)))
            #expect(failed.count == 2 && failed.allSatisfy { $0.state == .failed })
        }
    }

    @Test("checks: the contract's verdicts, and everything that keeps a script from running is check_error")
    func runVerdicts() async throws {
        try await Self.with { rig in
            let instance = try await rig.lifecycle.request(environment: "fake-lab", by: rig.player)
            let environment = try #require(await rig.catalog.environment("fake-lab"))
            #expect(await rig.checks.run(script: "check-one", in: instance, environment: environment).status == .passed)

            await rig.host.answer("check-one", with: ScriptRun(exitCode: 1, stdout: "FAIL: no file\n", resultFile: #"{"metrics": {"n": 2}}"#))
            let failed = await rig.checks.run(script: "check-one", in: instance, environment: environment)
            #expect(failed.status == .failed && failed.failures.map(\.message) == ["no file"] && failed.metrics == ["n": 2])

            for (answer, expected) in [(127, "interpreter"), (126, "not executable")] {
                await rig.host.answer("check-one", with: ScriptRun(exitCode: answer, stderr: "/run/berth-checks/check-one: not found"))
                let outcome = await rig.checks.run(script: "check-one", in: instance, environment: environment)
                #expect(outcome.status == .checkError && outcome.failures.isEmpty, "\(answer)")
                #expect(outcome.operatorDetail?.contains(expected) == true, "\(answer): \(outcome.operatorDetail ?? "")")
            }
            for failure in [LabScriptFailure.timedOut(.seconds(5)), .notRunning("gone"), .engine("boom"), .outputTooLarge] {
                await rig.host.answer("check-one", failing: failure)
                let outcome = await rig.checks.run(script: "check-one", in: instance, environment: environment)
                #expect(outcome.status == .checkError, "\(failure)")
            }
            await rig.host.answer("check-one", failing: .timedOut(.seconds(5)))
            #expect(await rig.checks.run(script: "check-one", in: instance, environment: environment).operatorDetail?.contains("timed out") == true)

            // A script the lab does not have, and an instance that is not running, never reach the host.
            let before = await rig.host.runs.count
            #expect(await rig.checks.run(script: "check-three", in: instance, environment: environment).status == .checkError)
            var stopped = instance
            stopped.state = .stopped
            #expect(await rig.checks.run(script: "check-two", in: stopped, environment: environment).status == .checkError)
            #expect(await rig.host.runs.count == before)
        }
    }

    @Test("a script missing in the instance is installed again and the check retried once")
    func reinstall() async throws {
        try await Self.with(scripts: ["check-one"]) { rig in
            let instance = try await rig.lifecycle.request(environment: "fake-lab", by: rig.player)
            let environment = try #require(await rig.catalog.environment("fake-lab"))
            var elsewhere = instance
            elsewhere.containerID = "another-container"
            let outcome = await rig.checks.run(script: "check-one", in: elsewhere, environment: environment)
            #expect(outcome.status == .passed)
            #expect(await rig.host.installed["another-container"]?.keys.sorted() == ["check-one"])
            #expect(await rig.host.runs.map(\.script) == ["check-one", "check-one"])
        }
    }
}
