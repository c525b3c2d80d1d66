@testable import BerthRecording
import Foundation
import Testing

/// Runs `body` with a fresh directory that is removed afterwards, whatever happens.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("berth-recording-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// The text every sample recording prints: non-ASCII in 2-, 3- and 4-byte forms.
let sampleText = "héllo wörld ✓ 你好 🚢"

/// A recording written by ``writeSampleRecording(in:signer:mode:)`` and what it should contain.
struct SampleRecording {
    var cast: URL
    var chain: URL
    /// The concatenated `o` data the file must hold.
    var expectedOutput: String
    /// The concatenated `i` data the file must hold in `input-output` mode.
    var expectedInput: String
    /// The `r` and `m` events in order, as `code data`.
    var expectedControl: [String]
}

/// Writes a closed recording with output split at every byte offset, invalid bytes, input,
/// resizes and markers.
func writeSampleRecording(in directory: URL, signer: RecordingSigner, mode: RecordingMode = .inputOutput) async throws -> SampleRecording {
    let cast = directory.appendingPathComponent("recordings/sample.cast")
    let chain = RecordingChain.chainURL(for: cast)
    let start = ContinuousClock.now
    var tick = 0
    func next() -> ContinuousClock.Instant {
        tick += 1
        return start + .milliseconds(tick * 7) + .microseconds(tick)
    }
    let header = RecordingHeader(
        width: 80, height: 24, timestamp: 1_700_000_000, title: "Berth \"sample\" ✓",
        env: ["SHELL": "/bin/sh", "TERM": "xterm-256color"])
    let writer = try RecordingWriter(castURL: cast, chainURL: chain, header: header, mode: mode, signer: signer, startedAt: start)

    var allOutput: [UInt8] = []
    var control: [String] = []
    func output(_ bytes: [UInt8]) async {
        allOutput += bytes
        await writer.output(bytes, at: next())
    }

    await writer.marker("connect user usr_x", at: next())
    control.append("m connect user usr_x")
    let line = Array((sampleText + "\r\n").utf8) + [0xFF] + Array(" \u{1b}[1mbold\u{1b}[0m\r\n".utf8)
    for offset in 0...line.count {
        await output(Array(line[..<offset]))
        await output(Array(line[offset...]))
        if offset == line.count / 2 {
            await writer.resize(cols: 100, rows: 30, at: next())
            control.append("r 100x30")
            try await writer.flush()
        }
    }
    await writer.input(Array("ls -la\r".utf8), at: next())
    // A 3-byte character split across input chunks.
    let check = Array("✓".utf8)
    await writer.input([check[0]], at: next())
    await writer.input(Array(check[1...]) + [0x0D], at: next())
    await writer.marker("reconnect", at: next())
    control.append("m reconnect")
    await writer.resize(cols: 120, rows: 40, at: next())
    control.append("r 120x40")
    try await writer.flush()
    await writer.marker("share", at: next())
    control.append("m share")
    await writer.marker("admin kill", at: next())
    control.append("m admin kill")
    await writer.marker("disconnect", at: next())
    control.append("m disconnect")
    try await writer.close(at: next())

    let input = mode.recordsInput ? "ls -la\r✓\r" : ""
    return SampleRecording(
        cast: cast, chain: chain, expectedOutput: String(decoding: allOutput, as: UTF8.self), expectedInput: input,
        expectedControl: mode.recordsOutput ? control : [])
}

/// One parsed asciicast event.
struct CastEvent {
    var time: Double
    var code: String
    var data: String
}

/// Parses a `.cast` file strictly: a v2 header, then one `[time, code, data]` array per line.
func parseCast(_ url: URL) throws -> (header: [String: Any], events: [CastEvent]) {
    let data = try Data(contentsOf: url)
    #expect(data.last == UInt8(ascii: "\n"))
    let lines = data.split(separator: UInt8(ascii: "\n"))
    let headerLine = try #require(lines.first)
    let header = try #require(try JSONSerialization.jsonObject(with: Data(headerLine)) as? [String: Any])
    var events: [CastEvent] = []
    for line in lines.dropFirst() {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [Any])
        try #require(array.count == 3)
        let time = try #require(array[0] as? Double)
        let code = try #require(array[1] as? String)
        let text = try #require(array[2] as? String)
        events.append(CastEvent(time: time, code: code, data: text))
    }
    return (header, events)
}

/// The `.cast` file's lines, newline excluded, as raw bytes.
func castLines(_ url: URL) throws -> [[UInt8]] {
    try Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).map { Array($0) }
}

/// The chain file's lines, newline excluded.
func chainLines(_ url: URL) throws -> [String] {
    try String(decoding: Data(contentsOf: url), as: UTF8.self).split(separator: "\n").map(String.init)
}

/// Writes `lines` back as a chain file.
func writeChainLines(_ lines: [String], to url: URL) throws {
    try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url)
}

/// The permission bits of a file or directory.
func permissions(of url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    return try #require(attributes[.posixPermissions] as? Int)
}

/// Runs a program and returns its exit status and standard output.
func run(_ arguments: [String]) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
