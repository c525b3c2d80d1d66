import BerthTestSupport
import DockerEngine
import Foundation
import NIOCore
import Testing

@Suite("Plain exec with stdin and binary output (real engine)", .serialized)
struct InputExecTests {
    @Test("stdin reaches the process, EOF follows it, stdout comes back byte for byte with stderr and the exit code")
    func roundTrip() async throws {
        try await EngineFixture.with { fixture in
            let id = try await fixture.runContainer("input-exec", command: ["sleep", "300"])
            var generator = SystemRandomNumberGenerator()
            let input = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) } + (0...255).map { UInt8($0) }
            let echoed = try await fixture.docker.execBytes(
                id, PlainExecRequest(command: ["/bin/sh", "-c", "cat; echo done >&2; exit 3"], user: "1000:1000"), input: input,
                timeout: .seconds(60)
            )
            #expect(echoed.exitCode == 3)
            #expect(echoed.stdout == input, "\(echoed.stdout.count) bytes back of \(input.count)")
            #expect(echoed.stderrText == "done\n")

            // A process that exits without reading its input neither hangs nor loses its exit code.
            let refused = try await fixture.docker.execBytes(
                id, PlainExecRequest(command: ["/bin/sh", "-c", "echo no >&2; exit 7"]), input: [UInt8](repeating: 1, count: 4 << 20),
                timeout: .seconds(60)
            )
            #expect(refused.exitCode == 7)
            #expect(refused.stderrText == "no\n")

            // Without input, stdin is not attached; arguments reach the process unchanged.
            let plain = try await fixture.docker.execBytes(id, PlainExecRequest(command: ["printf", "%s|", "a b", "$HOME", "'"]))
            #expect(plain.exitCode == 0)
            #expect(String(decoding: plain.stdout, as: UTF8.self) == "a b|$HOME|'|")

            // Past the limit the call fails instead of collecting.
            await #expect(throws: DockerError.self) {
                try await fixture.docker.execBytes(id, PlainExecRequest(command: ["head", "-c", "4096", "/dev/zero"]), maxStdoutBytes: 1024)
            }

            // A command that runs past the timeout fails the call.
            await #expect(throws: DockerError.self) {
                try await fixture.docker.execBytes(id, PlainExecRequest(command: ["sleep", "30"]), timeout: .seconds(1))
            }
        }
    }
}
