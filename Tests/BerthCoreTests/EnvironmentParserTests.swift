import BerthCore
import Testing

@Suite("EnvironmentParser")
struct EnvironmentParserTests {
    let parser = EnvironmentParser()

    @Test("a full berth block is read into every setting")
    func fullBlock() throws {
        let yaml = """
            name: Linux basics
            author: ops
            category: linux
            description: Find the hidden flag.
            value: 100
            type: dynamic
            extra: {initial: 500, decay: 10, minimum: 100}
            tags: [intro, shell]
            connection_info: use the browser terminal
            image: .
            berth:
              terminal: {command: ["/bin/sh", "-l"], user: "1000:1000", workdir: /home/player}
              command: ["httpd", "-f", "-p", "8080"]
              ports: [{port: 8080, protocol: http}, {port: 2222, protocol: tcp}, 9000]
              resources: {memory: 128m, cpus: 0.5, pids: 64}
              network: isolated
              lifetime: {ttl: 30m, renewals: 3, maxLifetime: 2h, whenDisconnected: 10m}
              readOnlyRoot: true
              writable: [/home/player, /tmp]
              tmpfsSize: 32m
              capabilities: [cap_net_bind_service, CHOWN]
            """
        let outcome = parser.parse(yaml: yaml, file: "linux-basics/challenge.yml", slug: "linux-basics")
        #expect(outcome.problems.isEmpty, "unexpected problems: \(outcome.problems)")
        let spec = try #require(outcome.spec)
        #expect(spec.slug == "linux-basics")
        #expect(spec.name == "Linux basics")
        #expect(spec.author == "ops")
        #expect(spec.category == "linux")
        #expect(spec.description == "Find the hidden flag.")
        #expect(spec.value == 100)
        #expect(spec.type == "dynamic")
        #expect(spec.tags == ["intro", "shell"])
        #expect(spec.connectionInfo == "use the browser terminal")
        #expect(spec.buildsFromFolder)
        #expect(spec.imageReference == "berth-env/linux-basics")

        let berth = spec.berth
        #expect(berth.terminal == TerminalSpec(command: ["/bin/sh", "-l"], user: "1000:1000", workdir: "/home/player"))
        #expect(berth.command == ["httpd", "-f", "-p", "8080"])
        #expect(berth.ports == [
            PortSpec(port: 8080, protocol: .http), PortSpec(port: 2222, protocol: .tcp), PortSpec(port: 9000, protocol: .tcp),
        ])
        #expect(berth.resources == ResourceSpec(memoryBytes: 128 << 20, cpus: 0.5, pids: 64))
        #expect(berth.network == .isolated)
        var lifetime = LifetimeSpec(ttlSeconds: 1800, renewals: 3, maxLifetimeSeconds: 7200, whenDisconnectedSeconds: 600)
        lifetime.ttlDeclared = true
        #expect(berth.lifetime == lifetime)
        #expect(berth.readOnlyRoot)
        #expect(berth.writable == ["/home/player", "/tmp"])
        #expect(berth.tmpfsBytes == 32 << 20)
        #expect(berth.capabilities == ["NET_BIND_SERVICE", "CHOWN"])
        #expect(!berth.privileged)
    }

    @Test("a ctfcli-only file without a berth block gets the documented defaults")
    func ctfcliOnly() throws {
        let yaml = """
            name: "Web 101"
            category: web
            description: A plain ctfcli challenge.
            value: 500
            type: standard
            flags:
              - flag{static}
              - {type: regex, content: "flag\\\\{.*\\\\}"}
            hints:
              - {content: look closer, cost: 10}
            files: [dist/app.zip]
            requirements: [warmup]
            state: visible
            version: "0.1"
            """
        let outcome = parser.parse(yaml: yaml, file: "web-101/challenge.yml", slug: "web-101")
        #expect(outcome.problems.isEmpty, "ctfcli fields must not warn: \(outcome.problems)")
        let spec = try #require(outcome.spec)
        #expect(spec.name == "Web 101")
        #expect(spec.value == 500)
        #expect(spec.image == .build(context: "."))
        #expect(spec.berth == BerthSettings())
        #expect(spec.berth.terminal.command == ["/bin/sh"])
        #expect(spec.berth.ports.isEmpty)
        #expect(spec.berth.network == .none)
        #expect(spec.berth.resources == ResourceSpec(memoryBytes: 256 << 20, cpus: 1.0, pids: 128))
        #expect(spec.berth.lifetime == LifetimeSpec(ttlSeconds: 1800, renewals: 3, maxLifetimeSeconds: 7200, whenDisconnectedSeconds: nil))
        #expect(!spec.berth.readOnlyRoot)
        #expect(spec.berth.writable == ["/tmp"])
    }

    @Test("recording, terminal.onExit and lifetime.whenDisconnected are read; a bare `off` (YAML false) means off")
    func recordingAndExit() throws {
        let cases: [(String, RecordingPolicy)] = [
            ("off", .off), ("\"off\"", .off), ("output", .output), ("input-output", .inputOutput), ("on", .inputOutput),
        ]
        for (text, expected) in cases {
            let yaml = "name: X\nberth:\n  recording: \(text)\n  terminal: {onExit: stop}\n  lifetime: {whenDisconnected: 15m}\n"
            let spec = try #require(parser.parse(yaml: yaml, file: "x/challenge.yml", slug: "x").spec, "recording: \(text)")
            #expect(spec.berth.recording == expected, "recording: \(text)")
            #expect(spec.berth.terminal.onExit == .stop)
            #expect(spec.berth.lifetime.whenDisconnectedSeconds == 900)
        }
        let defaults = try #require(parser.parse(yaml: "name: X\n", file: "x/challenge.yml", slug: "x").spec)
        #expect(defaults.berth.recording == .inputOutput)
        #expect(defaults.berth.terminal.onExit == .newShell)
        let bad = parser.parse(yaml: "name: X\nberth:\n  recording: sometimes\n  terminal: {onExit: reboot}\n", file: "x/challenge.yml", slug: "x")
        #expect(bad.spec == nil)
        #expect(Set(bad.problems.map(\.field)).isSuperset(of: ["berth.recording", "berth.terminal.onExit"]))
    }

    @Test("lifetime.idle is the older name of whenDisconnected: read with a warning naming the new one; both at once is an error")
    func idleIsTheOlderName() throws {
        let old = parser.parse(yaml: "name: X\nberth:\n  lifetime: {idle: 15m}\n", file: "x/challenge.yml", slug: "x")
        #expect(try #require(old.spec).berth.lifetime.whenDisconnectedSeconds == 900)
        let warning = try #require(old.problems.first)
        #expect(old.problems.count == 1)
        #expect(warning.severity == .warning)
        #expect(warning.field == "berth.lifetime.idle")
        #expect(warning.reason.contains("whenDisconnected"))

        let both = parser.parse(yaml: "name: X\nberth:\n  lifetime: {idle: 15m, whenDisconnected: 10m}\n", file: "x/challenge.yml", slug: "x")
        #expect(both.spec == nil)
        let error = try #require(both.problems.first { $0.severity == .error })
        #expect(error.field == "berth.lifetime.idle")
        #expect(error.reason.contains("only whenDisconnected"))

        let new = parser.parse(yaml: "name: X\nberth:\n  lifetime: {whenDisconnected: 90s}\n", file: "x/challenge.yml", slug: "x")
        #expect(new.problems.isEmpty)
        #expect(try #require(new.spec).berth.lifetime.whenDisconnectedSeconds == 90)
    }

    @Test("a prebuilt image reference is used as is")
    func prebuiltImage() throws {
        let outcome = parser.parse(yaml: "name: X\nimage: berth/base:latest\n", file: "x/challenge.yml", slug: "x")
        let spec = try #require(outcome.spec)
        #expect(!spec.buildsFromFolder)
        #expect(spec.imageReference == "berth/base:latest")
    }

    @Test("every error is collected and reported as file: field: reason")
    func collectsEveryError() {
        let yaml = """
            category: misc
            value: lots
            berth:
              terminal: {command: [], user: "root; rm -rf /", workdir: home/player}
              ports: [{port: 70000}, {protocol: udp, port: 22}, {protocol: http}]
              resources: {memory: 1k, cpus: 100, pids: 2}
              network: everywhere
              lifetime: {ttl: soon, renewals: -1, maxLifetime: 1x}
              readOnlyRoot: maybe
              writable: [relative/path, /ok, /a/../etc]
              tmpfsSize: huge
              capabilities: [SYS_ADMIN]
            """
        let file = "broken/challenge.yml"
        let outcome = parser.parse(yaml: yaml, file: file, slug: "broken")
        #expect(outcome.spec == nil)
        let errors = outcome.problems.filter { $0.severity == .error }
        let fields = Set(errors.map(\.field))
        let expected: Set<String> = [
            "name", "value", "berth.terminal.command", "berth.terminal.user", "berth.terminal.workdir",
            "berth.ports[0].port", "berth.ports[1].protocol", "berth.ports[2].port",
            "berth.resources.memory", "berth.resources.cpus", "berth.resources.pids", "berth.network",
            "berth.lifetime.ttl", "berth.lifetime.renewals", "berth.lifetime.maxLifetime", "berth.readOnlyRoot",
            "berth.writable[0]", "berth.writable[2]", "berth.tmpfsSize", "berth.capabilities",
        ]
        #expect(fields == expected, "missing: \(expected.subtracting(fields)), extra: \(fields.subtracting(expected))")
        for problem in errors {
            #expect(problem.file == file)
            #expect(!problem.reason.isEmpty)
            #expect(problem.description == "\(file): \(problem.field): \(problem.reason)")
        }
        let memory = errors.first { $0.field == "berth.resources.memory" }
        #expect(memory?.reason.contains("1k") == true)
        let user = errors.first { $0.field == "berth.terminal.user" }
        #expect(user?.reason.contains("uid[:gid]") == true)
    }

    @Test("a user written as uid:gid is read as text, quoted or not", arguments: ["user: 1000:1000", "user: \"1000:1000\""])
    func uidGidUser(line: String) throws {
        let outcome = parser.parse(yaml: "name: U\nberth:\n  terminal: {\(line)}\n", file: "u/challenge.yml", slug: "u")
        #expect(try #require(outcome.spec).berth.terminal.user == "1000:1000")
    }

    @Test("a numeric user that YAML reads as a number is rejected with a hint to quote it")
    func numericUser() {
        let outcome = parser.parse(yaml: "name: U\nberth:\n  terminal: {user: 1000}\n", file: "u/challenge.yml", slug: "u")
        #expect(outcome.spec == nil)
        #expect(outcome.problems.first?.field == "berth.terminal.user")
        #expect(outcome.problems.first?.reason.contains("quoted") == true)
    }

    @Test("unknown fields are kept as warnings and do not reject the file")
    func unknownFieldsWarn() throws {
        let yaml = """
            name: Warnings
            flavour: vanilla
            berth:
              colour: blue
              resources: {memory: 64m, gpus: 1}
              privileged: true
            """
        let outcome = parser.parse(yaml: yaml, file: "w/challenge.yml", slug: "w")
        let spec = try #require(outcome.spec)
        #expect(outcome.problems.allSatisfy { $0.severity == .warning })
        #expect(Set(outcome.problems.map(\.field)) == ["flavour", "berth.colour", "berth.resources.gpus", "berth.privileged"])
        #expect(spec.warnings == outcome.problems)
        #expect(spec.berth.privileged)
        #expect(spec.berth.resources.memoryBytes == 64 << 20)
        let flavour = try #require(outcome.problems.first { $0.field == "flavour" })
        #expect(flavour.description == "w/challenge.yml: flavour: warning: \(flavour.reason)")
    }

    @Test("bad durations and sizes name the field and the value", arguments: [
        ("berth:\n  lifetime: {ttl: 30 minutes}", "berth.lifetime.ttl", "30 minutes"),
        ("berth:\n  lifetime: {ttl: 0s}", "berth.lifetime.ttl", "0s"),
        ("berth:\n  lifetime: {idle: -5m}", "berth.lifetime.idle", "-5m"),
        ("berth:\n  lifetime: {whenDisconnected: 5 minutes}", "berth.lifetime.whenDisconnected", "5 minutes"),
        ("berth:\n  lifetime: {whenDisconnected: 0s}", "berth.lifetime.whenDisconnected", "0s"),
        ("berth:\n  lifetime: {ttl: 9999999999999999d}", "berth.lifetime.ttl", "9999999999999999d"),
        ("berth:\n  lifetime: {ttl: 2h, maxLifetime: 1h}", "berth.lifetime.maxLifetime", "2h"),
        ("berth:\n  resources: {memory: 12 parsecs}", "berth.resources.memory", "12 parsecs"),
        ("berth:\n  resources: {memory: 5m}", "berth.resources.memory", "5m"),
        ("berth:\n  resources: {memory: 0}", "berth.resources.memory", "0"),
        ("berth:\n  tmpfsSize: -1m", "berth.tmpfsSize", "-1m"),
    ])
    func badValues(berthYAML: String, field: String, mentioned: String) throws {
        let outcome = parser.parse(yaml: "name: Bad\n" + berthYAML + "\n", file: "bad/challenge.yml", slug: "bad")
        #expect(outcome.spec == nil)
        let problem = try #require(outcome.problems.first { $0.severity == .error })
        #expect(problem.field == field)
        #expect(problem.reason.contains(mentioned), "reason '\(problem.reason)' should mention '\(mentioned)'")
    }

    @Test("ports without a network become isolated; network none with ports is an error")
    func portsAndNetwork() throws {
        let implicit = parser.parse(yaml: "name: W\nberth:\n  ports: [8080]\n", file: "f", slug: "w")
        #expect(try #require(implicit.spec).berth.network == .isolated)

        let explicit = parser.parse(yaml: "name: W\nberth:\n  ports: [8080]\n  network: none\n", file: "f", slug: "w")
        #expect(explicit.spec == nil)
        #expect(explicit.problems.map(\.field) == ["berth.network"])

        let duplicate = parser.parse(yaml: "name: W\nberth:\n  ports: [8080, {port: 8080, protocol: http}]\n", file: "f", slug: "w")
        #expect(duplicate.problems.map(\.field) == ["berth.ports[1].port"])
    }

    @Test("files that are not a mapping of fields are rejected with a reason")
    func malformedFiles() {
        for (yaml, field) in [("", "(file)"), ("- a\n- b\n", "(file)"), ("name: [unclosed\n", "(file)"), ("name: X\nberth: 3\n", "berth")] {
            let outcome = parser.parse(yaml: yaml, file: "m/challenge.yml", slug: "m")
            #expect(outcome.spec == nil, "'\(yaml)' must be rejected")
            #expect(outcome.problems.first?.field == field, "'\(yaml)': \(outcome.problems)")
        }
    }

    @Test("slugs are folder names of lowercase letters, digits and dashes", arguments: [
        ("linux-basics", true), ("a", true), ("0day", true), ("web-101", true), (String(repeating: "a", count: 63), true),
        ("", false), ("-leading", false), ("Upper", false), ("under_score", false), ("dot.ted", false), ("spa ce", false),
        ("ünïcode", false), (String(repeating: "a", count: 64), false),
    ])
    func slugs(slug: String, valid: Bool) {
        #expect(EnvironmentParser.isValidSlug(slug) == valid)
        let outcome = parser.parse(yaml: "name: S\n", file: "s/challenge.yml", slug: slug)
        #expect((outcome.spec != nil) == valid)
        if !valid { #expect(outcome.problems.map(\.field) == ["slug"]) }
    }

    @Test("ctfcli flags, hints and dynamic scoring are read; berth.flag adds a per-instance flag")
    func flagsHintsAndScoring() throws {
        let yaml = """
            name: Flags
            value: 300
            type: dynamic
            extra: {initial: 300, decay: 5, minimum: 50, function: linear}
            flags:
              - berth{plain}
              - {type: static, content: "Berth{Case}", data: case_insensitive}
              - {type: regex, content: 'berth\\{[0-9]{4}\\}'}
            hints:
              - Look closer.
              - {content: "It's in /opt.", cost: 25}
            berth:
              writable: [/home/player]
              readOnlyRoot: true
              flag: {path: /home/player/flag.txt, prefix: "ctf{", suffix: "}"}
            """
        let outcome = parser.parse(yaml: yaml, file: "f/challenge.yml", slug: "flags")
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        let spec = try #require(outcome.spec)
        #expect(spec.flags.count == 3)
        #expect(spec.flags[0].matches("berth{plain}"))
        #expect(!spec.flags[0].matches("BERTH{plain}"))
        #expect(spec.flags[1].matches("BERTH{case}"))
        #expect(spec.flags[2].matches("berth{2026}"))
        #expect(!spec.flags[2].matches("xberth{2026}"))
        #expect(!spec.flags[2].matches("berth{20260}"))
        #expect(spec.hints == [HintSpec(content: "Look closer.", cost: 0), HintSpec(content: "It's in /opt.", cost: 25)])
        #expect(spec.scoring == .dynamic(initial: 300, decay: 5, minimum: 50, function: .linear))
        #expect(spec.berth.flag == DynamicFlagSpec(path: "/home/player/flag.txt", prefix: "ctf{", suffix: "}"))
        #expect(spec.isSolvable)
    }

    @Test("bad flags, scoring and flag paths are errors that name the field", arguments: [
        ("flags: [{type: regex, content: '('}]", "flags[0].content"),
        ("flags: [{type: magic, content: x}]", "flags[0].type"),
        ("type: dynamic\nvalue: 100", "extra"),
        ("type: dynamic\nextra: {initial: 10, decay: 2, minimum: 50}", "extra.minimum"),
        ("berth: {readOnlyRoot: true, writable: [/tmp], flag: {path: /etc/flag}}", "berth.flag.path"),
        ("berth: {flag: {prefix: x}}", "berth.flag.path"),
    ])
    func badScoring(fragment: String, field: String) {
        let outcome = parser.parse(yaml: "name: Bad\n" + fragment, file: "b/challenge.yml", slug: "bad")
        #expect(outcome.spec == nil)
        #expect(outcome.problems.contains { $0.field == field && $0.severity == .error }, "\(outcome.problems)")
    }
}
