@testable import BerthCore
import Foundation
import Testing

@Suite("Python regex flags")
struct PythonRegexTests {
    @Test("Python syntax is translated to ICU's where they differ", arguments: [
        ("flag{.*LOVE.*}", "flag\\{.*LOVE.*\\}"),
        ("a{3}", "a{3}"),
        ("a{2,}", "a{2,}"),
        ("a{2,5}", "a{2,5}"),
        ("a{,5}", "a{0,5}"),
        ("a{x}", "a\\{x\\}"),
        ("a{5,2}", "a\\{5,2\\}"),
        ("{}", "\\{\\}"),
        ("(?P<word>\\w+)-(?P=word)", "(\\w+)-(?:\\1)"),
        ("(a)(?P<b>c)(?P=b)", "(a)(c)(?:\\2)"),
        ("end\\Z", "end\\z"),
        ("[[]x", "[\\[]x"),
        ("[]a]", "[\\]a]"),
        ("[^]a]", "[^\\]a]"),
        ("[a&&b]", "[a\\&\\&b]"),
        ("(?:x)(?=y)(z)", "(?:x)(?=y)(z)"),
    ])
    func translation(python: String, icu: String) {
        #expect(PythonRegex.translate(python) == icu)
    }

    @Test("patterns Python refuses are refused", arguments: ["(?P=nope)", "(?P<a>x)(?P<a>y)", "[abc", "x\\", "(?Px)"])
    func refused(pattern: String) {
        #expect(PythonRegex.translate(pattern) == nil)
        #expect(PythonRegex.problem(pattern) != nil)
    }

    @Test("regex flags match as CTFd's re.match plus a whole-submission check")
    func ctfdSemantics() {
        let love = FlagSpec(kind: .regex, content: "flag{.*LOVE.*}")
        #expect(love.matches("flag{I LOVE CTFs}"))
        #expect(!love.matches("flag{i love ctfs}"))
        #expect(FlagSpec(kind: .regex, content: "flag{.*LOVE.*}", caseInsensitive: true).matches("FLAG{i love ctfs}"))
        // re.match finds "a" first and "a" != "ab": CTFd refuses, so must Berth.
        #expect(!FlagSpec(kind: .regex, content: "a|ab").matches("ab"))
        #expect(FlagSpec(kind: .regex, content: "ab|a").matches("ab"))
        // re.match anchors at the start only; the whole-match check does the end.
        #expect(!FlagSpec(kind: .regex, content: "flag").matches("xflag"))
        #expect(!FlagSpec(kind: .regex, content: "flag").matches("flagx"))
        #expect(FlagSpec(kind: .regex, content: "x{,2}y").matches("xxy"))
        #expect(!FlagSpec(kind: .regex, content: "x{,2}y").matches("xxxy"))
        #expect(FlagSpec(kind: .regex, content: "(?P<n>[0-9]+)-(?P=n)").matches("42-42"))
        #expect(!FlagSpec(kind: .regex, content: "(?P<n>[0-9]+)-(?P=n)").matches("42-43"))
        #expect(!FlagSpec(kind: .regex, content: "(").matches("("))
    }

    @Test("static flags compare exactly, or lowercased with case_insensitive")
    func staticFlags() {
        #expect(FlagSpec(kind: .static, content: "flag{A.*}").matches("flag{A.*}"))
        #expect(!FlagSpec(kind: .static, content: "flag{A.*}").matches("flag{AB}"))
        #expect(FlagSpec(kind: .static, content: "Flag{X}", caseInsensitive: true).matches("fLAG{x}"))
    }
}

@Suite("Parser hardening")
struct ParserHardeningTests {
    let parser = EnvironmentParser()

    func errors(_ yaml: String) -> [ValidationProblem] {
        let outcome = parser.parse(yaml: yaml, file: "h/challenge.yml", slug: "h")
        #expect(outcome.spec == nil || outcome.problems.allSatisfy { $0.severity == .warning })
        return outcome.problems.filter { $0.severity == .error }
    }

    @Test("an unfilled {{placeholder}} is a problem that names it, not a crash")
    func placeholders() throws {
        let value = try #require(errors("name: T\nvalue: {{easy}}\n").first)
        #expect(value.field == "value")
        #expect(value.reason.contains("{{easy}}") && value.reason.contains("placeholder"), "\(value.reason)")
        let spec = try #require(parser.parse(yaml: "name: T\nconnection_info: {{url}}\n", file: "f", slug: "t").spec)
        #expect(spec.connectionInfo == "{{url}}")
        let key = try #require(errors("name: T\n{{key}}: 1\n").first)
        #expect(key.reason.contains("key must be text"), "\(key.reason)")
        let broken = try #require(errors("name: T\nconnection_info: {{host}}:{{port}}\n").first)
        #expect(broken.field == "(file)" && broken.reason.contains("placeholder"), "\(broken.reason)")
    }

    @Test("an alias bomb is refused by counting expanded nodes")
    func aliasBomb() throws {
        var yaml = "name: Bomb\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let problem = try #require(errors(yaml).first)
        #expect(problem.field == "(file)")
        #expect(problem.reason.contains("\(YAMLLimits.maximumNodes)"), "\(problem.reason)")
        // Aliases within the limit are fine.
        let small = parser.parse(yaml: "name: S\nx: &x [1, 2]\ny: [*x, *x]\n", file: "f", slug: "s")
        #expect(small.spec != nil)
    }

    @Test("documents over 1 MiB and nesting over the limit are refused with the limit")
    func sizeAndDepth() throws {
        let big = "name: Big\ndescription: \"" + String(repeating: "a", count: YAMLLimits.maximumDocumentBytes) + "\"\n"
        let size = try #require(errors(big).first)
        #expect(size.field == "(file)" && size.reason.contains("1 MiB"), "\(size.reason.prefix(200))")
        let deep = "name: Deep\nx: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n"
        let depth = try #require(errors(deep).first)
        #expect(depth.field == "(file)" && depth.reason.contains("\(YAMLLimits.maximumDepth)"), "\(depth.reason)")
        let long = "name: Long\ndescription: \"" + String(repeating: "b", count: 500_000) + "\"\n"
        #expect(try #require(parser.parse(yaml: long, file: "f", slug: "l").spec).description.count == 500_000)
    }

    @Test("dangerous writable paths and sizes are refused", arguments: [
        ("berth: {writable: [/]}", "berth.writable[0]"),
        ("berth: {writable: [/proc]}", "berth.writable[0]"),
        ("berth: {writable: [/tmp, /sys/kernel]}", "berth.writable[1]"),
        ("berth: {writable: [/dev]}", "berth.writable[0]"),
        ("berth: {writable: [//]}", "berth.writable[0]"),
        ("berth: {resources: {memory: 9223372036854775807g}}", "berth.resources.memory"),
        ("berth: {resources: {memory: 65g}}", "berth.resources.memory"),
        ("berth: {tmpfsSize: 17g}", "berth.tmpfsSize"),
        ("berth: {tmpfsSize: 512k}", "berth.tmpfsSize"),
        ("berth: {resources: {cpus: .nan}}", "berth.resources.cpus"),
        ("berth: {resources: {cpus: 1e999}}", "berth.resources.cpus"),
    ])
    func dangerousValues(fragment: String, field: String) {
        let found = errors("name: D\n" + fragment + "\n")
        #expect(found.map(\.field).contains(field), "\(found)")
    }

    @Test("image: absent or null without a Dockerfile means no instance; sub-folders build; names are prebuilt")
    func images() throws {
        let bare = ChallengeFolder { _ in .missing }
        let withSub = ChallengeFolder { path in
            switch path {
            case ".": return .folderWithoutDockerfile
            case "server": return .folderWithDockerfile
            case "notes": return .folderWithoutDockerfile
            default: return .missing
            }
        }
        func image(_ yaml: String, _ folder: ChallengeFolder) -> (ImageSource?, [String]) {
            let outcome = parser.parse(yaml: "name: I\n" + yaml, file: "f", slug: "i", folder: folder)
            return (outcome.spec?.image, outcome.problems.filter { $0.severity == .error }.map(\.field))
        }
        #expect(image("", bare).0 == ImageSource.none)
        #expect(image("image: null\n", bare).0 == ImageSource.none)
        #expect(image("image:\n", .assumingDockerfile).0 == .build(context: "."))
        #expect(image("", .assumingDockerfile).0 == .build(context: "."))
        #expect(image("image: ./server/\n", withSub).0 == .build(context: "server"))
        #expect(image("image: server\n", withSub).0 == .build(context: "server"))
        #expect(image("image: notes\n", withSub).1 == ["image"])
        #expect(image("image: .\n", withSub).1 == ["image"])
        #expect(image("image: ./missing\n", withSub).1 == ["image"])
        #expect(image("image: ../other\n", withSub).1 == ["image"])
        #expect(image("image: ubuntu:22.04\n", withSub).0 == .prebuilt(reference: "ubuntu:22.04"))
        #expect(image("image: ghcr.io/org/chall@sha256:abc\n", withSub).0 == .prebuilt(reference: "ghcr.io/org/chall@sha256:abc"))
        #expect(image("image: \"bad name\"\n", withSub).1 == ["image"])
    }

    @Test("requirements, attempts, state and files are read; bad ones name the field")
    func ctfdFields() throws {
        let spec = try #require(parser.parse(yaml: """
            name: R
            requirements: [Warmup, 3]
            attempts: 3
            state: hidden
            files: [dist/app.zip, "handout/*.txt"]
            """, file: "f", slug: "r").spec)
        #expect(spec.requirements == RequirementsSpec(prerequisites: ["Warmup", "3"], anonymize: false))
        #expect(spec.maxAttempts == 3)
        #expect(spec.visibility == .hidden)
        #expect(spec.files == ["dist/app.zip", "handout/*.txt"])
        #expect(Set(errors("name: R\nattempts: -1\nfiles: [/etc/shadow, a/../../b]\n").map(\.field)) == ["attempts", "files[0]", "files[1]"])
    }
}
