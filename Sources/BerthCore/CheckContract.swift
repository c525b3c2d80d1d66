import Foundation

/// Bounds on what a check's output can put into a ``CheckOutcome``: a hostile or broken script
/// can neither blow up memory nor flood the learner's page.
public enum CheckBounds {
    /// Most output (stdout and stderr together) read from one run; more is a `check_error`.
    public static let maximumOutputBytes = 1 << 20
    /// The largest `$BERTH_RESULT` file read; a larger one is ignored with an operator note.
    public static let maximumResultBytes = 64 << 10
    /// Most failures kept (`FAIL: ` lines and the result file's together).
    public static let maximumFailures = 20
    /// Longest failure message or note kept, in characters.
    public static let maximumMessageLength = 500
    /// Longest hint kept, in characters.
    public static let maximumHintLength = 1000
    /// Longest failure code or metric name kept, in characters.
    public static let maximumCodeLength = 64
    /// Most metrics kept.
    public static let maximumMetrics = 32
    /// Most notes kept.
    public static let maximumNotes = 10
    /// How much of the output's end goes into ``CheckOutcome/operatorDetail``.
    public static let operatorTailBytes = 2048
}

/// The check contract, as a pure function of what a script did:
///
/// - exit code 0 passes, any other code fails;
/// - each stdout line starting with `FAIL: ` is a failure message;
/// - the JSON at `$BERTH_RESULT` (`{passed, failures: [{code, message, hint}], metrics, notes}`)
///   adds failures, metrics and notes (a failure whose message is also a `FAIL: ` line is shown
///   once, with the JSON's code and hint);
/// - when the JSON's `passed` and the exit code disagree, the exit code wins (the JSON's messages
///   are kept, and the disagreement is noted for operators);
/// - a result file that is not valid JSON is ignored, with a note for operators.
///
/// Infrastructure failures (timeouts, missing interpreters, engine errors) never reach this
/// function: the runner reports them as ``CheckOutcome/Status/checkError``.
public enum CheckContract {
    /// The outcome of a script that ran to its end with `exitCode`.
    public static func conclude(exitCode: Int, stdout: String, stderr: String, resultFile: String?, duration: Duration) -> CheckOutcome {
        var notes: [String] = []
        var operatorNotes: [String] = []
        var failures: [CheckFailure] = []
        var metrics: [String: Double] = [:]
        var dropped = 0

        func add(_ failure: CheckFailure) {
            if failures.count < CheckBounds.maximumFailures { failures.append(failure) } else { dropped += 1 }
        }

        for line in stdout.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) where line.hasPrefix("FAIL: ") {
            let message = clean(String(line.dropFirst(6)), limit: CheckBounds.maximumMessageLength)
            if !message.isEmpty { add(CheckFailure(message: message)) }
        }

        var declaredPassed: Bool?
        if let resultFile, !resultFile.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            if resultFile.utf8.count > CheckBounds.maximumResultBytes {
                operatorNotes.append("$BERTH_RESULT is larger than \(CheckBounds.maximumResultBytes >> 10) KiB and was ignored")
            } else if let object = (try? JSONSerialization.jsonObject(with: Data(resultFile.utf8))) as? [String: Any] {
                declaredPassed = jsonBoolean(object["passed"])
                if object["passed"] != nil, !(object["passed"] is NSNull), declaredPassed == nil {
                    operatorNotes.append("$BERTH_RESULT: passed is not true or false; ignored")
                }
                for item in object["failures"] as? [Any] ?? [] {
                    guard let entry = item as? [String: Any], let message = (entry["message"] as? String).map({ clean($0, limit: CheckBounds.maximumMessageLength) }),
                          !message.isEmpty
                    else {
                        operatorNotes.append("$BERTH_RESULT: a failure without a message text was ignored")
                        continue
                    }
                    let code = (entry["code"] as? String).map { clean($0, limit: CheckBounds.maximumCodeLength) }.flatMap { $0.isEmpty ? nil : $0 }
                    let hint = (entry["hint"] as? String).map { clean($0, limit: CheckBounds.maximumHintLength) }.flatMap { $0.isEmpty ? nil : $0 }
                    let failure = CheckFailure(code: code, message: message, hint: hint)
                    // A script may print a FAIL: line and describe the same failure in the JSON: show it once, with its code and hint.
                    if let same = failures.firstIndex(where: { $0.code == nil && $0.hint == nil && $0.message == message }) {
                        failures[same] = failure
                    } else {
                        add(failure)
                    }
                }
                if object["failures"] != nil, !(object["failures"] is [Any]) {
                    operatorNotes.append("$BERTH_RESULT: failures is not a list; ignored")
                }
                if let given = object["metrics"] as? [String: Any] {
                    for (key, value) in given.sorted(by: { $0.key < $1.key }) {
                        let name = clean(key, limit: CheckBounds.maximumCodeLength)
                        // JSON booleans are NSNumbers too; only real numbers are metrics.
                        guard let number = value as? NSNumber, jsonBoolean(value) == nil, number.doubleValue.isFinite, !name.isEmpty else {
                            operatorNotes.append("$BERTH_RESULT: metric '\(name.prefix(40))' is not a finite number; ignored")
                            continue
                        }
                        guard metrics.count < CheckBounds.maximumMetrics else {
                            operatorNotes.append("$BERTH_RESULT: more than \(CheckBounds.maximumMetrics) metrics; the rest were ignored")
                            break
                        }
                        metrics[name] = number.doubleValue
                    }
                } else if object["metrics"] != nil {
                    operatorNotes.append("$BERTH_RESULT: metrics is not an object of numbers; ignored")
                }
                for item in object["notes"] as? [Any] ?? [] {
                    guard let text = item as? String else { continue }
                    let note = clean(text, limit: CheckBounds.maximumMessageLength)
                    if !note.isEmpty, notes.count < CheckBounds.maximumNotes { notes.append(note) }
                }
            } else {
                operatorNotes.append("$BERTH_RESULT is not a JSON object and was ignored")
            }
        }

        let status: CheckOutcome.Status = exitCode == 0 ? .passed : .failed
        if let declaredPassed, declaredPassed != (status == .passed) {
            operatorNotes.append(
                "the exit code (\(exitCode)) and $BERTH_RESULT (passed: \(declaredPassed)) disagree; the exit code wins"
            )
        }
        if dropped > 0 {
            operatorNotes.append("\(dropped) more failure(s) were dropped; at most \(CheckBounds.maximumFailures) are kept")
        }
        if status == .failed, failures.isEmpty {
            // The learner is never left with a bare "failed": say that the check gave no reason.
            failures.append(CheckFailure(message: "The check did not pass, and it gave no reason (exit code \(exitCode)).", hint: nil))
        }
        let tail = outputTail(stdout: stdout, stderr: stderr)
        if !tail.isEmpty { operatorNotes.append(tail) }
        return CheckOutcome(
            status: status, failures: failures, metrics: metrics, notes: notes, exitCode: exitCode,
            durationMilliseconds: milliseconds(duration), operatorDetail: operatorNotes.isEmpty ? nil : operatorNotes.joined(separator: "\n")
        )
    }

    /// An outcome for a check that could not run; `reason` is for operators only.
    public static func checkError(_ reason: String, exitCode: Int? = nil, duration: Duration) -> CheckOutcome {
        CheckOutcome(
            status: .checkError, exitCode: exitCode, durationMilliseconds: milliseconds(duration),
            operatorDetail: clean(reason, limit: CheckBounds.operatorTailBytes * 2, keepNewlines: true)
        )
    }

    /// The end of the script's output for operators: its stderr's and stdout's last bytes.
    public static func outputTail(stdout: String, stderr: String) -> String {
        var parts: [String] = []
        for (name, text) in [("stderr", stderr), ("stdout", stdout)] {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { continue }
            let tail = String(decoding: trimmed.utf8.suffix(CheckBounds.operatorTailBytes), as: UTF8.self)
            parts.append("\(name): \(clean(tail, limit: CheckBounds.operatorTailBytes, keepNewlines: true))")
        }
        return parts.joined(separator: "\n")
    }

    /// `text` without control characters (tabs kept, and newlines when asked), trimmed and cut to `limit` characters.
    static func clean(_ text: String, limit: Int, keepNewlines: Bool = false) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else {
                out += "…"
                break
            }
            let allowed = scalar == "\t" || (keepNewlines && scalar == "\n") || !(scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format && scalar != "\u{200D}")
            if allowed {
                out.unicodeScalars.append(scalar)
                count += 1
            }
        }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A JSON `true` or `false`; nil for numbers (which Foundation also bridges to Bool) and anything else.
    static func jsonBoolean(_ value: Any?) -> Bool? {
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
        return number.boolValue
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
