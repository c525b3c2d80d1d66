import BerthTerminal
import Foundation
import Testing

@Suite("Screen buffer")
struct ScreenBufferTests {
    @Test("keeps only the newest bytes, in order")
    func keepsNewest() {
        var buffer = ScreenBuffer(capacity: 8)
        buffer.append(Array("abcdef".utf8))
        buffer.append(Array("ghij".utf8))
        #expect(buffer.count == 8)
        #expect(String(decoding: buffer.snapshot(), as: UTF8.self) == "cdefghij")
        buffer.append(Array("0123456789".utf8))
        #expect(String(decoding: buffer.snapshot(), as: UTF8.self) == "23456789")
    }

    @Test("a snapshot never starts in the middle of a UTF-8 character")
    func utf8Boundary() {
        var buffer = ScreenBuffer(capacity: 4)
        buffer.append(Array("aé€".utf8))  // 1 + 2 + 3 bytes: the ring cuts into 'é'
        let snapshot = buffer.snapshot()
        #expect(String(decoding: snapshot, as: UTF8.self) == "€")
    }

    @Test("memory stays at the capacity under a flood")
    func bounded() {
        var buffer = ScreenBuffer(capacity: 1024)
        for _ in 0..<1000 { buffer.append([UInt8](repeating: 0x79, count: 997)) }
        #expect(buffer.count == 1024)
    }
}

@Suite("Terminal control messages")
struct ControlMessageTests {
    @Test("client messages parse, and bad ones say why")
    func parsing() throws {
        #expect(try ClientControl.parse(#"{"type":"resize","cols":120,"rows":40}"#).get() == .resize(TerminalSize(cols: 120, rows: 40)))
        #expect(try ClientControl.parse(#"{"type":"ack","bytes":65536}"#).get() == .ack(bytes: 65536))
        #expect(try ClientControl.parse(#"{"type":"flow","window":1048576}"#).get() == .flow(window: 1_048_576))
        #expect(try ClientControl.parse(#"{"type":"ping"}"#).get() == .ping)
        #expect(try ClientControl.parse(#"{"type":"acknowledgeInput"}"#).get() == .acknowledgeInput)
        for bad in [#"{"type":"resize","cols":0,"rows":40}"#, #"{"type":"resize","cols":"a"}"#, #"{"type":"nope"}"#, "not json", "[]",
                    #"{"type":"ack","bytes":-1}"#, #"{"type":"flow","window":10}"#] {
            guard case .failure(let error) = ClientControl.parse(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(!error.message.isEmpty)
        }
    }

    @Test("server messages are JSON with a type")
    func serverJSON() throws {
        let cases: [(ServerControl, String)] = [
            (.ready(terminal: "main", access: .write, size: TerminalSize(cols: 80, rows: 24), replayBytes: 5), "ready"),
            (.exited(code: 3), "exited"), (.exited(code: nil), "exited"), (.expiring(secondsLeft: 42), "expiring"),
            (.closed(reason: "expired"), "closed"), (.notice(code: "input_rate_limited", message: "slow down"), "notice"),
            (.readonly, "readonly"), (.resync(replayBytes: 9, skippedBytes: 4096), "resync"), (.pong, "pong"), (.written(bytes: 16384), "written"),
            (.error(code: "x", message: "<script>\"quoted\"</script>"), "error"),
        ]
        for (message, type) in cases {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.json.utf8)) as? [String: Any])
            #expect(object["type"] as? String == type)
        }
        let exited = try #require(try JSONSerialization.jsonObject(with: Data(ServerControl.exited(code: 3).json.utf8)) as? [String: Any])
        #expect(exited["code"] as? Int == 3)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(ServerControl.error(code: "x", message: "<b>\"q\"</b>").json.utf8)) as? [String: Any])
        #expect(error["message"] as? String == "<b>\"q\"</b>")
    }
}

@Suite("Input rate limiter")
struct InputRateLimiterTests {
    @Test("allows the burst, refuses beyond it, and refills with time")
    func tokenBucket() {
        let start = ContinuousClock.now
        var limiter = InputRateLimiter(bytesPerSecond: 1000, burstBytes: 2000, now: start)
        var answers: [Bool] = []
        for (bytes, at) in [(1500, start), (1000, start), (500, start), (1, start), (900, start + .seconds(1)),
                            (500, start + .seconds(1)), (2000, start + .seconds(10))] {
            answers.append(limiter.allow(bytes, now: at))
        }
        #expect(answers == [true, false, true, false, true, false, true])
    }

    @Test("reserve never refuses: it says how long to wait, and waiting keeps the sustained rate")
    func reserveHoldsBack() {
        let start = ContinuousClock.now
        var limiter = InputRateLimiter(bytesPerSecond: 1000, burstBytes: 2000, now: start)
        #expect(limiter.reserve(1500, now: start) == .zero)
        // 500 left: 1000 more must wait 0.5 s; a chunk larger than the burst still gets a finite wait.
        #expect(limiter.reserve(1000, now: start) == .milliseconds(500))
        #expect(limiter.reserve(5000, now: start + .milliseconds(500)) == .seconds(5))
        #expect(limiter.reserve(1, now: start + .seconds(10)) == .zero)
    }

    @Test("at any rate and chunk size, a writer that waits as told passes every byte at the sustained rate")
    func reserveAtAnyRate() {
        var generator = SystemRandomNumberGenerator()
        for rate in [1, 100, 64 * 1024, 10_000_000] {
            let burst = max(1, rate / 4)
            let start = ContinuousClock.now
            var limiter = InputRateLimiter(bytesPerSecond: rate, burstBytes: burst, now: start)
            var now = start
            var total = 0
            for _ in 0..<200 {
                let chunk = Int.random(in: 0...(64 * 1024), using: &generator)
                let wait = limiter.reserve(chunk, now: now)
                #expect(wait >= .zero)
                now += wait
                total += chunk
            }
            // The time taken is what the rate allows after the burst, never less (rounding aside).
            let seconds = Double((now - start).components.seconds) + Double((now - start).components.attoseconds) / 1e18
            let floor = Double(max(0, total - burst)) / Double(rate)
            #expect(seconds >= floor - 1e-6, "rate \(rate): \(total) bytes in \(seconds) s")
            #expect(seconds <= floor + 1e-3 * 200, "rate \(rate): waited too long (\(seconds) s for \(floor) s)")
        }
    }
}

@Suite("Terminal tickets and share links")
struct TicketTests {
    let grant = TerminalGrant(instanceID: "inst_a", userID: "usr_a", access: .write, terminal: "main")

    @Test("a ticket works once, only for its instance")
    func singleUse() async throws {
        let book = TicketBook(lifetime: .seconds(30))
        let issued = try await book.issue(grant)
        #expect(issued.expiresIn == 30)
        #expect(try await book.redeem(issued.ticket, instanceID: "inst_other") == nil)
        let second = try await book.issue(grant)
        #expect(try await book.redeem(second.ticket, instanceID: "inst_a") == grant)
        #expect(try await book.redeem(second.ticket, instanceID: "inst_a") == nil)
        #expect(try await book.take(second.ticket) == grant)
        #expect(try await book.take(second.ticket) == nil)
        #expect(try await book.redeem("made-up", instanceID: "inst_a") == nil)
    }

    @Test("tickets expire, and never live longer than 60 s")
    func expiry() async throws {
        let capped = TicketBook(lifetime: .seconds(600))
        #expect(try await capped.issue(grant).expiresIn == 60)
        let book = TicketBook(lifetime: .milliseconds(100))
        let issued = try await book.issue(grant)
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await book.redeem(issued.ticket, instanceID: "inst_a") == nil)
    }

    @Test("share links open only their instance and end with it")
    func shares() async throws {
        let book = ShareBook()
        let share = try await book.create(instanceID: "inst_a", access: .read, createdBy: "usr_a")
        #expect(share.id.hasPrefix("shr_"))
        #expect(try await book.share(share.id, instanceID: "inst_a")?.access == .read)
        #expect(try await book.share(share.id, instanceID: "inst_b") == nil)
        try await book.revokeAll(instanceID: "inst_a")
        #expect(try await book.share(share.id, instanceID: "inst_a") == nil)
    }
}

@Suite("Screen buffer against a simple model")
struct ScreenBufferModelTests {
    @Test("any sequence of appends keeps exactly the last bytes")
    func matchesModel() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [1, 7, 64, 1000] {
            var buffer = ScreenBuffer(capacity: capacity)
            var model: [UInt8] = []
            for _ in 0..<200 {
                let chunk = (0..<Int.random(in: 0...(capacity * 2), using: &generator)).map { _ in UInt8.random(in: 0x20...0x7e, using: &generator) }
                buffer.append(chunk)
                model = Array((model + chunk).suffix(capacity))
                #expect(buffer.snapshot() == model)
                if buffer.snapshot() != model { return }
            }
        }
    }
}
