import BerthCore
import Testing

@Suite("berth.workspace and berth.containers")
struct WorkspaceSpecParsingTests {
    let parser = EnvironmentParser()

    private func parse(_ berth: String) -> EnvironmentParser.Outcome {
        let yaml = "name: Notes\ncategory: lab\nimage: berth/base:latest\nberth:\n" + berth
        return parser.parse(yaml: yaml, file: "notes/challenge.yml", slug: "notes")
    }

    @Test("a workspace is read with its path and size; the size defaults to 256 MiB")
    func workspaceRead() throws {
        let sized = parse("  workspace: {path: /home/player/work, size: 64m}\n")
        #expect(sized.problems.isEmpty, "\(sized.problems)")
        #expect(try #require(sized.spec).berth.workspace == WorkspaceSpec(path: "/home/player/work", sizeBytes: 64 << 20))

        let unsized = parse("  workspace: {path: /work}\n")
        #expect(try #require(unsized.spec).berth.workspace?.sizeBytes == 256 << 20)
        #expect(try #require(parse("  command: [sleep, infinity]\n").spec).berth.workspace == nil)
    }

    @Test(
        "a workspace without a usable path or with a size out of range refuses the environment",
        arguments: [
            ("  workspace: {size: 64m}\n", "berth.workspace.path"),
            ("  workspace: {path: relative/work}\n", "berth.workspace.path"),
            ("  workspace: {path: /}\n", "berth.workspace.path"),
            ("  workspace: {path: /proc/work}\n", "berth.workspace.path"),
            ("  workspace: {path: /home/player/../../etc}\n", "berth.workspace.path"),
            ("  workspace: {path: /work, size: 10k}\n", "berth.workspace.size"),
            ("  workspace: {path: /work, size: 65g}\n", "berth.workspace.size"),
            ("  workspace: {path: /work, size: lots}\n", "berth.workspace.size"),
            ("  workspace: /home/player/work\n", "berth.workspace"),
        ]
    )
    func workspaceRefused(berth: String, field: String) {
        let outcome = parse(berth)
        #expect(outcome.spec == nil, "\(berth) was accepted")
        #expect(outcome.problems.contains { $0.field == field && $0.severity == .error }, "\(outcome.problems)")
    }

    @Test("an unknown workspace field is a warning, not an error")
    func workspaceUnknownField() throws {
        let outcome = parse("  workspace: {path: /work, backup: daily}\n")
        #expect(try #require(outcome.spec).berth.workspace?.path == "/work")
        #expect(outcome.problems.contains { $0.field == "berth.workspace.backup" && $0.severity == .warning })
    }

    @Test("containers: true is read, and refused together with privileged")
    func containers() throws {
        #expect(try #require(parse("  containers: true\n").spec).berth.containers)
        #expect(try #require(parse("  command: [sleep, infinity]\n").spec).berth.containers == false)
        let both = parse("  containers: true\n  privileged: true\n")
        #expect(both.spec == nil)
        #expect(both.problems.contains { $0.field == "berth.containers" && $0.severity == .error }, "\(both.problems)")
        let wrongType = parse("  containers: [podman]\n")
        #expect(wrongType.problems.contains { $0.field == "berth.containers" && $0.severity == .error }, "\(wrongType.problems)")
    }
}
