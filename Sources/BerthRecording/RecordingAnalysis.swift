import Foundation

/// Thresholds of ``RecordingAnalysis``.
public struct AnalysisThresholds: Codable, Sendable, Equatable {
    /// Input of at least this many characters within ``pasteWindowMs`` counts as a paste.
    public var pasteChars: Int
    /// The window of the paste rule, in milliseconds.
    public var pasteWindowMs: Int
    /// A gap without any event of at least this many seconds is an idle period.
    public var idleSeconds: Double

    /// Creates thresholds; the defaults are 20 characters in 100 ms, and 30 s of idle.
    public init(pasteChars: Int = 20, pasteWindowMs: Int = 100, idleSeconds: Double = 30) {
        self.pasteChars = pasteChars
        self.pasteWindowMs = pasteWindowMs
        self.idleSeconds = idleSeconds
    }
}

/// Signals read from a recording, each with its time (seconds from the start) and its evidence.
/// They describe what happened; they are not verdicts.
public struct RecordingAnalysis: Codable, Sendable, Equatable {
    /// A line entered at the prompt, as it was typed.
    public struct Command: Codable, Sendable, Equatable {
        /// When Enter was pressed.
        public var time: Double
        /// When the first key of the line was pressed.
        public var startedAt: Double
        /// The line, rebuilt from keystrokes (backspace, Ctrl-U and Ctrl-W applied).
        public var text: String
        /// True when the line was edited with keys the rebuild cannot follow (arrows, history,
        /// Tab completion), so the shell may have run something else.
        public var approximate: Bool
    }

    /// Input that arrived faster than a person types.
    public struct Paste: Codable, Sendable, Equatable {
        /// When it started.
        public var time: Double
        /// How many characters it held.
        public var chars: Int
        /// `bracketed` (the terminal marked it as a paste) or `burst` (the threshold rule).
        public var kind: String
        /// Its first 200 characters.
        public var text: String
    }

    /// A gap without any output, input or resize.
    public struct Idle: Codable, Sendable, Equatable {
        /// Start of the gap.
        public var start: Double
        /// End of the gap.
        public var end: Double
        /// Its length.
        public var seconds: Double
    }

    /// Typing rhythm over single keystrokes (pastes left out; pauses over 2 s are not rhythm).
    public struct Cadence: Codable, Sendable, Equatable {
        /// Single keystrokes counted.
        public var keystrokes: Int
        /// Median time between two keystrokes, nil with fewer than two.
        public var medianIntervalMs: Double?
        /// 90th percentile of the same.
        public var p90IntervalMs: Double?
        /// Keystrokes per minute of active time, nil without active time.
        public var keysPerMinute: Double?
    }

    /// A marker (`m` event).
    public struct Marker: Codable, Sendable, Equatable {
        /// When it was written.
        public var time: Double
        /// Its label.
        public var label: String
    }

    /// The recording analysed, when known.
    public var recordingId: String?
    /// Whether the recording holds keystrokes (`input-output` mode); without them there are no
    /// commands, pastes or cadence.
    public var inputRecorded: Bool
    /// Time of the last event.
    public var duration: Double
    /// Duration less the idle periods.
    public var activeSeconds: Double
    /// The thresholds used.
    public var thresholds: AnalysisThresholds
    /// Lines entered.
    public var commands: [Command]
    /// Pastes.
    public var pastes: [Paste]
    /// Idle periods.
    public var idle: [Idle]
    /// Typing rhythm.
    public var cadence: Cadence
    /// Markers.
    public var markers: [Marker]
    /// Lines of the file that were not valid events and were skipped.
    public var skippedLines: Int
}

extension RecordingAnalysis {
    /// One event of a cast file.
    struct Event {
        var time: Double
        var code: String
        var data: String
    }

    /// Analyses the asciicast v2 text in `cast` (header line, then one event per line).
    public static func analyse(cast: Data, thresholds: AnalysisThresholds = AnalysisThresholds(), recordingId: String? = nil) -> RecordingAnalysis {
        var events: [Event] = []
        var skipped = 0
        var headerMode: String?
        var isHeader = true
        for line in cast.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let object = try? JSONSerialization.jsonObject(with: Data(line), options: [])
            if isHeader {
                isHeader = false
                if let header = object as? [String: Any] {
                    headerMode = (header["env"] as? [String: Any])?["BERTH_RECORDING_MODE"] as? String
                    continue
                }
            }
            guard let array = object as? [Any], array.count == 3, let time = (array[0] as? NSNumber)?.doubleValue,
                  let code = array[1] as? String, let data = array[2] as? String
            else {
                skipped += 1
                continue
            }
            events.append(Event(time: time, code: code, data: data))
        }
        return analyse(events: events, headerMode: headerMode, thresholds: thresholds, recordingId: recordingId, skipped: skipped)
    }

    static func analyse(events: [Event], headerMode: String?, thresholds: AnalysisThresholds, recordingId: String?, skipped: Int) -> RecordingAnalysis {
        let inputs = events.filter { $0.code == "i" && !isTerminalReply($0.data) }
        let activity = events.filter { $0.code != "m" }
        let idle = idlePeriods(activity, threshold: thresholds.idleSeconds)
        let duration = events.last?.time ?? 0
        let active = max(0, duration - idle.reduce(0) { $0 + $1.seconds })
        let disconnects = events.filter { $0.code == "m" && $0.data == disconnectMarker }.map(\.time)
        let (pastes, pasteMembers) = findPastes(inputs, thresholds: thresholds, breaks: disconnects)
        let keys = inputs.enumerated().filter { !pasteMembers.contains($0.offset) && $0.element.data.count <= 4 }.map(\.element)
        return RecordingAnalysis(
            recordingId: recordingId,
            inputRecorded: headerMode == "input-output" || !inputs.isEmpty,
            duration: duration, activeSeconds: active, thresholds: thresholds,
            commands: commands(from: inputs), pastes: pastes, idle: idle,
            cadence: cadence(keys, activeSeconds: active),
            markers: events.filter { $0.code == "m" }.map { Marker(time: $0.time, label: $0.data) },
            skippedLines: skipped
        )
    }

    static func idlePeriods(_ events: [Event], threshold: Double) -> [Idle] {
        var periods: [Idle] = []
        var previous = 0.0
        for event in events {
            if event.time - previous >= threshold {
                periods.append(Idle(start: previous, end: event.time, seconds: event.time - previous))
            }
            previous = max(previous, event.time)
        }
        return periods
    }

    /// The marker a terminal session writes when its writer's connection drops.
    static let disconnectMarker = "disconnect"

    /// Bracketed pastes, then bursts: runs of input events in which the shortest window of at
    /// most `pasteWindowMs` holds at least `pasteChars` characters. Returns the pastes and the indexes
    /// of the input events they cover. A paste never spans one of `breaks` (disconnects), and a
    /// burst never spans a pause longer than the window: two commands sent whole, seconds apart
    /// or on both sides of a reconnect, are two events, not one paste.
    static func findPastes(_ inputs: [Event], thresholds: AnalysisThresholds, breaks: [Double] = []) -> ([Paste], Set<Int>) {
        var members = Set<Int>()
        var pastes: [Paste] = []
        let window = Double(thresholds.pasteWindowMs) / 1000
        func separated(_ earlier: Int, _ later: Int) -> Bool {
            let (from, to) = (inputs[earlier].time, inputs[later].time)
            return breaks.contains { $0 >= from && $0 <= to }
        }
        func closeBracketed(_ current: (index: Int, text: String)) {
            let body = current.text.components(separatedBy: "\u{1B}[200~").dropFirst().joined()
                .components(separatedBy: "\u{1B}[201~").first ?? ""
            pastes.append(Paste(time: inputs[current.index].time, chars: body.count, kind: "bracketed", text: String(body.prefix(200))))
        }
        // Bracketed paste: ESC[200~ … ESC[201~, possibly spread over several events. One whose end
        // never came (the connection dropped) ends at the disconnect; what follows is typing again.
        var open: (index: Int, text: String)?
        for (index, event) in inputs.enumerated() {
            if let current = open, index > 0, separated(index - 1, index) {
                closeBracketed(current)
                open = nil
            }
            if var current = open {
                current.text += event.data
                members.insert(index)
                open = current
            } else if event.data.contains("\u{1B}[200~") {
                open = (index, event.data)
                members.insert(index)
            }
            if let current = open, current.text.contains("\u{1B}[201~") {
                closeBracketed(current)
                open = nil
            }
        }
        if let current = open { closeBracketed(current) }
        // Bursts over the rest: a sliding window over the events outside bracketed pastes.
        let candidates = inputs.indices.filter { !members.contains($0) }
        var burst = Set<Int>()
        var first = 0
        var characters = 0
        for (position, index) in candidates.enumerated() {
            characters += inputs[index].data.count
            while first < position, inputs[index].time - inputs[candidates[first]].time > window || separated(candidates[first], index) {
                characters -= inputs[candidates[first]].data.count
                first += 1
            }
            if characters >= thresholds.pasteChars {
                // The shortest window that still reaches the threshold: keystrokes typed just
                // before a paste are not part of it.
                var start = first
                while start < position, characters - inputs[candidates[start]].data.count >= thresholds.pasteChars {
                    characters -= inputs[candidates[start]].data.count
                    start += 1
                }
                first = start
                for covered in candidates[start...position] { burst.insert(covered) }
            }
        }
        // Neighbouring burst events make one paste only when they follow within the window.
        var runStart: Int?
        var runText = ""
        var previous: Int?
        for index in Array(inputs.indices) + [inputs.count] {
            let continues = index < inputs.count && burst.contains(index)
                && previous.map { inputs[index].time - inputs[$0].time <= window && !separated($0, index) } ?? true
            if !continues, let start = runStart {
                pastes.append(Paste(time: inputs[start].time, chars: runText.count, kind: "burst", text: String(runText.prefix(200))))
                runStart = nil
                runText = ""
            }
            if index < inputs.count, burst.contains(index) {
                if runStart == nil { runStart = index }
                runText += inputs[index].data
                previous = index
            } else {
                previous = nil
            }
        }
        return (pastes.sorted { $0.time < $1.time }, members.union(burst))
    }

    /// Final characters of escape sequences a terminal sends by itself: cursor position (`R`),
    /// device attributes (`c`) and focus in or out (`I`, `O`).
    static let terminalReplyFinals: Set<Unicode.Scalar> = ["R", "c", "I", "O"]

    /// Whether an input event is only a terminal's reply, not something typed.
    static func isTerminalReply(_ data: String) -> Bool {
        let scalars = Array(data.unicodeScalars)
        guard scalars.count >= 3, scalars[0] == "\u{1B}", scalars[1] == "[", let last = scalars.last else { return false }
        return terminalReplyFinals.contains(last) && scalars[2..<(scalars.count - 1)].allSatisfy { ("0"..."9").contains($0) || $0 == ";" || $0 == "?" }
    }

    /// Lines entered, rebuilt from keystrokes.
    static func commands(from inputs: [Event]) -> [Command] {
        var commands: [Command] = []
        var line = ""
        var lineStart: Double?
        var approximate = false
        for event in inputs {
            let scalars = Array(event.data.replacingOccurrences(of: "\u{1B}[200~", with: "").replacingOccurrences(of: "\u{1B}[201~", with: "").unicodeScalars)
            var index = 0
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                switch scalar.value {
                case 0x0D, 0x0A:
                    let text = line.trimmingCharacters(in: .whitespaces)
                    if !text.isEmpty, let started = lineStart {
                        commands.append(Command(time: event.time, startedAt: started, text: text, approximate: approximate))
                    }
                    line = ""
                    lineStart = nil
                    approximate = false
                case 0x7F, 0x08:
                    if !line.isEmpty { line.removeLast() }
                case 0x15:
                    line = ""
                case 0x03:
                    line = ""
                    lineStart = nil
                    approximate = false
                case 0x17:
                    while line.last == " " { line.removeLast() }
                    while let last = line.last, last != " " { line.removeLast() }
                case 0x1B:
                    // An escape sequence: arrows, history and function keys may change the line;
                    // the terminal's own replies (cursor position, attributes, focus) do not.
                    var final: Unicode.Scalar?
                    if index < scalars.count, scalars[index] == "[" || scalars[index] == "O" {
                        index += 1
                        while index < scalars.count, !(0x40...0x7E).contains(scalars[index].value) { index += 1 }
                        if index < scalars.count { final = scalars[index] }
                        index += 1
                    }
                    if !(final.map(Self.terminalReplyFinals.contains) ?? false) { approximate = true }
                case 0x09:
                    approximate = true
                case 0..<0x20:
                    continue
                default:
                    if lineStart == nil { lineStart = event.time }
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        return commands
    }

    static func cadence(_ keys: [Event], activeSeconds: Double) -> Cadence {
        var intervals: [Double] = []
        for (previous, next) in zip(keys, keys.dropFirst()) {
            let gap = next.time - previous.time
            if gap <= 2 { intervals.append(gap * 1000) }
        }
        intervals.sort()
        func percentile(_ fraction: Double) -> Double? {
            guard !intervals.isEmpty else { return nil }
            let position = min(intervals.count - 1, Int((Double(intervals.count - 1) * fraction).rounded()))
            return (intervals[position] * 10).rounded() / 10
        }
        let perMinute = activeSeconds > 0 && !keys.isEmpty ? (Double(keys.count) / (activeSeconds / 60) * 10).rounded() / 10 : nil
        return Cadence(keystrokes: keys.count, medianIntervalMs: percentile(0.5), p90IntervalMs: percentile(0.9), keysPerMinute: perMinute)
    }
}
