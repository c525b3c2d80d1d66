@testable import BerthCore
import Foundation
import Testing

/// The corpus: challenge files in the styles real CTF authors write (ctfcli's template filled in
/// or not, old dynamic scoring, JSON style, CRLF, BOM, tabs, bad indentation, unfilled `{{...}}`
/// placeholders, alias bombs...). `valid-*` files must load; `invalid-*` files must be refused
/// with an error on each `# expect: field` they list (`(file)` when they list none). `# warn: field`
/// lines name warnings that must be given.
enum Corpus {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus", isDirectory: true)

    /// Only the environment's own folder holds a Dockerfile.
    static let challengeFolder = ChallengeFolder { $0 == "." ? .folderWithDockerfile : .missing }

    static func files() throws -> [(name: String, text: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yml") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            return (name, String(decoding: data, as: UTF8.self))
        }
    }

    /// The folder a corpus file is read with: `# checks: setup check-one` lists the scripts its
    /// `checks/` holds (small regular files), `# folder: no-dockerfile` takes the Dockerfile away,
    /// and `# folder-file: NAME` is a Markdown file in the folder a step's `file:` may name.
    static func challengeFolder(for text: String) -> ChallengeFolder {
        let scripts = directives("# checks:", in: text).flatMap { $0.split(separator: " ").map(String.init) }
        let dockerfile = !directives("# folder:", in: text).contains("no-dockerfile")
        let files = Set(directives("# folder-file:", in: text))
        guard !scripts.isEmpty || !dockerfile || !files.isEmpty else { return challengeFolder }
        return ChallengeFolder(
            entry: { $0 == "." && dockerfile ? .folderWithDockerfile : .missing },
            checks: { scripts.isEmpty ? .absent : .entries(Dictionary(uniqueKeysWithValues: scripts.map { ($0, ScriptFile.regular(bytes: 100)) })) },
            text: { files.contains($0) ? .text("Text of \($0)") : .missing }
        )
    }

    static func directives(_ prefix: String, in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            line.hasPrefix(prefix) ? line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces) : nil
        }
    }
}

/// A small seeded generator (SplitMix64), so the fuzz run is the same every time.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Challenge file corpus")
struct CorpusTests {
    let parser = EnvironmentParser()

    @Test("the corpus holds at least 40 files in both kinds")
    func corpusSize() throws {
        let files = try Corpus.files()
        #expect(files.count >= 40, "\(files.count) files")
        #expect(files.filter { $0.name.hasPrefix("valid-") }.count >= 20)
        #expect(files.filter { $0.name.hasPrefix("invalid-") }.count >= 20)
    }

    @Test("every corpus file gives the expected spec or problems")
    func corpusOutcomes() throws {
        for (name, text) in try Corpus.files() {
            let file = "corpus/\(name)"
            let outcome = parser.parse(yaml: text, file: file, slug: "corpus", folder: Corpus.challengeFolder(for: text))
            let errors = outcome.problems.filter { $0.severity == .error }
            let warnings = Set(outcome.problems.filter { $0.severity == .warning }.map(\.field))
            for problem in outcome.problems {
                #expect(problem.file == file)
                #expect(!problem.field.isEmpty && !problem.reason.isEmpty, "\(name): \(problem)")
                #expect(problem.reason.count < 600, "\(name): a reason must stay short: \(problem.reason.prefix(100))…")
            }
            if name.hasPrefix("valid-") {
                #expect(outcome.spec != nil && errors.isEmpty, "\(name): \(errors.map(\.description))")
            } else {
                #expect(outcome.spec == nil, "\(name) must be refused")
                let expected = Corpus.directives("# expect:", in: text)
                let fields = Set(errors.map(\.field))
                for field in expected.isEmpty ? ["(file)"] : expected {
                    #expect(fields.contains(field), "\(name): no error on \(field); got \(errors.map(\.description))")
                }
            }
            for field in Corpus.directives("# warn:", in: text) {
                #expect(warnings.contains(field), "\(name): no warning on \(field); got \(outcome.problems.map(\.description))")
            }
        }
    }

    @Test("corpus files are read into the right fields")
    func corpusFields() throws {
        func spec(_ name: String, folder: ChallengeFolder? = nil) throws -> EnvironmentSpec {
            let text = try #require(try Corpus.files().first { $0.name == name }?.text)
            return try #require(parser.parse(yaml: text, file: name, slug: "c", folder: folder ?? Corpus.challengeFolder(for: text)).spec, "\(name)")
        }
        let noDockerfile = ChallengeFolder { _ in .missing }
        let template = try spec("valid-ctfcli-template-filled.yml")
        #expect(template.connectionInfo == "nc {{host}} {{port}}")
        #expect(template.maxAttempts == 5)
        #expect(template.files == ["dist/chall", "dist/libc.so.6"])
        #expect(template.requirements == RequirementsSpec(prerequisites: ["Warmup"]))
        #expect(template.visibility == .visible)
        #expect(template.hints == [HintSpec(content: "Look at free()", cost: 10), HintSpec(content: "The libc is 2.31")])
        #expect(template.flags.count == 2 && template.flags[1].matches("FLAG{HEAP_OF_TROUBLE}"))
        #expect(template.image == .build(context: "."))

        #expect(try spec("valid-dynamic-extra.yml").scoring == .dynamic(initial: 500, decay: 15, minimum: 100, function: .logarithmic))
        #expect(try spec("valid-dynamic-extra.yml").value == 500)
        #expect(try spec("valid-dynamic-old-toplevel.yml").scoring == .dynamic(initial: 400, decay: 20, minimum: 150, function: .logarithmic))
        #expect(try spec("valid-value-string.yml").value == 150)
        #expect(try spec("valid-hints-single-string.yml").hints == [HintSpec(content: "Read the source, Luke.")])
        let empty = try spec("valid-empty-keys.yml")
        #expect(empty.files.isEmpty && empty.tags.isEmpty && empty.requirements == nil && empty.connectionInfo == nil)
        #expect(try spec("valid-unknown-type-kubernetes.yml").type == "standard")
        #expect(try spec("valid-state-hidden.yml").visibility == .hidden)
        #expect(try spec("valid-requirements-ctfd-object.yml").requirements == RequirementsSpec(prerequisites: ["First stage", "12"], anonymize: true))
        #expect(try spec("valid-image-prebuilt.yml").image == .prebuilt(reference: "registry.example.org/ctf/pwn-basics:2024"))
        #expect(try spec("valid-image-null.yml", folder: noDockerfile).image == .none)
        #expect(try !spec("valid-image-null.yml", folder: noDockerfile).hasInstance)
        // An empty or null image counts as absent: a folder with a Dockerfile is built.
        #expect(try spec("valid-image-null.yml").image == .build(context: "."))
        #expect(try spec("valid-attempts-zero.yml").maxAttempts == nil)
        #expect(try spec("valid-anchors-merge.yml").berth.resources == ResourceSpec(memoryBytes: 128 << 20, cpus: 0.5, pids: 64))
        #expect(try spec("valid-crlf.yml").name == "Windows author")
        #expect(try spec("valid-bom.yml").name == "BOM author")
        #expect(try spec("valid-numbers-as-text.yml").name == "1337")
        #expect(try spec("valid-image-dot.yml").lab == nil)
        let lab = try #require(try spec("valid-lab-steps.yml").lab)
        #expect(lab.steps.map(\.id) == ["intro", "step-2", "wrap-up"])
        #expect(lab.steps.map(\.checkScript) == ["check-intro", "check-step-2", nil])
        #expect(lab.steps.map(\.solveScript) == ["solve-intro", nil, nil])
        #expect(lab.steps[0].hints == ["Try ls."])
        #expect(lab.steps[1].hints == ["Look in /tmp.", "Use cat."])
        #expect(lab.steps[1].text == "Text of docs/step-2.md")
        #expect(lab.steps[2].text.contains("Well done"))
        #expect(!lab.awardsPoints)
        #expect(lab.scripts == ["check-intro", "check-step-2", "cleanup", "setup", "solve-intro"])
        let implicit = try #require(try spec("valid-lab-checks-only.yml").lab)
        #expect(implicit.steps == [LabStep(id: "step-1", title: "Checks only", checkScript: "check", solveScript: "solve")])
        #expect(implicit.awardsPoints)
        #expect(try spec("valid-numbers-as-text.yml").flags.first?.matches("12345") == true)
        let regex = try spec("valid-regex-python-brace.yml")
        #expect(regex.flags[0].matches("flag{I LOVE YAML}"))
        #expect(!regex.flags[0].matches("flag{I like YAML}"))
        #expect(regex.flags[1].matches("Echo_echo"))
        #expect(!regex.flags[1].matches("echo_other"))
        #expect(regex.flags[2].matches("CTF{0123456789abcdef0123456789abcdef}"))
        #expect(!regex.flags[2].matches("CTF{0123456789abcdef0123456789abcdef}\n"))
    }

    /// Mutates `text` in one of the ways broken files are broken.
    static func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var lines = text.components(separatedBy: "\n")
        let pick = { (generator: inout SeededGenerator, count: Int) in count > 0 ? Int.random(in: 0..<count, using: &generator) : 0 }
        let index = pick(&generator, lines.count)
        switch Int.random(in: 0..<14, using: &generator) {
        case 0:
            var bytes = Array(text.utf8)
            if !bytes.isEmpty { bytes[pick(&generator, bytes.count)] ^= UInt8(1 << pick(&generator, 8)) }
            return String(decoding: bytes, as: UTF8.self)
        case 1: if !lines.isEmpty { lines.remove(at: index) }
        case 2: if !lines.isEmpty { lines.insert(lines[index], at: index) }
        case 3: if !lines.isEmpty { lines[index] = String(repeating: " ", count: pick(&generator, 5)) + lines[index] }
        case 4: if !lines.isEmpty { lines[index] = lines[index].trimmingCharacters(in: .whitespaces) }
        case 5: if !lines.isEmpty { lines[index] = lines[index].replacingOccurrences(of: ": ", with: ": {{x}} ") }
        case 6: if !lines.isEmpty, let colon = lines[index].firstIndex(of: ":") {
            lines[index] = String(lines[index][...colon]) + " {{x}}"
        }
        case 7: lines.insert("z: *nowhere", at: index)
        case 8: if !lines.isEmpty, let colon = lines[index].firstIndex(of: ":") {
            lines[index] = String(lines[index][...colon]) + " 99999999999999999999999999999999"
        }
        case 9: lines.insert("deep: " + String(repeating: "[", count: 1 + pick(&generator, 300)) + String(repeating: "]", count: pick(&generator, 300)), at: index)
        case 10: if !lines.isEmpty { lines[index] = "\t" + lines[index] }
        case 11: lines.insert("k: &k [" + Array(repeating: "*k", count: 3).joined(separator: ",") + "]", at: index)
        case 12: if !lines.isEmpty, let colon = lines[index].firstIndex(of: ":") {
            lines[index] = String(lines[index][...colon]) + " " + String(repeating: "x", count: 10_000)
        }
        default:
            let pieces = ["{", "}", "[", "]", "&a ", "*a", "? ", "- ", "!!int ", "\"", "'", "|", ">", "%YAML 1.1", "---", "\u{FEFF}", "\r", "\0"]
            if !lines.isEmpty { lines[index].insert(contentsOf: pieces[pick(&generator, pieces.count)], at: lines[index].startIndex) }
        }
        return lines.joined(separator: "\n")
    }

    @Test("5,000 seeded mutations of valid files: no crash, every outcome a spec or an error")
    func fuzz() throws {
        var seeds = try Corpus.files().filter { $0.name.hasPrefix("valid-") }.map(\.text)
        // Alias chains that stay just under and go over the node limit.
        seeds.append("name: A\na: &a [1, 2, 3, 4, 5, 6, 7, 8]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n")
        var generator = SeededGenerator(state: 20_261_128)
        var specs = 0
        var refused = 0
        for iteration in 0..<5_000 {
            var text = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            for _ in 0...Int.random(in: 0..<3, using: &generator) {
                text = Self.mutate(text, using: &generator)
            }
            let outcome = parser.parse(yaml: text, file: "fuzz/challenge.yml", slug: "fuzz", folder: Corpus.challengeFolder)
            if outcome.spec != nil {
                specs += 1
                #expect(!outcome.problems.contains { $0.severity == .error }, "iteration \(iteration)")
            } else {
                refused += 1
                #expect(outcome.problems.contains { $0.severity == .error }, "iteration \(iteration): refused without an error")
            }
        }
        #expect(specs + refused == 5_000)
        #expect(specs > 0 && refused > 0, "\(specs) specs, \(refused) refused")
    }
}
