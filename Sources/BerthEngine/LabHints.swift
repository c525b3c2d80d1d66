import BerthCore
import Foundation
import HTTPTransport
import BerthTerminal
import Logging
import NIOCore
import NIOHTTP1

/// A step's authored hints, in order: `request.authoredHintsGiven` is the index of the next one.
public struct AuthoredHints: LabHintGiving {
    /// Creates the giver.
    public init() {}

    public func hint(_ request: LabHintRequest) async -> LabHint {
        Self.next(for: request, fallbackReason: nil)
    }

    /// The next authored hint of the request's step, or ``LabHint/Source/none`` once all were given;
    /// `fallbackReason` says why the AI endpoint did not answer, when it was asked.
    public static func next(for request: LabHintRequest, fallbackReason: String?) -> LabHint {
        let index = max(0, request.authoredHintsGiven)
        guard index < request.step.hints.count else {
            return LabHint(source: .none, text: "", fallbackReason: fallbackReason)
        }
        return LabHint(source: .authored, text: request.step.hints[index], authoredIndex: index, fallbackReason: fallbackReason)
    }
}

/// Gives hints from an OpenAI-compatible chat-completions endpoint (`POST <url>/chat/completions`),
/// and the step's authored hints whenever the endpoint is not configured or does not give a usable
/// answer in time. Each failure is logged with its reason and reported as ``LabHint/fallbackReason``.
public struct AIHintAdvisor: LabHintGiving {
    /// Where and how to ask.
    public struct Endpoint: Sendable {
        /// The base URL, `http://` or `https://`, optionally with a path (`https://llm.example.org/v1`).
        public var url: String
        /// The model named in each request.
        public var model: String
        /// Sent as `Authorization: Bearer <key>` when set. Never logged.
        public var key: String?
        /// How long the whole request may take, connecting included.
        public var timeout: Duration
        /// Longest answer accepted, in characters; a longer one is a failure (`answer_too_large`).
        public var maxAnswerCharacters: Int
        /// `max_tokens` of the request.
        public var maxTokens: Int
        /// `temperature` of the request.
        public var temperature: Double

        /// Creates an endpoint.
        public init(
            url: String, model: String, key: String? = nil, timeout: Duration = .seconds(10), maxAnswerCharacters: Int = 4000,
            maxTokens: Int = 400, temperature: Double = 0.2
        ) {
            self.url = url
            self.model = model
            self.key = key
            self.timeout = timeout
            self.maxAnswerCharacters = maxAnswerCharacters
            self.maxTokens = maxTokens
            self.temperature = temperature
        }

        /// The endpoint `configuration` describes, nil when `BERTH_AI_URL` is unset. Reads
        /// `BERTH_AI_KEY_FILE`; an unreadable or empty file is `invalid_config` (naming the file,
        /// never its content).
        public static func from(_ configuration: BerthConfiguration) throws -> Endpoint? {
            guard let url = configuration.aiURL else { return nil }
            guard let model = configuration.aiModel else {
                throw BerthError(.invalidConfig, "BERTH_AI_URL (aiUrl) is set but BERTH_AI_MODEL (aiModel) is not: name the model the endpoint should use")
            }
            var key = configuration.aiKey
            if let file = configuration.aiKeyFile {
                let text: String
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw BerthError(.invalidConfig, "BERTH_AI_KEY_FILE: cannot read \(file): \(error.localizedDescription)")
                }
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty, !trimmed.contains(where: \.isNewline) else {
                    throw BerthError(.invalidConfig, "BERTH_AI_KEY_FILE: \(file) must hold the key on one line")
                }
                key = trimmed
            }
            return Endpoint(url: url, model: model, key: key, timeout: .milliseconds(configuration.aiTimeoutMilliseconds))
        }
    }

    /// Why an answer was not used; its `reason` is ``LabHint/fallbackReason``.
    struct Failure: Error {
        var reason: String
        var detail: String
    }

    /// Largest response body read from the endpoint, whatever the answer's length.
    static let maxResponseBytes = 256 * 1024

    let endpoint: Endpoint?
    let transport: HTTPTransport?
    let path: String
    let logger: Logger

    /// An advisor asking `endpoint`; with nil, every hint is an authored one (`not_configured`).
    /// An `endpoint` whose URL is not `http(s)://host[:port][/path]` is `invalid_config`.
    public init(endpoint: Endpoint?, logger: Logger) throws {
        self.endpoint = endpoint
        self.logger = logger
        guard let endpoint else {
            (transport, path) = (nil, "")
            return
        }
        guard let url = URLComponents(string: endpoint.url), let scheme = url.scheme, ["http", "https"].contains(scheme),
              var host = url.host, !host.isEmpty
        else {
            throw BerthError(.invalidConfig, "BERTH_AI_URL: '\(endpoint.url)' is not an http:// or https:// URL")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let secure = scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        guard (1...65535).contains(port) else { throw BerthError(.invalidConfig, "BERTH_AI_URL: port \(port) is out of range") }
        let base = url.percentEncodedPath.hasSuffix("/") ? String(url.percentEncodedPath.dropLast()) : url.percentEncodedPath
        self.path = base + "/chat/completions"
        self.transport = HTTPTransport(address: .tcp(host: host, port: port), tlsServerName: secure ? host : nil)
    }

    /// An advisor for the server's settings (see ``Endpoint/from(_:)``).
    public init(configuration: BerthConfiguration, logger: Logger) throws {
        try self.init(endpoint: try Endpoint.from(configuration), logger: logger)
    }

    /// Whether an endpoint is configured.
    public var isConfigured: Bool { endpoint != nil }

    public func hint(_ request: LabHintRequest) async -> LabHint {
        guard let endpoint, let transport else {
            logger.debug("AI hint endpoint not configured; giving an authored hint", metadata: metadata(request, reason: "not_configured"))
            return AuthoredHints.next(for: request, fallbackReason: "not_configured")
        }
        do {
            let text = try await ask(endpoint, over: transport, prompt: LabHintPrompt(request))
            let answer = LabHintPrompt.redact(LabHintPrompt.stripControls(text, keepNewlines: true), secrets: request.secrets)
            return LabHint(source: .ai, text: answer)
        } catch let failure as Failure {
            var details = metadata(request, reason: failure.reason)
            details["error"] = "\(failure.detail)"
            logger.warning("AI hint failed; giving an authored hint", metadata: details)
            return AuthoredHints.next(for: request, fallbackReason: failure.reason)
        } catch {
            var details = metadata(request, reason: "transport_error")
            details["error"] = "\(error)"
            logger.warning("AI hint failed; giving an authored hint", metadata: details)
            return AuthoredHints.next(for: request, fallbackReason: "transport_error")
        }
    }

    private func metadata(_ request: LabHintRequest, reason: String) -> Logger.Metadata {
        ["lab.environment": "\(request.environmentName)", "lab.step": "\(request.step.id)", "hint.fallback_reason": "\(reason)"]
    }

    /// One chat-completions exchange; every way it can go wrong is a ``Failure``.
    func ask(_ endpoint: Endpoint, over transport: HTTPTransport, prompt: LabHintPrompt) async throws -> String {
        let body = ChatRequest(model: endpoint.model, messages: prompt.messages, maxTokens: endpoint.maxTokens, temperature: endpoint.temperature)
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(body)
        } catch {
            throw Failure(reason: "invalid_request", detail: "cannot encode the request: \(error)")
        }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let key = endpoint.key { headers.append(("Authorization", "Bearer \(key)")) }
        let limit = TimeAmount.nanoseconds(Int64(endpoint.timeout.components.seconds) * 1_000_000_000 + endpoint.timeout.components.attoseconds / 1_000_000_000)
        let (status, bytes): (Int, ByteBuffer)
        do {
            (status, bytes) = try await transport.stream(
                method: .POST, path: path, headers: headers, body: ByteBuffer(data: encoded), timeout: limit
            ) { head, reader in
                var collected = ByteBuffer()
                while var chunk = try await reader.next() {
                    guard collected.readableBytes + chunk.readableBytes <= Self.maxResponseBytes else {
                        throw Failure(reason: "answer_too_large", detail: "the response body is over \(Self.maxResponseBytes) bytes")
                    }
                    collected.writeBuffer(&chunk)
                }
                return (head.status, collected)
            }
        } catch let error as TransportError {
            switch error {
            case .timedOut: throw Failure(reason: "timeout", detail: "\(error)")
            case .connectFailed: throw Failure(reason: "connect_failed", detail: "\(error)")
            default: throw Failure(reason: "transport_error", detail: "\(error)")
            }
        }
        // The body of an error status is not logged: some services repeat part of the key in it.
        guard (200..<300).contains(status) else { throw Failure(reason: "http_\(status)", detail: "the endpoint answered \(status)") }
        let answer: ChatResponse
        do {
            answer = try JSONDecoder().decode(ChatResponse.self, from: Data(bytes.readableBytesView))
        } catch {
            throw Failure(reason: "invalid_answer", detail: "the response is not a chat completion: \(error)")
        }
        guard let content = answer.choices.first?.message.content else {
            throw Failure(reason: "invalid_answer", detail: "the response has no choices[0].message.content")
        }
        let text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw Failure(reason: "empty_answer", detail: "the answer is empty") }
        guard text.count <= endpoint.maxAnswerCharacters else {
            throw Failure(reason: "answer_too_large", detail: "the answer has \(text.count) characters, more than \(endpoint.maxAnswerCharacters)")
        }
        return text
    }

    struct ChatRequest: Encodable {
        var model: String
        var messages: [LabHintPrompt.Message]
        var maxTokens: Int
        var temperature: Double

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature
            case maxTokens = "max_tokens"
        }
    }

    struct ChatResponse: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                var content: String?
            }

            var message: Message
        }

        var choices: [Choice]
    }
}

/// The chat messages a hint is asked with: a tutor's instructions, then the step, the last check's
/// failures and the end of the terminal screen. Each text is cleaned of control characters and
/// every secret of the request (flags) is replaced by `[redacted]`, the screen included, so the
/// endpoint never sees a flag even when the learner printed it. Nothing of the check or solve
/// scripts goes in: the request holds only their names, and those are left out too.
public struct LabHintPrompt: Sendable, Equatable {
    /// One chat message.
    public struct Message: Codable, Sendable, Equatable {
        /// `system` or `user`.
        public var role: String
        /// The text.
        public var content: String

        /// Creates a message.
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// How much of each part goes in.
    public struct Limits: Sendable, Equatable {
        /// Most lines of the screen's end.
        public var screenLines = 40
        /// Most UTF-8 bytes of the screen's end.
        public var screenBytes = 4096
        /// Most characters of the step's text.
        public var stepTextCharacters = 8000
        /// Most failures listed.
        public var failures = 20
        /// Most characters of one failure's message or hint.
        public var failureCharacters = 500

        /// The defaults.
        public init() {}
    }

    /// What replaces each secret.
    public static let redactionMark = "[redacted]"

    /// The tutor's instructions.
    public static let systemMessage = """
        You are a patient tutor helping a learner through a hands-on lab in a Linux terminal. \
        Guide them towards the next thing to try: point at the concept, the command or the file that matters, \
        and ask a question when it helps them think. Never give the full solution, never write out the whole \
        command sequence or file that solves the step, and never reveal or guess a flag or secret \
        (text shown as \(redactionMark) is hidden from you on purpose). Answer in at most five short sentences of Markdown.
        """

    /// The messages, system first.
    public var messages: [Message]

    /// Builds the prompt for `request`.
    public init(_ request: LabHintRequest, limits: Limits = Limits()) {
        let secrets = request.secrets
        func clean(_ text: String, keepNewlines: Bool = true) -> String {
            Self.redact(Self.stripControls(text, keepNewlines: keepNewlines), secrets: secrets)
        }
        var user = "Lab: \(clean(request.environmentName, keepNewlines: false))\n"
        user += "Step: \(clean(request.step.title, keepNewlines: false))\n\n"
        user += "What the step asks:\n\(Self.prefix(clean(request.step.text), characters: limits.stepTextCharacters))\n\n"
        if request.failures.isEmpty {
            user += "No check has failed on this step yet.\n\n"
        } else {
            user += "The last check of this step failed with:\n"
            for failure in request.failures.prefix(limits.failures) {
                user += "- \(Self.prefix(clean(failure.message, keepNewlines: false), characters: limits.failureCharacters))"
                if let hint = failure.hint, !hint.isEmpty {
                    user += " (the check's hint: \(Self.prefix(clean(hint, keepNewlines: false), characters: limits.failureCharacters)))"
                }
                user += "\n"
            }
            user += "\n"
        }
        let screen = Self.tail(clean(request.screenTail), lines: limits.screenLines, bytes: limits.screenBytes)
        if screen.isEmpty {
            user += "The learner's terminal shows nothing yet.\n\n"
        } else {
            user += "The last lines of the learner's terminal:\n```\n\(screen)\n```\n\n"
        }
        user += "Give the learner one hint for what to try next."
        messages = [Message(role: "system", content: Self.systemMessage), Message(role: "user", content: user)]
    }

    /// `text` with every occurrence of each secret, in any letter case, replaced by ``redactionMark``;
    /// longer secrets first, so one that contains another is hidden whole.
    public static func redact(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in Set(secrets.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }).sorted(by: { $0.count > $1.count })
        where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: redactionMark, options: [.caseInsensitive, .literal])
        }
        return result
    }

    /// `text` without control characters (C0, DEL, C1; escape sequences become their printable
    /// remainder, which ``TerminalText`` removes beforehand for screens). Tabs stay; newlines stay
    /// when `keepNewlines`, else become spaces.
    public static func stripControls(_ text: String, keepNewlines: Bool) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.replacingOccurrences(of: "\r\n", with: "\n").unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x0D: scalars.append(keepNewlines ? "\n" : " ")
            case 0x09: scalars.append(scalar)
            case 0x00...0x1F, 0x7F...0x9F: continue
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// The last `lines` lines of `text`, at most `bytes` UTF-8 bytes (cut at a character), without
    /// trailing blank lines.
    public static func tail(_ text: String, lines: Int, bytes: Int) -> String {
        TerminalText.tail(text.replacingOccurrences(of: "\t", with: "    "), lines: lines, bytes: bytes)
    }

    static func prefix(_ text: String, characters: Int) -> String {
        text.count <= characters ? text : String(text.prefix(characters)) + " …"
    }
}

extension LabHintRequest {
    /// What a hint for an instance of `environment` must never show: its static flags, and the
    /// instance's own flag (whole and its secret part) when the environment has one.
    public static func secrets(of environment: EnvironmentSpec, instanceID: String, flagSecret: FlagSecret?) -> [String] {
        var secrets = environment.flags.filter { $0.kind == .static }.map(\.content)
        if let dynamic = environment.berth.flag, let flagSecret {
            let flag = dynamic.flag(instanceID: instanceID, secret: flagSecret)
            secrets.append(flag)
            let core = flag.dropFirst(dynamic.prefix.count).dropLast(dynamic.suffix.count)
            if !core.isEmpty { secrets.append(String(core)) }
        }
        return secrets
    }
}
