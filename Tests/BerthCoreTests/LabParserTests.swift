@testable import BerthCore
import Testing

@Suite("Lab parsing: steps and checks/")
struct LabParserTests {
    let parser = EnvironmentParser()

    func folder(_ checks: ChecksListing, texts: [String: FolderText] = [:], dockerfile: Bool = true) -> ChallengeFolder {
        ChallengeFolder(
            entry: { $0 == "." && dockerfile ? .folderWithDockerfile : .missing },
            checks: { checks },
            text: { texts[$0] ?? .missing }
        )
    }

    func parse(_ yaml: String, _ folder: ChallengeFolder) -> EnvironmentParser.Outcome {
        parser.parse(yaml: yaml, file: "lab/challenge.yml", slug: "lab", folder: folder)
    }

    func fields(_ outcome: EnvironmentParser.Outcome, _ severity: ValidationProblem.Severity = .error) -> Set<String> {
        Set(outcome.problems.filter { $0.severity == severity }.map(\.field))
    }

    @Test("a three-step lab maps each step to its check-<id> and solve-<id>")
    func stepsAndScripts() throws {
        let scripts: [String: ScriptFile] = [
            "setup": .regular(bytes: 10), "check-make": .regular(bytes: 10), "solve-make": .regular(bytes: 10),
            "check-step-3": .regular(bytes: 10), "cleanup": .regular(bytes: 0),
        ]
        let outcome = parse("""
            name: Lab
            berth: {terminal: {user: "1000:1000"}}
            steps:
              - {id: make, title: Make a file, text: "Run `touch x`.", hints: [One, Two]}
              - {title: Read, file: docs/read.md}
              - {title: Last}
            """, folder(.entries(scripts), texts: ["docs/read.md": .text("# Read\n")]))
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        let lab = try #require(outcome.spec?.lab)
        #expect(lab.steps == [
            LabStep(id: "make", title: "Make a file", text: "Run `touch x`.", hints: ["One", "Two"], checkScript: "check-make", solveScript: "solve-make"),
            LabStep(id: "step-2", title: "Read", text: "# Read\n"),
            LabStep(id: "step-3", title: "Last", checkScript: "check-step-3"),
        ])
        #expect(lab.scripts == ["check-make", "check-step-3", "cleanup", "setup", "solve-make"])
        #expect(lab.awardsPoints)
    }

    @Test("checks/ without steps: is one implicit step named after the environment, checked by check")
    func implicitStep() throws {
        let outcome = parse("name: Quick check\nberth:\n  lab: {points: false}\n", folder(.entries(["check": .regular(bytes: 5)])))
        let lab = try #require(outcome.spec?.lab)
        #expect(lab.steps == [LabStep(id: "step-1", title: "Quick check", checkScript: "check")])
        #expect(!lab.awardsPoints)
        // An empty checks/ is still a lab, with a step the learner passes by themselves.
        let empty = try #require(parse("name: Empty\n", folder(.entries([:]))).spec?.lab)
        #expect(empty.steps.count == 1 && empty.steps[0].checkScript == nil)
    }

    @Test("an environment without steps: and checks/ is no lab")
    func notALab() throws {
        #expect(try #require(parse("name: Plain\n", folder(.absent)).spec).lab == nil)
    }

    @Test("symlinks, oversized scripts and a checks file are errors naming the script")
    func badScripts() {
        let outcome = parse("name: Bad\n", folder(.entries([
            "check": .symlink, "setup": .regular(bytes: LabBounds.maximumScriptBytes + 1), "solve": .other,
            "cleanup": .regular(bytes: LabBounds.maximumScriptBytes), "README.md": .regular(bytes: 3), "check-Bad": .regular(bytes: 1),
        ])))
        #expect(outcome.spec == nil)
        #expect(fields(outcome) == ["checks/check", "checks/setup", "checks/solve"])
        #expect(fields(outcome, .warning) == ["checks/README.md", "checks/check-Bad", "berth.terminal.user"])
        let reasons = outcome.problems.map(\.description).joined(separator: "\n")
        #expect(reasons.contains("lab/challenge.yml: checks/check: is a symlink"))
        #expect(reasons.contains("256 KiB"))
        let notFolder = parse("name: Bad\n", folder(.notAFolder))
        #expect(fields(notFolder) == ["checks"])
    }

    @Test("file: must stay in the folder, exist, be UTF-8 and small")
    func markdownFiles() {
        let texts: [String: FolderText] = ["big.md": .tooLarge, "bin.md": .notText, "link.md": .outside]
        for (file, expected) in [("/etc/passwd", "relative"), ("../x.md", "relative"), ("big.md", "KiB"), ("bin.md", "UTF-8"),
                                  ("link.md", "leads out"), ("none.md", "not a file"), (".", "relative")] {
            let outcome = parse("name: F\nsteps:\n  - {title: T, file: \"\(file)\"}\n", folder(.absent, texts: texts))
            #expect(outcome.spec == nil, "\(file)")
            let problem = outcome.problems.first { $0.field == "steps[0].file" }
            #expect(problem?.reason.contains(expected) == true, "\(file): \(outcome.problems)")
        }
    }

    @Test("a lab whose learner is (or may be) root is warned: root can read the scripts")
    func rootLearner() {
        for (berth, warned) in [("", true), ("berth: {terminal: {user: \"0:0\"}}\n", true), ("berth: {terminal: {user: root}}\n", true),
                                ("berth: {terminal: {user: \"1000:1000\"}}\n", false)] {
            let outcome = parse("name: R\n\(berth)steps: [{title: A}]\n", folder(.absent))
            #expect(outcome.spec != nil)
            #expect(fields(outcome, .warning).contains("berth.terminal.user") == warned, "\(berth)")
        }
    }

    @Test("a lab without an instance is refused")
    func needsInstance() {
        let outcome = parse("name: No image\n", folder(.entries(["check": .regular(bytes: 1)]), dockerfile: false))
        #expect(outcome.spec == nil)
        #expect(fields(outcome) == ["checks"])
        let withSteps = parse("name: No image\nsteps: [{title: A}]\n", folder(.absent, dockerfile: false))
        #expect(fields(withSteps) == ["steps"])
    }

    @Test("ids: default step-<n>, explicit ones checked, duplicates refused, also against defaults")
    func stepIDs() {
        let clash = parse("name: I\nsteps:\n  - {title: A}\n  - {id: step-1, title: B}\n", folder(.absent))
        #expect(fields(clash) == ["steps[1].id"])
        for bad in ["Upper", "under_score", "", String(repeating: "a", count: 64), "dot.ted", "sp ace"] {
            let outcome = parse("name: I\nsteps:\n  - {id: \"\(bad)\", title: A}\n", folder(.absent))
            #expect(fields(outcome).contains("steps[0].id"), "\(bad)")
        }
        #expect(LabParser.isScriptName("check-a-1") && !LabParser.isScriptName("check-") && !LabParser.isScriptName("checks"))
    }

    @Test("hints: one text or a list of texts; anything else is an error on that hint")
    func hints() throws {
        let one = try #require(parse("name: H\nsteps:\n  - {title: A, hints: Just one}\n", folder(.absent)).spec?.lab)
        #expect(one.steps[0].hints == ["Just one"])
        let bad = parse("name: H\nsteps:\n  - {title: A, hints: [ok, [nested], '', {a: b}]}\n", folder(.absent))
        #expect(fields(bad) == ["steps[0].hints[1]", "steps[0].hints[2]", "steps[0].hints[3]"])
        let many = (0...LabBounds.maximumHintsPerStep).map { "h\($0)" }.joined(separator: ", ")
        #expect(fields(parse("name: H\nsteps:\n  - {title: A, hints: [\(many)]}\n", folder(.absent))) == ["steps[0].hints"])
    }

    @Test("too many steps are refused without reading each")
    func tooManySteps() {
        let steps = (0...LabBounds.maximumSteps).map { "  - {title: S\($0)}" }.joined(separator: "\n")
        let outcome = parse("name: Many\nsteps:\n\(steps)\n", folder(.absent))
        #expect(fields(outcome) == ["steps"])
        #expect(outcome.problems.filter { $0.severity == .error }.count == 1)
    }
}
