import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import DockerEngine
import Foundation
import Testing

/// Environments with `berth.containers: true`, built on the rootless Podman image.
enum ContainerLabEnvironments {
    static let slug = "berth-it-containers"
    /// `berth/podman:latest`, which `make prerequisites` builds (scripts/build-podman-image.sh), or
    /// `BERTH_PODMAN_IMAGE`.
    static let podmanImage: String = {
        let configured = ProcessInfo.processInfo.environment["BERTH_PODMAN_IMAGE"] ?? ""
        return configured.isEmpty ? "berth/podman:latest" : configured
    }()
    static let memoryBytes: Int64 = 192 << 20
    static let pids = 96

    /// A learner's shell that may run containers, on an isolated network, serving port 8080
    /// itself (so another instance has something to try to reach).
    static let shell = TestEnvironment(
        slug: slug,
        challenge: """
            name: Integration containers
            category: test
            berth:
              command: ["/bin/sh", "-c", "echo hello from berth > /tmp/index.html && exec busybox httpd -f -p 8080 -h /tmp"]
              terminal: {command: ["/bin/bash"], user: "1000:1000", workdir: /home/player}
              ports: [{port: 8080, protocol: http}]
              network: isolated
              resources: {memory: 192m, cpus: 1, pids: 96}
              writable: [/tmp]
              containers: true
            """,
        dockerfile: "FROM \(podmanImage)\n"
    )

    /// Fails with what to do when the Podman image was not built (the engine would try to pull it).
    static func requireImage() async throws {
        let docker = try DockerClient.fromEnvironment()
        do {
            _ = try await docker.inspectImage(podmanImage)
        } catch {
            throw FixtureError("The image \(podmanImage) is not in the engine. Build it first: `make prerequisites` does, or run scripts/build-podman-image.sh.")
        }
    }

    /// Builds `localhost/t` (busybox from /usr/share/berth/rootfs.tar) as the learner; true when it exists.
    static func buildNestedImage(_ harness: LifecycleHarness, _ instance: Instance) async throws -> Bool {
        let result = try await harness.exec(
            instance,
            "mkdir -p ~/t && cd ~/t && cp /usr/share/berth/rootfs.tar . && printf 'FROM scratch\\nADD rootfs.tar /\\n' > Containerfile && podman build -q -t t . && podman image exists localhost/t && echo built"
        )
        return result.stdout.hasSuffix("built\n")
    }

    /// Runs `script` with `sh -c` in a fresh nested container of `localhost/t`, as the learner.
    static func nested(_ harness: LifecycleHarness, _ instance: Instance, _ script: String) async throws -> ExecResult {
        let quoted = "'" + script.replacingOccurrences(of: "'", with: "'\\''") + "'"
        return try await harness.exec(instance, "podman run --rm localhost/t sh -c \(quoted) 2>&1; echo podman=$?")
    }
}

@Suite("Container lab blueprint (no engine)")
struct ContainerLabBlueprintTests {
    static func spec(_ berth: String, lab: Bool = false) throws -> EnvironmentSpec {
        let yaml = """
            name: Blueprint
            berth:
            \(berth.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            \(lab ? "steps:\n  - {id: one, title: One}" : "")
            """
        let outcome = EnvironmentParser().parse(yaml: yaml, file: "blueprint/challenge.yml", slug: "blueprint")
        return try #require(outcome.spec, "\(outcome.problems)")
    }

    static func request(_ spec: EnvironmentSpec) -> ContainerCreateRequest {
        let now = Date()
        let instance = Instance(
            id: "inst_blueprint", environment: spec.slug, owner: Owner(kind: .user, id: "usr_1"), requestedBy: "usr_1",
            state: .starting, createdAt: now, updatedAt: now, expiresAt: now, maxExpiresAt: now, renewalsLeft: 0)
        return ContainerBlueprint().request(instance: instance, environment: spec, hostPorts: [], publishAddress: "127.0.0.1", networkName: nil)
    }

    @Test("containers: true never sets Privileged, never adds SYS_ADMIN, never binds the Docker socket; it adds /dev/fuse and a seccomp profile")
    func leastPrivilege() throws {
        for (berth, lab) in [("containers: true", false), ("containers: true\ncapabilities: [NET_BIND_SERVICE, SYS_CHROOT]", false), ("containers: true", true)] {
            let request = Self.request(try Self.spec(berth, lab: lab))
            let host = request.hostConfig
            #expect(host.privileged == false)
            #expect(host.capDrop == ["ALL"])
            #expect(!(host.capAdd ?? []).contains { $0.uppercased().contains("SYS_ADMIN") })
            #expect(host.devices == [DeviceMapping(path: "/dev/fuse")])
            let options = host.securityOpt ?? []
            #expect(options.first == "no-new-privileges:true")
            #expect(options.count == 2)
            let seccomp = try #require(options.last)
            #expect(seccomp.hasPrefix("seccomp={"), "an inline profile, never a file name or unconfined")
            #expect(!options.contains { $0.contains("unconfined") })
            let json = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
            #expect(!json.contains("docker.sock"))
            #expect(!json.contains("\"Binds\"") && !json.contains("\"Mounts\""))
            if lab {
                #expect(Set(host.capAdd ?? []) == Set(LabChecks.scriptCapabilities + ContainerLabProfile.labScriptCapabilities))
            }
        }
    }

    @Test("without containers: true nothing changes: no seccomp profile, no device")
    func plainEnvironment() throws {
        let host = Self.request(try Self.spec("resources: {memory: 64m}")).hostConfig
        #expect(host.securityOpt == ["no-new-privileges:true"])
        #expect(host.devices == nil)
        let lab = Self.request(try Self.spec("resources: {memory: 64m}", lab: true)).hostConfig
        #expect(Set(lab.capAdd ?? []) == Set(LabChecks.scriptCapabilities), "SETUID and SETGID only for container labs")
    }

    @Test("the profile is Docker's default plus the rootless additions; it refuses by default and keeps the dangerous calls out")
    func profile() throws {
        let text = ContainerLabProfile.seccompJSON(capabilities: ["CHOWN"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["defaultAction"] as? String == "SCMP_ACT_ERRNO")
        let rules = try #require(object["syscalls"] as? [[String: Any]])
        var allowed = Set<String>()
        for rule in rules where rule["action"] as? String == "SCMP_ACT_ALLOW" && (rule["args"] as? [Any] ?? []).isEmpty {
            allowed.formUnion(rule["names"] as? [String] ?? [])
        }
        for name in ContainerLabProfile.rootlessAdditions + ["read", "write", "execve", "clone", "unshare", "mount", "setns", "pivot_root"] {
            #expect(allowed.contains(name), "\(name) is allowed")
        }
        for name in ["keyctl", "bpf", "perf_event_open", "init_module", "finit_module", "kexec_load", "open_by_handle_at", "reboot", "swapon", "add_key", "request_key", "userfaultfd", "fsopen", "open_tree", "move_mount", "clone3", "umount", "io_uring_setup"] {
            #expect(!allowed.contains(name), "\(name) stays refused")
        }
        let clone3 = rules.first { ($0["names"] as? [String]) == ["clone3"] }
        #expect(clone3?["errnoRet"] as? Int == 38, "clone3 answers ENOSYS so the C library falls back to clone")
        // A capability the container holds opens what Docker's default opens for it, and no more.
        let chroot = ContainerLabProfile.seccompJSON(capabilities: ["SYS_PTRACE"])
        #expect(chroot.contains("\"kcmp\""))
        #expect(!text.contains("\"kcmp\""))
    }
}

extension Integration {
    @Suite("Container labs on the real engine (rootless Podman without --privileged)")
    struct ContainerLabTests {
        @Test("the learner builds and runs a nested container; no capability, seccomp filtering, no-new-privileges and no Docker socket, inside and out")
        func buildRunAndStatus() async throws {
            try await ContainerLabEnvironments.requireImage()
            try await LifecycleHarness.with(environments: [ContainerLabEnvironments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: ContainerLabEnvironments.slug, by: harness.player("alice"))
                let host = try await harness.container(of: instance).hostConfig
                #expect(host.privileged == false)
                #expect(host.capAdd == nil || host.capAdd == [])
                #expect(host.devices?.map(\.pathInContainer) == ["/dev/fuse"])
                #expect(host.securityOpt?.first == "no-new-privileges:true")
                #expect(host.securityOpt?.count == 2 && host.securityOpt?.last?.hasPrefix("seccomp=") == true)

                #expect(try await harness.exec(instance, "id -u").stdout == "1000\n")
                for key in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
                    #expect(try await procStatus(harness, instance, key) == "0000000000000000", "\(key)")
                }
                #expect(try await procStatus(harness, instance, "Seccomp") == "2", "filter mode, not unconfined")
                #expect(try await procStatus(harness, instance, "NoNewPrivs") == "1")
                let sockets = try await harness.exec(
                    instance, "find / \\( -path /proc -o -path /sys \\) -prune -o -type s -print 2>/dev/null; ls /var/run/docker.sock /run/docker.sock 2>&1; echo DOCKER_HOST=$DOCKER_HOST")
                #expect(!sockets.stdout.contains("docker.sock\n") && sockets.stdout.contains("No such file"), "\(sockets.stdout)")
                #expect(sockets.stdout.hasSuffix("DOCKER_HOST=\n"))

                #expect(try await ContainerLabEnvironments.buildNestedImage(harness, instance), "podman build works rootless")
                let inside = try await ContainerLabEnvironments.nested(
                    harness, instance, "grep -E \"^(Seccomp|NoNewPrivs):\" /proc/self/status; ls /var/run/docker.sock /run/docker.sock 2>&1; echo uid=$(id -u)")
                #expect(inside.stdout.contains("Seccomp:\t2"), "\(inside.stdout)")
                #expect(inside.stdout.contains("NoNewPrivs:\t1"), "\(inside.stdout)")
                #expect(inside.stdout.contains("uid=0"), "root in the nested container's user namespace: \(inside.stdout)")
                #expect(!inside.stdout.contains("docker.sock\n"), "\(inside.stdout)")
                #expect(inside.stdout.hasSuffix("podman=0\n"), "\(inside.stdout) \(inside.stderr)")

                // Root of the nested container is the learner on the instance: a file it makes in
                // a bind-mounted folder belongs to uid 1000, and it still cannot touch root's files.
                let escape = try await harness.exec(
                    instance, "mkdir -p ~/shared && podman run --rm -v $HOME/shared:/shared localhost/t sh -c 'touch /shared/made; echo x >> /etc/passwd; echo w=$?' 2>&1; stat -c %u ~/shared/made; echo x >> /etc/passwd 2>/dev/null; echo outer=$?")
                #expect(escape.stdout.contains("1000\n"), "\(escape.stdout)")
                #expect(escape.stdout.contains("outer=") && !escape.stdout.contains("outer=0"), "the learner cannot write /etc/passwd: \(escape.stdout)")
            }
        }

        @Test("from a nested container there is no route to another instance, nor to a service on the host")
        func isolation() async throws {
            try await ContainerLabEnvironments.requireImage()
            try await LifecycleHarness.with(environments: [ContainerLabEnvironments.shell]) { harness in
                let alice = try await harness.lifecycle.request(environment: ContainerLabEnvironments.slug, by: harness.player("alice"))
                let bob = try await harness.lifecycle.request(environment: ContainerLabEnvironments.slug, by: harness.player("bob"))
                let aliceNet = try await attachment(harness, alice)
                let bobNet = try await attachment(harness, bob)
                #expect(try await ContainerLabEnvironments.buildNestedImage(harness, alice))

                // The control: a nested container shares its instance's network and reaches its service.
                let own = try await ContainerLabEnvironments.nested(
                    harness, alice, "printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 127.0.0.1 8080; echo status=$?")
                #expect(own.stdout.contains("hello from berth"), "\(own.stdout)")

                let toBob = try await ContainerLabEnvironments.nested(
                    harness, alice, "printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 \(bobNet.ip) 8080; echo status=$?")
                #expect(!toBob.stdout.contains("hello"), "a nested container reached another instance: \(toBob.stdout)")
                #expect(toBob.stdout.contains("status=1"), "\(toBob.stdout)")
                let bobPort = try #require(bob.endpoints.first?.hostPort)
                let viaGateway = try await ContainerLabEnvironments.nested(
                    harness, alice, "printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 \(aliceNet.gateway) \(bobPort); echo status=$?")
                #expect(!viaGateway.stdout.contains("hello"), "a nested container reached another instance's port through the host: \(viaGateway.stdout)")

                try await TCPProbe.with(host: "127.0.0.1") { probe in
                    _ = try await ContainerLabEnvironments.nested(
                        harness, alice, "nc -w 2 \(aliceNet.gateway) \(probe.port) </dev/null; nc -w 2 127.0.0.1 \(probe.port) </dev/null; true")
                    #expect(probe.acceptedConnections == 0, "a nested container reached a service on the host's loopback")
                    _ = try await fetchProbe(probe)
                    #expect(probe.acceptedConnections == 1, "the control: the probe counts connections")
                }
            }
        }

        @Test("the instance's memory and pids limits hold against a hog and a fork bomb started in a nested container")
        func limitsHoldForNestedContainers() async throws {
            try await ContainerLabEnvironments.requireImage()
            try await LifecycleHarness.with(environments: [ContainerLabEnvironments.shell]) { harness in
                let instance = try await harness.lifecycle.request(environment: ContainerLabEnvironments.slug, by: harness.player("mallory"))
                let containerID = try #require(instance.containerID)
                #expect(try await cgroupValue(harness, instance, v2: "memory.max", v1: "memory/memory.limit_in_bytes") == "\(ContainerLabEnvironments.memoryBytes)")
                #expect(try await cgroupValue(harness, instance, v2: "pids.max", v1: "pids/pids.max") == "\(ContainerLabEnvironments.pids)")
                #expect(try await ContainerLabEnvironments.buildNestedImage(harness, instance))

                // A 400 MB buffer under a 192 MB limit: the kernel kills the hog inside the nested container.
                let hog = try await ContainerLabEnvironments.nested(harness, instance, "dd if=/dev/zero of=/dev/null bs=400M count=1; echo dd=$?")
                #expect(hog.stdout.contains("dd=137"), "the kernel kills the hog (SIGKILL): \(hog.stdout)")
                #expect(!hog.stdout.contains("dd=0"), "a 400 MB buffer fit under the 192 MB limit: \(hog.stdout)")
                #expect(try await harness.container(of: instance).state.running, "the instance survives")

                // Forks until the kernel refuses, each child holding its slot for a few seconds.
                let bomb = try await ContainerLabEnvironments.nested(
                    harness, instance, "i=0; while [ $i -lt 1000 ]; do sleep 8 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo finished")
                #expect(!bomb.stdout.contains("finished"), "1000 forks should not all succeed under a limit of 96: \(bomb.stdout)")
                let during = try await harness.docker.processCount(of: containerID)
                #expect(during <= ContainerLabEnvironments.pids, "the pids limit holds: \(during)")
                #expect(try await harness.container(of: instance).state.running, "the instance survives")

                let drained = try await eventually(within: 30) { try await harness.docker.processCount(of: containerID) <= 8 }
                #expect(drained)
                #expect(try await harness.exec(instance, "echo alive").stdout == "alive\n")
                let again = try await ContainerLabEnvironments.nested(harness, instance, "echo nested-alive")
                #expect(again.stdout.contains("nested-alive"), "nested containers still run after the bomb: \(again.stdout)")
            }
        }
    }
}
