import BerthCore
import BerthEngine
import BerthTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A step with three authored hints.
let shellStep = LabStep(
    id: "find-the-log", title: "Find the log file",
    text: "Somewhere under `/var/log` a service writes `berth.log`. Print its **last line**.",
    hints: ["Try `ls /var/log`.", "`tail -n 1 FILE` prints the last line.", "The file is `/var/log/berth/berth.log`."],
    checkScript: "check-find-the-log", solveScript: "solve-find-the-log"
)

/// The secrets of the tests' lab: a static flag and an instance flag.
let staticFlag = "CTF{static-flag-do-not-leak}"
let instanceFlag = "berth{0123456789abcdef0123456789abcdef}"

func request(given: Int = 0, failures: [CheckFailure] = [], screen: String = "", secrets: [String] = [staticFlag, instanceFlag]) -> LabHintRequest {
    LabHintRequest(
        environmentName: "Shell steps", step: shellStep, failures: failures, screenTail: screen, authoredHintsGiven: given, secrets: secrets
    )
}

/// Collects log records so tests can check what was logged (and what was not).
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let stored = Mutex<[Record]>([])

    var records: [Record] { stored.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "test.hints") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { merged[key] = "\(value)" }
            let record = Record(level: event.level, message: "\(event.message)", metadata: merged)
            capture.stored.withLock { $0.append(record) }
        }
    }
}

@Suite("Authored hints")
struct AuthoredHintsTests {
    @Test("authored hints come in order, then none")
    func inOrder() async {
        let giver = AuthoredHints()
        for index in 0..<3 {
            let hint = await giver.hint(request(given: index))
            #expect(hint == LabHint(source: .authored, text: shellStep.hints[index], authoredIndex: index))
        }
        let none = await giver.hint(request(given: 3))
        #expect(none.source == .none && none.text.isEmpty && none.authoredIndex == nil)
    }
}

@Suite("Hint prompt")
struct LabHintPromptTests {
    @Test("the prompt holds a tutor's system message, the step's title and text, the failures and the screen's end")
    func contents() throws {
        let failures = [
            CheckFailure(code: "missing", message: "berth.log's last line was not printed", hint: "Use tail."),
            CheckFailure(message: "the shell history is empty"),
        ]
        let prompt = LabHintPrompt(request(failures: failures, screen: "player@lab:~$ ls /var/log\nberth  dpkg.log\nplayer@lab:~$ "))
        #expect(prompt.messages.map(\.role) == ["system", "user"])
        let system = prompt.messages[0].content
        #expect(system.contains("tutor") && system.contains("Never give the full solution") && system.contains("flag"))
        let user = prompt.messages[1].content
        #expect(user.contains("Step: Find the log file"))
        #expect(user.contains("Somewhere under `/var/log` a service writes `berth.log`. Print its **last line**."))
        #expect(user.contains("- berth.log's last line was not printed (the check's hint: Use tail.)"))
        #expect(user.contains("- the shell history is empty\n"))
        #expect(user.contains("```\nplayer@lab:~$ ls /var/log\nberth  dpkg.log\nplayer@lab:~$\n```") || user.contains("player@lab:~$ ls /var/log\nberth  dpkg.log\nplayer@lab:~$ \n```"))
        // Nothing of the scripts, not even their names, and not the authored hints (the learner asks for those separately).
        #expect(!user.contains("check-find-the-log") && !user.contains("solve-find-the-log"))
        #expect(!user.contains("/var/log/berth/berth.log"))
    }

    @Test("without failures or screen the prompt says so")
    func emptyParts() {
        let user = LabHintPrompt(request()).messages[1].content
        #expect(user.contains("No check has failed on this step yet."))
        #expect(user.contains("The learner's terminal shows nothing yet."))
    }

    @Test("a secret never reaches the prompt, wherever it was and in any letter case, even printed on the screen")
    func secretsRedacted() {
        var step = shellStep
        step.title = "Find \(staticFlag)"
        step.text = "The flag looks like \(instanceFlag)."
        let screen = """
            player@lab:~$ cat /flag
            \(instanceFlag)
            player@lab:~$ echo \(staticFlag.uppercased())
            \u{1B}[1mCTF{static-\u{1B}[0mflag-do-not-leak}
            player@lab:~$ echo 0123456789abcdef0123456789abcdef
            """
        let leaking = LabHintRequest(
            environmentName: "Lab \(staticFlag)", step: step,
            failures: [CheckFailure(code: nil, message: "expected \(instanceFlag)", hint: "not \(staticFlag)")],
            screenTail: screen, authoredHintsGiven: 0,
            secrets: [staticFlag, instanceFlag, "0123456789abcdef0123456789abcdef"]
        )
        let prompt = LabHintPrompt(leaking)
        let all = prompt.messages.map(\.content).joined(separator: "\n")
        for secret in [staticFlag, instanceFlag, "0123456789abcdef0123456789abcdef", "static-flag-do-not-leak"] {
            #expect(!all.lowercased().contains(secret.lowercased()), "\(secret) leaked")
        }
        #expect(all.contains(LabHintPrompt.redactionMark))
        #expect(all.contains("player@lab:~$ cat /flag"))
    }

    @Test("control characters are stripped and the screen is cut to its last 40 lines and 4 KiB")
    func screenBounds() {
        let lines = (1...100).map { "line \($0) \u{07}\u{1B}" }.joined(separator: "\n")
        let user = LabHintPrompt(request(screen: lines)).messages[1].content
        #expect(!user.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(user.contains("line 100"))
        #expect(user.contains("line 61 ") && !user.contains("line 60 "))

        let wide = String(repeating: "é", count: 5000)
        let tail = LabHintPrompt.tail(wide, lines: 40, bytes: 4096)
        #expect(tail.utf8.count <= 4096 && tail.utf8.count >= 4094)
        #expect(tail.allSatisfy { $0 == "é" })
    }

    @Test("the environment's static flags and the instance's flag are the request's secrets")
    func secretsOfEnvironment() {
        var environment = EnvironmentSpec(slug: "lab", name: "Lab")
        environment.flags = [FlagSpec(kind: .static, content: staticFlag), FlagSpec(kind: .regex, content: "CTF\\{.*\\}")]
        environment.berth.flag = DynamicFlagSpec(path: "/flag")
        let secret = FlagSecret(bytes: Data(repeating: 7, count: 32))
        let secrets = LabHintRequest.secrets(of: environment, instanceID: "inst_1", flagSecret: secret)
        let flag = DynamicFlagSpec(path: "/flag").flag(instanceID: "inst_1", secret: secret)
        #expect(secrets == [staticFlag, flag, String(flag.dropFirst(6).dropLast())])
        #expect(LabHintRequest.secrets(of: environment, instanceID: "inst_1", flagSecret: nil) == [staticFlag])
    }
}

@Suite("AI hint advisor against a local chat-completions server")
struct AIHintAdvisorTests {
    static func advisor(_ server: ChatCompletionsServer, key: String? = "sk-test-key-0001", timeout: Duration = .seconds(10), logger: Logger? = nil) throws -> AIHintAdvisor {
        try AIHintAdvisor(
            endpoint: .init(url: server.baseURL, model: "tutor-test", key: key, timeout: timeout), logger: logger ?? Logger(label: "test.hints")
        )
    }

    @Test("a hint comes from the endpoint: the request is a chat completion with the model, the prompt and the key")
    func answered() async throws {
        try await ChatCompletionsServer.with(behaviour: .answer("Which command prints the **end** of a file?")) { server in
            let failures = [CheckFailure(message: "nothing was printed", hint: "Print the last line.")]
            let hint = try await Self.advisor(server).hint(request(failures: failures, screen: "player@lab:~$ cat /var/log/dpkg.log | head"))
            #expect(hint == LabHint(source: .ai, text: "Which command prints the **end** of a file?"))
            let sent = try #require(server.requests.first)
            #expect(server.requests.count == 1)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.authorization == "Bearer sk-test-key-0001")
            #expect(sent.contentType == "application/json")
            #expect(sent.model == "tutor-test")
            #expect(sent.maxTokens == 400)
            #expect(sent.temperature == 0.2)
            #expect(sent.messages.map(\.role) == ["system", "user"])
            #expect(sent.promptText.contains("Somewhere under `/var/log`"))
            #expect(sent.promptText.contains("nothing was printed") && sent.promptText.contains("Print the last line."))
            #expect(sent.promptText.contains("player@lab:~$ cat /var/log/dpkg.log | head"))
        }
    }

    @Test("without a key no Authorization header is sent")
    func noKey() async throws {
        try await ChatCompletionsServer.with { server in
            let hint = try await Self.advisor(server, key: nil).hint(request())
            #expect(hint.source == .ai)
            #expect(server.requests.first?.authorization == nil)
        }
    }

    @Test("what the endpoint receives never holds a secret, even one the learner printed; an answer naming one is redacted")
    func noSecretSent() async throws {
        try await ChatCompletionsServer.with(behaviour: .answer("Maybe it is \(staticFlag)?")) { server in
            let screen = "player@lab:~$ cat /flag\n\(instanceFlag)\nplayer@lab:~$ grep -r CTF /srv\n/srv/notes:\(staticFlag)\n"
            let hint = try await Self.advisor(server).hint(request(failures: [CheckFailure(message: "not \(instanceFlag)")], screen: screen))
            #expect(hint.source == .ai && hint.text == "Maybe it is \(LabHintPrompt.redactionMark)?")
            let sent = try #require(server.requests.first)
            for text in [sent.body, sent.promptText] {
                #expect(!text.contains(staticFlag) && !text.contains(instanceFlag) && !text.contains("0123456789abcdef0123456789abcdef"))
            }
            #expect(sent.promptText.contains("player@lab:~$ cat /flag\n\(LabHintPrompt.redactionMark)\n"))
        }
    }

    @Test("a slow endpoint times out: authored hints are given in order, with the reason, and the failure is logged without the key")
    func timeout() async throws {
        try await ChatCompletionsServer.with(behaviour: .answer("too late", delay: .seconds(60))) { server in
            let logs = LogCapture()
            let advisor = try Self.advisor(server, timeout: .milliseconds(300), logger: logs.logger)
            let started = ContinuousClock.now
            let first = await advisor.hint(request(given: 0))
            let second = await advisor.hint(request(given: 1))
            // Far below the server's 60 s: the advisor gave up on its own (a generous margin for a loaded machine).
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(first == LabHint(source: .authored, text: shellStep.hints[0], authoredIndex: 0, fallbackReason: "timeout"))
            #expect(second == LabHint(source: .authored, text: shellStep.hints[1], authoredIndex: 1, fallbackReason: "timeout"))
            let warnings = logs.records.filter { $0.level == .warning }
            #expect(warnings.count == 2)
            #expect(warnings.allSatisfy { $0.metadata["hint.fallback_reason"] == "timeout" && $0.metadata["lab.step"] == "find-the-log" })
            #expect(!logs.records.contains { record in
                record.message.contains("sk-test-key") || record.metadata.values.contains { $0.contains("sk-test-key") }
            })
        }
    }

    @Test("an error status falls back to the authored hint with http_<status>", arguments: [500, 503, 401, 429])
    func errorStatus(status: Int) async throws {
        try await ChatCompletionsServer.with(behaviour: .fail(status: status)) { server in
            let hint = try await Self.advisor(server).hint(request(given: 2))
            #expect(hint == LabHint(source: .authored, text: shellStep.hints[2], authoredIndex: 2, fallbackReason: "http_\(status)"))
        }
    }

    @Test("an unusable answer falls back with its reason", arguments: [
        (ChatCompletionsServer.Behaviour.garbage, "invalid_answer"),
        (.raw(#"{"choices": []}"#), "invalid_answer"),
        (.raw(#"{"choices": [{"message": {"role": "assistant", "content": null}}]}"#), "invalid_answer"),
        (.answer("   \n "), "empty_answer"),
        (.answer(String(repeating: "a", count: 4001)), "answer_too_large"),
        (.raw(String(repeating: " ", count: 300_000)), "answer_too_large"),
    ])
    func unusable(behaviour: ChatCompletionsServer.Behaviour, reason: String) async throws {
        try await ChatCompletionsServer.with(behaviour: behaviour) { server in
            let hint = try await Self.advisor(server).hint(request())
            #expect(hint == LabHint(source: .authored, text: shellStep.hints[0], authoredIndex: 0, fallbackReason: reason))
        }
    }

    @Test("once every authored hint was given a failed endpoint leaves nothing to give")
    func exhausted() async throws {
        try await ChatCompletionsServer.with(behaviour: .fail(status: 502)) { server in
            let hint = try await Self.advisor(server).hint(request(given: 3))
            #expect(hint == LabHint(source: .none, text: "", fallbackReason: "http_502"))
        }
    }

    @Test("without an endpoint the authored hints answer (not_configured); a closed port is connect_failed")
    func notConfiguredOrUnreachable() async throws {
        let logs = LogCapture()
        let unconfigured = try AIHintAdvisor(configuration: BerthConfiguration(), logger: logs.logger)
        #expect(!unconfigured.isConfigured)
        #expect(await unconfigured.hint(request()) == LabHint(source: .authored, text: shellStep.hints[0], authoredIndex: 0, fallbackReason: "not_configured"))
        #expect(logs.records.contains { $0.metadata["hint.fallback_reason"] == "not_configured" })

        // A port the test server held a moment ago is closed now.
        let closedURL = try await ChatCompletionsServer.with { $0.baseURL }
        let unreachable = try AIHintAdvisor(endpoint: .init(url: closedURL, model: "m", timeout: .seconds(5)), logger: Logger(label: "test"))
        let hint = await unreachable.hint(request(given: 1))
        #expect(hint == LabHint(source: .authored, text: shellStep.hints[1], authoredIndex: 1, fallbackReason: "connect_failed"))
    }

    @Test("the endpoint comes from the settings; the key file is read, and an unreadable one is invalid_config")
    func fromConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-hint-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyFile = folder.appendingPathComponent("key").path
        try "sk-from-file-42\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        var configuration = try BerthConfiguration.resolve(flags: [:], environment: [
            "BERTH_AI_URL": "http://127.0.0.1:9/v1", "BERTH_AI_MODEL": "tutor", "BERTH_AI_KEY_FILE": keyFile, "BERTH_AI_TIMEOUT": "750ms",
        ], configFileYAML: nil)
        let endpoint = try #require(try AIHintAdvisor.Endpoint.from(configuration))
        #expect(endpoint.url == "http://127.0.0.1:9/v1" && endpoint.model == "tutor" && endpoint.key == "sk-from-file-42")
        #expect(endpoint.timeout == .milliseconds(750))

        configuration.aiKeyFile = folder.appendingPathComponent("missing").path
        let error = try #require(throws: BerthError.self) { try AIHintAdvisor.Endpoint.from(configuration) }
        #expect(error.code == .invalidConfig && error.message.contains("BERTH_AI_KEY_FILE"))
        #expect(try AIHintAdvisor.Endpoint.from(BerthConfiguration()) == nil)
    }
}
