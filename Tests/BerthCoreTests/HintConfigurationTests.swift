import BerthCore
import Testing

@Suite("BerthConfiguration: AI hint settings")
struct HintConfigurationTests {
    @Test("by default no endpoint is configured, the timeout is 10 s and the limit 5 hints a minute")
    func defaults() throws {
        let config = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: nil)
        #expect(config.aiURL == nil && config.aiModel == nil && config.aiKey == nil && config.aiKeyFile == nil)
        #expect(config.aiTimeoutMilliseconds == 10_000)
        #expect(config.hintLimit == EventLimit(count: 5, windowSeconds: 60))
    }

    @Test("every hint setting reaches its property, from the environment and from the file")
    func settings() throws {
        let config = try BerthConfiguration.resolve(flags: [:], environment: [
            "BERTH_AI_URL": "https://llm.example.org/v1/", "BERTH_AI_MODEL": "tutor-small", "BERTH_AI_KEY": "sk-test-1234",
            "BERTH_AI_TIMEOUT": "2500ms", "BERTH_HINT_LIMIT": "3/30s",
        ], configFileYAML: nil)
        #expect(config.aiURL == "https://llm.example.org/v1")
        #expect(config.aiModel == "tutor-small")
        #expect(config.aiKey == "sk-test-1234")
        #expect(config.aiTimeoutMilliseconds == 2500)
        #expect(config.hintLimit == EventLimit(count: 3, windowSeconds: 30))

        let file = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: """
            aiUrl: http://127.0.0.1:11434/v1
            aiModel: llama
            aiKeyFile: /run/secrets/ai-key
            aiTimeout: 1m
            hintLimit: 10
            """)
        #expect(file.aiURL == "http://127.0.0.1:11434/v1")
        #expect(file.aiKeyFile == "/run/secrets/ai-key")
        #expect(file.aiTimeoutMilliseconds == 60_000)
        #expect(file.hintLimit == EventLimit(count: 10, windowSeconds: 60))
        #expect(BerthConfiguration.environmentVariable(for: "aiKeyFile") == "BERTH_AI_KEY_FILE")
        #expect(BerthConfiguration.environmentVariable(for: "hintLimit") == "BERTH_HINT_LIMIT")
    }

    @Test("bad hint settings are invalid_config naming their source", arguments: [
        ["BERTH_AI_URL": "llm.example.org", "BERTH_AI_MODEL": "m"],
        ["BERTH_AI_URL": "ftp://llm.example.org", "BERTH_AI_MODEL": "m"],
        ["BERTH_AI_URL": "https://llm.example.org/v1?x=1", "BERTH_AI_MODEL": "m"],
        ["BERTH_AI_TIMEOUT": "50ms"],
        ["BERTH_AI_TIMEOUT": "1h"],
        ["BERTH_AI_TIMEOUT": "soon"],
        ["BERTH_HINT_LIMIT": "0"],
        ["BERTH_HINT_LIMIT": "lots"],
    ])
    func invalid(environment: [String: String]) {
        let variable = environment.keys.first { $0 != "BERTH_AI_MODEL" } ?? ""
        #expect {
            try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil)
        } throws: { error in
            guard let berth = error as? BerthError else { return false }
            return berth.code == .invalidConfig && berth.message.hasPrefix(variable)
        }
    }

    @Test("a URL without a model, or both a key and a key file, is invalid_config that says what to do")
    func combinations() throws {
        let noModel = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_AI_URL": "http://127.0.0.1:9/v1"], configFileYAML: nil)
        }
        #expect(noModel.code == .invalidConfig && noModel.message.contains("BERTH_AI_MODEL"))
        let both = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(
                flags: [:], environment: ["BERTH_AI_KEY": "sk-secret-both", "BERTH_AI_KEY_FILE": "/tmp/key"], configFileYAML: nil
            )
        }
        #expect(both.code == .invalidConfig && !both.message.contains("sk-secret-both"))
    }

    @Test("neither a key on two lines nor credentials in the URL are repeated in the error")
    func secretsNotEchoed() throws {
        let key = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_AI_KEY": "sk-line-one\nsk-line-two"], configFileYAML: nil)
        }
        #expect(!key.message.contains("sk-line"))
        let url = try #require(throws: BerthError.self) {
            try BerthConfiguration.resolve(
                flags: [:], environment: ["BERTH_AI_URL": "https://user:sk-in-url@llm.example.org/v1", "BERTH_AI_MODEL": "m"], configFileYAML: nil
            )
        }
        #expect(url.code == .invalidConfig && !url.message.contains("sk-in-url"))
    }
}
