import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Reads a cgroup file inside the container, trying cgroup v2 then v1 paths, with shell builtins only.
func cgroupValue(_ harness: LifecycleHarness, _ instance: Instance, v2: String, v1: String) async throws -> String {
    let result = try await harness.exec(instance, "if [ -e /sys/fs/cgroup/\(v2) ]; then read v < /sys/fs/cgroup/\(v2); else read v < /sys/fs/cgroup/\(v1); fi; echo $v")
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The value of a `Key:` line of `/proc/self/status` as the shell sees it.
func procStatus(_ harness: LifecycleHarness, _ instance: Instance, _ key: String) async throws -> String {
    let result = try await harness.exec(instance, "grep '^\(key):' /proc/self/status")
    return result.stdout.replacingOccurrences(of: "\(key):", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
}

extension Integration {
    @Suite("Hardening, verified inside running instances")
    struct HardeningTests {
        @Test("the container is created with every secure default")
        func hostConfig() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let host = try await harness.container(of: instance).hostConfig
                #expect(host.memory == 48 << 20)
                #expect(host.memorySwap == 48 << 20, "memory equals memory+swap: no swap")
                #expect(host.nanoCpus == 500_000_000)
                #expect(host.pidsLimit == 48)
                #expect(host.capDrop == ["ALL"])
                #expect(host.capAdd == nil || host.capAdd == [])
                #expect(host.securityOpt == ["no-new-privileges:true"])
                #expect(host.readonlyRootfs == true)
                #expect(host.initProcess == true)
                #expect(host.privileged == false)
                #expect(host.networkMode == "none")
                #expect(Set(host.tmpfs?.keys.map { $0 } ?? []) == ["/home/player", "/tmp"])
                #expect(host.tmpfs?["/tmp"]?.contains("size=\(4 << 20)") == true)
                let ulimits = Dictionary(uniqueKeysWithValues: (host.ulimits ?? []).map { ($0.name, $0) })
                #expect(ulimits["nofile"] != nil)
                #expect(ulimits["nproc"] != nil)
            }
        }

        @Test("memory: the cgroup limit holds and allocating past it is killed, the container survives")
        func memoryLimit() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let limit = try await cgroupValue(harness, instance, v2: "memory.max", v1: "memory/memory.limit_in_bytes")
                #expect(limit == "\(48 << 20)")
                let swap = try await cgroupValue(harness, instance, v2: "memory.swap.max", v1: "memory/memory.memsw.limit_in_bytes")
                #expect(swap == "0" || swap == "\(48 << 20)", "no swap beyond the memory limit: \(swap)")

                let small = try await harness.exec(instance, "dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo ok")
                #expect(small.stdout == "ok\n")
                let big = try await harness.exec(instance, "dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null; echo status=$?")
                #expect(big.stdout == "status=137\n", "a 100 MB buffer under a 48 MB limit is OOM-killed: \(big.stdout) \(big.stderr)")
                #expect(try await harness.container(of: instance).state.running)
            }
        }

        @Test("pids: a fork bomb is contained, the container survives and other instances of the same uid can still fork")
        func forkBomb() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let bomber = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("mallory"))
                let neighbour = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let bomberID = try #require(bomber.containerID)
                #expect(try await cgroupValue(harness, bomber, v2: "pids.max", v1: "pids/pids.max") == "48")

                // Forks until the kernel refuses; ash gives up at the first refused fork. Each child
                // sleeps a few seconds, so the bomb holds every slot it got while we look.
                let bomb = try await harness.exec(bomber, "i=0; while [ $i -lt 1000 ]; do sleep 6 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo finished")
                #expect(bomb.stdout.contains("finished") == false, "1000 forks should not all succeed under a limit of 48")
                #expect(bomb.stderr.contains("can't fork"), "stderr: \(bomb.stderr)")

                let during = try await harness.docker.processCount(of: bomberID)
                #expect(during <= 48, "the pids limit holds: \(during)")
                #expect(during >= 40, "the bomb really filled the container: \(during)")
                #expect(try await harness.container(of: bomber).state.running, "the container survives")

                let neighbourFork = try await harness.exec(neighbour, "sleep 0 & wait; echo forked")
                #expect(neighbourFork.stdout == "forked\n", "another instance running as uid 1000 must keep working: \(neighbourFork.stderr)")

                let drained = try await eventually(within: 15) { try await harness.docker.processCount(of: bomberID) <= 3 }
                #expect(drained)
                let after = try await harness.exec(bomber, "echo alive")
                #expect(after.stdout == "alive\n")
            }
        }

        @Test("the shell user has no capabilities and no-new-privileges is set")
        func capabilities() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                #expect(try await harness.exec(instance, "id -u").stdout == "1000\n")
                for key in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
                    #expect(try await procStatus(harness, instance, key) == "0000000000000000", "\(key)")
                }
                #expect(try await procStatus(harness, instance, "NoNewPrivs") == "1")
                #expect(try await harness.exec(instance, "test -e /var/run/docker.sock || test -e /run/docker.sock; echo $?").stdout == "1\n", "no Docker socket inside")
            }
        }

        @Test("a ctfcli-only environment runs as the image's root user, yet with no capabilities and default limits")
        func defaultsForPlainEnvironment() async throws {
            try await LifecycleHarness.with(environments: [Environments.plain]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.plainSlug, by: harness.player("alice"))
                #expect(try await harness.exec(instance, "id -u").stdout == "0\n")
                #expect(try await procStatus(harness, instance, "CapEff") == "0000000000000000")
                #expect(try await procStatus(harness, instance, "CapBnd") == "0000000000000000")
                #expect(try await procStatus(harness, instance, "NoNewPrivs") == "1")
                let host = try await harness.container(of: instance).hostConfig
                #expect(host.memory == 256 << 20)
                #expect(host.pidsLimit == 128)
                #expect(host.readonlyRootfs == false)
                #expect(host.networkMode == "none")
                let mknod = try await harness.exec(instance, "mknod /tmp/dev-null c 1 3")
                #expect(mknod.exitCode != 0, "root without CAP_MKNOD cannot create devices")
            }
        }

        @Test("read-only root: writing to / fails, the writable paths work")
        func readOnlyRoot() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let root = try await harness.exec(instance, "touch /evil")
                #expect(root.exitCode != 0)
                #expect(root.stderr.contains("Read-only file system"), "\(root.stderr)")
                let etc = try await harness.exec(instance, "echo x >> /etc/berth-marker")
                #expect(etc.exitCode != 0)
                let writable = try await harness.exec(instance, "echo a > /home/player/a && echo b > /tmp/b && cat /home/player/a /tmp/b && stat -c %u /home/player")
                #expect(writable.exitCode == 0, "\(writable.stderr)")
                #expect(writable.stdout == "a\nb\n1000\n", "the home tmpfs belongs to the terminal user")
            }
        }

        @Test("tmpfs: writable paths have the configured size and writing past it fails")
        func tmpfsSize() async throws {
            try await LifecycleHarness.with(environments: [Environments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: Environments.shellSlug, by: harness.player("alice"))
                let df = try await harness.exec(instance, "df -k /tmp | tail -n 1")
                let columns = df.stdout.split(separator: " ", omittingEmptySubsequences: true)
                #expect(columns.first == "tmpfs", "\(df.stdout)")
                #expect(columns.dropFirst().first == "4096", "4m tmpfs: \(df.stdout)")
                let fill = try await harness.exec(instance, "dd if=/dev/zero of=/tmp/fill bs=1k count=5000")
                #expect(fill.exitCode != 0)
                #expect(fill.stderr.contains("No space left on device"), "\(fill.stderr)")
                let size = try await harness.exec(instance, "wc -c < /tmp/fill")
                #expect(Int(size.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 <= 4 << 20)
            }
        }
    }
}
