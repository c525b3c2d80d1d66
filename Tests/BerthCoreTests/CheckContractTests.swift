@testable import BerthCore
import Testing

@Suite("The check contract")
struct CheckContractTests {
    func conclude(_ exitCode: Int, stdout: String = "", stderr: String = "", result: String? = nil) -> CheckOutcome {
        CheckContract.conclude(exitCode: exitCode, stdout: stdout, stderr: stderr, resultFile: result, duration: .milliseconds(42))
    }

    @Test("exit 0 passes; any other exit code fails")
    func exitCodes() {
        let passed = conclude(0)
        #expect(passed.status == .passed && passed.failures.isEmpty && passed.exitCode == 0 && passed.durationMilliseconds == 42)
        for code in [1, 2, 3, 125, 128, 255] {
            let failed = conclude(code)
            #expect(failed.status == .failed, "\(code)")
            #expect(failed.exitCode == code)
            // A failure without a message still tells the learner something.
            #expect(failed.failures.count == 1 && failed.failures[0].message.contains("gave no reason"))
        }
    }

    @Test("each stdout line starting with FAIL: is a failure message; other lines are not")
    func failLines() {
        let outcome = conclude(1, stdout: "checking...\nFAIL: greeting.txt is missing\r\n  FAIL: indented is not one\nFAIL:no space\nFAIL: \nFAIL: second\u{1B}[31m red\n")
        #expect(outcome.failures.map(\.message) == ["greeting.txt is missing", "second[31m red"])
        #expect(outcome.failures.allSatisfy { $0.code == nil && $0.hint == nil })
        // FAIL: lines on stderr are not messages.
        #expect(conclude(1, stderr: "FAIL: from stderr\n").failures.map(\.message) == ["The check did not pass, and it gave no reason (exit code 1)."])
    }

    @Test("the $BERTH_RESULT JSON adds failures with codes and hints, metrics and notes")
    func resultFile() {
        let json = """
            {"passed": false, "failures": [{"code": "missing_file", "message": "No greeting.txt", "hint": "Create /home/player/work/greeting.txt"},
             {"message": "second"}], "metrics": {"files": 3, "ratio": 0.5, "flag": true, "text": "x", "list": [1]},
             "notes": ["took a while", 5]}
            """
        let outcome = conclude(1, stdout: "FAIL: from stdout\n", result: json)
        #expect(outcome.status == .failed)
        #expect(outcome.failures == [
            CheckFailure(message: "from stdout"),
            CheckFailure(code: "missing_file", message: "No greeting.txt", hint: "Create /home/player/work/greeting.txt"),
            CheckFailure(message: "second"),
        ])
        #expect(outcome.metrics == ["files": 3, "ratio": 0.5])
        #expect(outcome.notes == ["took a while"])
        #expect(outcome.operatorDetail?.contains("metric 'flag'") == true)
        #expect(outcome.operatorDetail?.contains("disagree") != true)
    }

    @Test("a FAIL: line the JSON repeats is shown once, with the JSON's code and hint")
    func mergedFailure() {
        let outcome = conclude(1, stdout: "FAIL: no greeting.txt\nFAIL: other\n", result: #"{"failures": [{"code": "missing_file", "message": "no greeting.txt", "hint": "Create it"}]}"#)
        #expect(outcome.failures == [CheckFailure(code: "missing_file", message: "no greeting.txt", hint: "Create it"), CheckFailure(message: "other")])
    }

    @Test("when the JSON and the exit code disagree, the exit code wins and the JSON's messages stay")
    func disagreement() throws {
        let passing = conclude(0, result: #"{"passed": false, "failures": [{"message": "JSON says no"}]}"#)
        #expect(passing.status == .passed)
        #expect(passing.failures.map(\.message) == ["JSON says no"])
        #expect(try #require(passing.operatorDetail).contains("the exit code (0) and $BERTH_RESULT (passed: false) disagree"))
        let failing = conclude(2, result: #"{"passed": true, "metrics": {"score": 10}}"#)
        #expect(failing.status == .failed && failing.metrics == ["score": 10])
        #expect(try #require(failing.operatorDetail).contains("passed: true"))
        // A number is not a boolean: no disagreement is claimed from passed: 1.
        #expect(conclude(1, result: #"{"passed": 1}"#).operatorDetail?.contains("not true or false") == true)
    }

    @Test("an invalid result file is ignored with an operator note")
    func invalidJSON() {
        for text in ["{not json", "[1, 2]", "\"text\"", "null", String(repeating: "x", count: CheckBounds.maximumResultBytes + 1)] {
            let outcome = conclude(0, result: text)
            #expect(outcome.status == .passed && outcome.failures.isEmpty && outcome.metrics.isEmpty, "\(text.prefix(20))")
            #expect(outcome.operatorDetail?.contains("$BERTH_RESULT") == true, "\(text.prefix(20))")
        }
        // An empty file is as if none was written.
        #expect(conclude(0, result: "  \n").operatorDetail == nil)
    }

    @Test("hostile output is bounded: failure count, message, hint and code lengths, metrics, notes")
    func bounds() throws {
        let lines = (0..<200).map { "FAIL: line \($0) " + String(repeating: "y", count: 5000) }.joined(separator: "\n")
        let failures = (0..<100).map { _ in #"{"code": "\#(String(repeating: "c", count: 500))", "message": "m", "hint": "\#(String(repeating: "h", count: 5000))"}"# }
        let metrics = (0..<100).map { #""m\#($0)": \#($0)"# }.joined(separator: ",")
        let notes = (0..<20).map { _ in #""\#(String(repeating: "n", count: 1000))""# }.joined(separator: ",")
        let json = #"{"failures": [\#(failures.prefix(5).joined(separator: ","))], "metrics": {\#(metrics)}, "notes": [\#(notes)]}"#
        let outcome = conclude(1, stdout: lines, stderr: String(repeating: "e", count: 1 << 20), result: json)
        #expect(outcome.failures.count == CheckBounds.maximumFailures)
        #expect(outcome.failures.allSatisfy { $0.message.count <= CheckBounds.maximumMessageLength + 1 })
        #expect(outcome.metrics.count == CheckBounds.maximumMetrics)
        #expect(outcome.notes.count == CheckBounds.maximumNotes && outcome.notes.allSatisfy { $0.count <= CheckBounds.maximumMessageLength + 1 })
        let detail = try #require(outcome.operatorDetail)
        #expect(detail.contains("dropped"))
        #expect(detail.utf8.count < 8 * CheckBounds.operatorTailBytes)
        let fromJSON = conclude(1, result: #"{"failures": [\#(failures[0])]}"#).failures[0]
        #expect((fromJSON.code?.count ?? 0) <= CheckBounds.maximumCodeLength + 1)
        #expect((fromJSON.hint?.count ?? 0) <= CheckBounds.maximumHintLength + 1)
    }

    @Test("a check error carries only the operator's reason, bounded")
    func checkError() {
        let outcome = CheckContract.checkError("timed out after 60 seconds\n" + String(repeating: "z", count: 100_000), duration: .seconds(60))
        #expect(outcome.status == .checkError && outcome.failures.isEmpty && outcome.exitCode == nil)
        #expect(outcome.durationMilliseconds == 60_000)
        #expect((outcome.operatorDetail?.count ?? 0) < 5000)
    }
}
