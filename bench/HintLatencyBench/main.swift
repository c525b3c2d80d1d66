// Hint latency: the AI hint advisor through a local chat-completions server (answering at once,
// so only Berth's side is measured: prompt, JSON, one HTTP exchange over loopback) against the
// authored fallback (no endpoint configured) and the fallback after a failed endpoint (503), in
// one run, interleaved. Prints p50/p90/p99/mean per path and writes bench-results/hint-latency.json.
//
//   swift run HintLatencyBench [--requests N] [--warmup N] [--output FILE]

import BerthCore
import BerthEngine
import BerthTestSupport
import Foundation
import Logging

struct Options {
    var requests = 300
    var warmup = 30
    var output = "bench-results/hint-latency.json"

    init(_ arguments: [String]) throws {
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw FixtureError("\(flag) needs a value") }
            switch flag {
            case "--requests": requests = try Self.count(flag, value)
            case "--warmup": warmup = try Self.count(flag, value)
            case "--output": output = value
            default: throw FixtureError("unknown option \(flag); known: --requests N, --warmup N, --output FILE")
            }
        }
    }

    static func count(_ flag: String, _ value: String) throws -> Int {
        guard let number = Int(value), number >= 1, number <= 100_000 else { throw FixtureError("\(flag): a count from 1 to 100000") }
        return number
    }
}

struct Summary: Codable {
    var count: Int
    var p50: Double
    var p90: Double
    var p99: Double
    var mean: Double
    var min: Double
    var max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[Swift.min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))]
        }
        count = sorted.count
        p50 = percentile(0.5)
        p90 = percentile(0.9)
        p99 = percentile(0.99)
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        min = sorted.first ?? 0
        max = sorted.last ?? 0
    }
}

/// A step and a request shaped like a real one: a page of step text, two failures and a full screen.
func benchRequest(given: Int) -> LabHintRequest {
    let step = LabStep(
        id: "find-the-log", title: "Find the log file",
        text: String(repeating: "Somewhere under `/var/log` a service writes `berth.log`. Print its **last line**.\n", count: 12),
        hints: ["Try `ls /var/log`.", "`tail -n 1 FILE` prints the last line.", "The file is `/var/log/berth/berth.log`."]
    )
    let screen = (1...60).map { "player@lab:~/work$ ls -la /var/log/berth   # line \($0) \u{1B}[32mok\u{1B}[0m" }.joined(separator: "\n")
    return LabHintRequest(
        environmentName: "Shell steps", step: step,
        failures: [CheckFailure(message: "berth.log's last line was not printed", hint: "Use tail."), CheckFailure(message: "history is empty")],
        screenTail: screen, authoredHintsGiven: given % step.hints.count, secrets: ["CTF{bench-static}", "berth{0123456789abcdef0123456789abcdef}"]
    )
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func run() async throws {
    let options = try Options(CommandLine.arguments)
    var logger = Logger(label: "berth.bench.hints")
    logger.logLevel = .critical
    let answer = "Which command prints the **end** of a file? Look at its manual page."
    let results = try await ChatCompletionsServer.with(behaviour: .answer(answer, delay: .zero)) { server in
        try await ChatCompletionsServer.with(behaviour: .fail(status: 503)) { failing in
            let paths: [(name: String, advisor: AIHintAdvisor, expected: LabHint.Source)] = [
                ("ai-local-server", try AIHintAdvisor(endpoint: .init(url: server.baseURL, model: "bench", key: "sk-bench"), logger: logger), .ai),
                ("authored-not-configured", try AIHintAdvisor(endpoint: nil, logger: logger), .authored),
                ("authored-after-http-503", try AIHintAdvisor(endpoint: .init(url: failing.baseURL, model: "bench", key: "sk-bench"), logger: logger), .authored),
            ]
            var samples: [String: [Double]] = [:]
            for round in 0..<(options.warmup + options.requests) {
                for path in paths {
                    let clock = ContinuousClock()
                    var hint: LabHint?
                    let elapsed = await clock.measure { hint = await path.advisor.hint(benchRequest(given: round)) }
                    guard hint?.source == path.expected else {
                        throw FixtureError("\(path.name): expected a \(path.expected) hint, got \(String(describing: hint))")
                    }
                    if round >= options.warmup { samples[path.name, default: []].append(milliseconds(elapsed)) }
                }
            }
            return (samples, server.requests.count, failing.requests.count)
        }
    }
    let (samples, served, failed) = results
    let summaries = samples.mapValues(Summary.init)
    print("Hint latency, \(options.requests) requests per path after \(options.warmup) warm-up rounds, interleaved (milliseconds)")
    print("path".padding(toLength: 26, withPad: " ", startingAt: 0) + "    p50     p90     p99    mean")
    for name in ["ai-local-server", "authored-not-configured", "authored-after-http-503"] {
        guard let summary = summaries[name] else { continue }
        let row = [summary.p50, summary.p90, summary.p99, summary.mean].map { String(format: "%7.3f", $0) }.joined(separator: " ")
        print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + row)
    }
    let ai = summaries["ai-local-server"]
    let authored = summaries["authored-not-configured"]
    var ratios: [String: Double] = [:]
    if let ai, let authored, authored.p50 > 0 {
        ratios["aiP50OverAuthoredP50"] = ai.p50 / authored.p50
        ratios["aiP90OverAuthoredP90"] = ai.p90 / Swift.max(authored.p90, 1e-9)
        print(String(format: "AI through the local server (0 ms model delay): p50 %.3f ms, p90 %.3f ms; authored fallback: p50 %.3f ms, p90 %.3f ms", ai.p50, ai.p90, authored.p50, authored.p90))
    }
    print("requests the local server answered: \(served); the failing server: \(failed)")

    struct Output: Codable {
        var benchmark = "hint-latency"
        var measuredAt: Date
        var requestsPerPath: Int
        var warmupRounds: Int
        var modelDelayMilliseconds = 0
        var summariesMilliseconds: [String: Summary]
        var ratios: [String: Double]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    let data = try encoder.encode(Output(
        measuredAt: Date(), requestsPerPath: options.requests, warmupRounds: options.warmup, summariesMilliseconds: summaries, ratios: ratios
    ))
    let url = URL(fileURLWithPath: options.output)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url)
    print("wrote \(options.output)")
}

do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("bench: error: \(error)\n".utf8))
    exit(1)
}
