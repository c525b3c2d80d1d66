import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Lab environments for the check runner's tests on the real engine.
enum LabEnvironments {
    static let contractSlug = "berth-it-lab"
    static let brokenSetupSlug = "berth-it-lab-setup"

    static let berthBlock = """
        berth:
          terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /home/player}
          resources: {memory: 48m, cpus: 0.5, pids: 64}
          network: none
          readOnlyRoot: true
          writable: [/home/player, /tmp]
          tmpfsSize: 4m
        """

    /// One step per behaviour of the contract, each checked by its own script.
    static let contract = TestEnvironment(
        slug: contractSlug,
        challenge: """
            name: Integration lab
            category: test
            \(berthBlock)
            steps:
              - {id: pass, title: Pass}
              - {id: fail, title: Fail}
              - {id: json, title: JSON}
              - {id: disagree, title: Disagree}
              - {id: slow, title: Slow}
              - {id: nointerp, title: No interpreter}
              - {id: noexec, title: Not executable}
              - {id: env, title: Environment}
              - {id: loud, title: Loud}
            """,
        dockerfile: Environments.baseDockerfile,
        files: [
            "checks/setup": "#!/bin/sh\ndate +%s > /tmp/setup-ran\nchown 1000:1000 /tmp/setup-ran\n",
            "checks/check-pass": "#!/bin/sh\necho all good\n",
            "checks/check-fail": "#!/bin/sh\necho 'checking'\necho 'FAIL: the first thing'\necho 'FAIL: the second thing'\necho oops >&2\nexit 2\n",
            "checks/check-json": """
                #!/bin/sh
                cat > "$BERTH_RESULT" <<'EOF'
                {"passed": false, "failures": [{"code": "no_file", "message": "no file", "hint": "make one"}], "metrics": {"files": 0, "score": 0.5}, "notes": ["checked /tmp"]}
                EOF
                exit 1

                """,
            "checks/check-disagree": "#!/bin/sh\necho '{\"passed\": false, \"failures\": [{\"message\": \"JSON says no\"}]}' > \"$BERTH_RESULT\"\nexit 0\n",
            "checks/check-slow": "#!/bin/sh\nsleep 300 &\nsleep 301\n",
            "checks/check-nointerp": "#!/usr/bin/no-such-python\nprint('hello')\n",
            "checks/check-noexec": "just text, not a script\n",
            "checks/check-env": """
                #!/bin/sh
                status=0
                fail() { echo "FAIL: $1"; status=1; }
                [ "$BERTH_STEP" = env ] || fail "BERTH_STEP is '$BERTH_STEP'"
                [ -n "$BERTH_INSTANCE_ID" ] || fail "no BERTH_INSTANCE_ID"
                case "$BERTH_RESULT" in /run/berth-checks/*) ;; *) fail "BERTH_RESULT is '$BERTH_RESULT'" ;; esac
                [ "$(id -u)" = 0 ] || fail "runs as $(id -u)"
                [ "$(pwd)" = /run/berth-checks ] || fail "cwd is $(pwd)"
                echo "$BERTH_INSTANCE_ID" > /tmp/instance-id
                exit $status

                """,
            "checks/check-loud": "#!/bin/sh\nyes 'FAIL: again and again' | head -c 3000000\n",
        ]
    )

    static let brokenSetup = TestEnvironment(
        slug: brokenSetupSlug,
        challenge: """
            name: Integration lab with a broken setup
            category: test
            \(berthBlock)
            """,
        dockerfile: Environments.baseDockerfile,
        files: [
            "checks/setup": "#!/bin/sh\necho 'installing the exercise'\necho 'could not find /opt/exercise' >&2\nexit 4\n",
            "checks/check": "#!/bin/sh\nexit 0\n",
        ]
    )

    /// An example environment folder read into a ``TestEnvironment`` (text files only).
    static func example(_ folder: URL) throws -> TestEnvironment {
        var files: [String: String] = [:]
        var dockerfile: String?
        var challenge = ""
        let root = folder.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw FixtureError("cannot list \(root)") }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)), as: UTF8.self)
            switch relative {
            case "Dockerfile": dockerfile = text
            case "challenge.yml", "challenge.yaml": challenge = text
            default: files[relative] = text
            }
        }
        return TestEnvironment(slug: folder.lastPathComponent, challenge: challenge, dockerfile: dockerfile, files: files)
    }
}

extension LifecycleHarness {
    /// A check runner on this harness's engine and catalog, hooked into its lifecycle.
    func labChecks(timeout: Duration = .seconds(30)) async -> LabChecks {
        let checks = LabChecks(host: runtime, catalog: catalog, timeout: timeout, logger: logger)
        await lifecycle.useLabHooks(checks)
        return checks
    }
}

extension Integration {
    @Suite("Lab checks on the real engine")
    struct LabEngineTests {
        @Test("the contract end to end: exit codes, FAIL: lines, JSON, disagreement, timeout, missing interpreter, bounds")
        func contract() async throws {
            try await LifecycleHarness.with(environments: [LabEnvironments.contract]) { harness in
                let checks = await harness.labChecks(timeout: .seconds(3))
                let instance = try await harness.lifecycle.request(environment: LabEnvironments.contractSlug, by: try await harness.player("learner"))
                let environment = try #require(await harness.catalog.environment(LabEnvironments.contractSlug))
                func check(_ step: String) async -> CheckOutcome {
                    await checks.run(script: "check-\(step)", in: instance, environment: environment)
                }

                // setup ran before the instance was reported running.
                let marker = try await harness.exec(instance, "cat /tmp/setup-ran")
                #expect(marker.exitCode == 0 && !marker.stdout.isEmpty, "setup's marker: \(marker.stderr)")

                let passed = await check("pass")
                #expect(passed.status == .passed && passed.failures.isEmpty && passed.exitCode == 0)

                let failed = await check("fail")
                #expect(failed.status == .failed && failed.exitCode == 2)
                #expect(failed.failures.map(\.message) == ["the first thing", "the second thing"])
                #expect(failed.operatorDetail?.contains("oops") == true)

                let json = await check("json")
                #expect(json.status == .failed)
                #expect(json.failures == [CheckFailure(code: "no_file", message: "no file", hint: "make one")])
                #expect(json.metrics == ["files": 0, "score": 0.5])
                #expect(json.notes == ["checked /tmp"])

                let disagree = await check("disagree")
                #expect(disagree.status == .passed, "the exit code wins")
                #expect(disagree.failures.map(\.message) == ["JSON says no"])
                #expect(disagree.operatorDetail?.contains("disagree") == true)

                let started = ContinuousClock.now
                let slow = await check("slow")
                #expect(slow.status == .checkError && slow.failures.isEmpty)
                #expect(slow.operatorDetail?.contains("timed out") == true)
                #expect(ContinuousClock.now - started < .seconds(60), "a timeout does not wait for the script")
                // The script and its background child were killed.
                let processes = try await harness.exec(instance, "ps -o args | grep -c '^sleep 30[01]' || true")
                #expect(processes.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "left running: \(processes.stdout)")

                for step in ["nointerp", "noexec"] {
                    let outcome = await check(step)
                    #expect(outcome.status == .checkError, "\(step): \(outcome)")
                    #expect(outcome.failures.isEmpty)
                }

                let env = await check("env")
                #expect(env.status == .passed, "\(env.failures.map(\.message))")
                #expect(try await harness.exec(instance, "cat /tmp/instance-id").stdout == instance.id + "\n")

                let loud = await check("loud")
                #expect(loud.status == .checkError, "more than 1 MiB of output")

                // No run files are left behind.
                let leftovers = try await harness.docker.exec(try #require(instance.containerID), command: ["/bin/sh", "-c", "ls -A /run/berth-checks | grep '^\\.' || true"], user: "0")
                #expect(leftovers.stdout.isEmpty, "\(leftovers.stdout)")

                // A stopped instance is check_error.
                var stopped = try await harness.lifecycle.stop(instance.id, by: harness.admin)
                stopped.containerID = instance.containerID
                #expect(await checks.run(script: "check-pass", in: stopped, environment: environment).status == .checkError)
            }
        }

        @Test("the learner can neither list nor read /run/berth-checks; root owns it with mode 0700")
        func learnerCannotRead() async throws {
            try await LifecycleHarness.with(environments: [LabEnvironments.contract]) { harness in
                _ = await harness.labChecks()
                let instance = try await harness.lifecycle.request(environment: LabEnvironments.contractSlug, by: try await harness.player("learner"))
                // As the terminal's user, as the learner's shell runs (the terminal names its user).
                let containerID = try #require(instance.containerID)
                func learner(_ script: String) async throws -> ExecResult {
                    try await harness.docker.exec(containerID, command: ["/bin/sh", "-c", script], user: "1000:1000")
                }
                let list = try await learner("id -u; ls /run/berth-checks")
                #expect(list.stdout.hasPrefix("1000\n"))
                #expect(list.exitCode != 0 && list.stderr.contains("Permission denied"), "\(list)")
                let read = try await learner("cat /run/berth-checks/check-pass")
                #expect(read.exitCode != 0 && !read.stdout.contains("all good"), "\(read)")
                let mode = try await learner("stat -c '%a %u' /run/berth-checks")
                #expect(mode.stdout == "700 0\n")
                // The learner holds no capabilities, though the lab's root scripts do.
                let capabilities = try await learner("grep CapEff /proc/self/status")
                #expect(capabilities.stdout.hasSuffix("0000000000000000\n"), "\(capabilities.stdout)")
                // The scripts are there, for root only.
                let root = try await harness.docker.exec(try #require(instance.containerID), command: ["stat", "-c", "%a %u", "/run/berth-checks/check-pass"], user: "0")
                #expect(root.stdout == "700 0\n")
            }
        }

        @Test("a failing setup fails the start: the learner gets a plain reason, the operator the output")
        func failingSetup() async throws {
            try await LifecycleHarness.with(environments: [LabEnvironments.brokenSetup]) { harness in
                _ = await harness.labChecks()
                let learner = try await harness.player("learner")
                let error = await #expect(throws: BerthError.self) {
                    try await harness.lifecycle.request(environment: LabEnvironments.brokenSetupSlug, by: learner)
                }
                #expect(error?.code == .instanceStartFailed)
                #expect(error?.message == LabSetupFailure.learnerMessage)
                let instance = try #require(try await harness.store.instances.instances(InstanceQuery(owner: Owner(kind: .user, id: learner.id))).first)
                #expect(instance.state == .failed)
                let events = try await harness.store.instances.events(instanceID: instance.id, limit: 20)
                let setup = try #require(events.first { $0.kind == "lab.setup_failed" })
                #expect(setup.detail.contains("exited with 4") && setup.detail.contains("could not find /opt/exercise"), "\(setup.detail)")
                #expect(!events.contains { $0.kind == "instance.running" })
                let containers = try await harness.docker.listContainers(labels: ["\(BerthLabel.instance)=\(instance.id)"])
                #expect(containers.isEmpty, "the failed instance's container is removed")
            }
        }

        /// The "CI proves check fails fresh and passes after solve", for every example lab
        /// found in `BERTH_TEST_EXAMPLES` (or examples/environments): a new example is covered
        /// without editing this test.
        @Test("every example lab: each step's check fails on a fresh instance and passes after its solve")
        func examplesFailFreshPassAfterSolve() async throws {
            let scan = try EnvironmentCatalog.scan(examplesFolder())
            let labs = scan.environments.filter { $0.lab != nil }
            #expect(labs.count >= 2, "examples/environments holds at least two labs")
            for lab in labs {
                let folder = examplesFolder().appendingPathComponent(lab.slug, isDirectory: true)
                try await LifecycleHarness.with(environments: [try LabEnvironments.example(folder)]) { harness in
                    let checks = await harness.labChecks()
                    let environment = try #require(await harness.catalog.environment(lab.slug))
                    let steps = try #require(environment.lab?.steps)
                    #expect(steps.contains { $0.checkScript != nil }, "\(lab.slug) checks something")
                    for step in steps {
                        guard let check = step.checkScript else { continue }
                        let solve = try #require(step.solveScript, "\(lab.slug): step \(step.id) has a check but no solve script")
                        // A fresh instance per step: a step's check must fail without its own solve.
                        let instance = try await harness.lifecycle.request(environment: lab.slug, by: try await harness.player("learner-\(step.id)"))
                        let fresh = await checks.run(script: check, in: instance, environment: environment)
                        #expect(fresh.status == .failed, "\(lab.slug)/\(step.id) fresh: \(fresh)")
                        #expect(!fresh.failures.isEmpty && fresh.failures.allSatisfy { !$0.message.isEmpty })
                        let solved = await checks.run(script: solve, in: instance, environment: environment)
                        #expect(solved.status == .passed, "\(lab.slug)/\(step.id) solve: \(solved)")
                        let after = await checks.run(script: check, in: instance, environment: environment)
                        #expect(after.status == .passed, "\(lab.slug)/\(step.id) after solve: \(after)")
                        _ = try await harness.lifecycle.stop(instance.id, by: harness.admin)
                    }
                }
            }
        }
    }
}
