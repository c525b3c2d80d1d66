import BerthCore
import Foundation
import Testing

@Suite("Scoring, flags and passwords")
struct ScoringTests {
    @Test("CTFd's logarithmic decay: the first solver gets the initial value, the minimum is reached at `decay` solves and kept")
    func logarithmicDecay() {
        let scoring = ScoringSpec.dynamic(initial: 500, decay: 10, minimum: 100, function: .logarithmic)
        #expect(scoring.value(solves: 0) == 500)
        #expect(scoring.value(solves: 1) == 500)
        // CTFd: ceil(((100 - 500) / 10^2) * 1^2 + 500) = 496
        #expect(scoring.value(solves: 2) == 496)
        #expect(scoring.value(solves: 6) == 400)
        #expect(scoring.value(solves: 11) == 100)
        #expect(scoring.value(solves: 50) == 100)
    }

    @Test("linear decay drops `decay` points per solve down to the minimum; a fixed value never moves")
    func linearAndFixed() {
        let linear = ScoringSpec.dynamic(initial: 300, decay: 25, minimum: 200, function: .linear)
        #expect([1, 2, 3, 4, 5, 6, 9].map(linear.value(solves:)) == [300, 275, 250, 225, 200, 200, 200])
        #expect(ScoringSpec.fixed(value: 150).value(solves: 40) == 150)
    }

    @Test("per-instance flags differ per instance and per secret, and are stable")
    func dynamicFlags() {
        let spec = DynamicFlagSpec(path: "/home/player/flag.txt")
        let secret = FlagSecret(bytes: Data(repeating: 7, count: 32))
        let other = FlagSecret(bytes: Data(repeating: 8, count: 32))
        let one = spec.flag(instanceID: "inst_a", secret: secret)
        #expect(one == spec.flag(instanceID: "inst_a", secret: secret))
        #expect(one != spec.flag(instanceID: "inst_b", secret: secret))
        #expect(one != spec.flag(instanceID: "inst_a", secret: other))
        #expect(one.hasPrefix("berth{") && one.hasSuffix("}") && one.count == "berth{}".count + 32)
    }

    @Test("the flag secret is created once, 0600, and read back the same")
    func flagSecretFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-flag-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("keys/flag-hmac.key")
        let first = try FlagSecret.loadOrCreate(at: url)
        let second = try FlagSecret.loadOrCreate(at: url)
        let spec = DynamicFlagSpec(path: "/f")
        #expect(spec.flag(instanceID: "i", secret: first) == spec.flag(instanceID: "i", secret: second))
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test("weak passwords are refused with the reason", arguments: [
        ("short", "alice"), ("aaaaaaaaaaaa", "alice"), ("alice-is-great-99", "alice"), ("password1234", "bob"),
    ])
    func weakPasswords(password: String, name: String) {
        #expect(PasswordPolicy.problem(password: password, name: name) != nil)
    }

    @Test("reasonable passwords pass")
    func goodPasswords() {
        #expect(PasswordPolicy.problem(password: "correct horse battery", name: "alice") == nil)
        #expect(PasswordPolicy.problem(password: "T4ngerine-Sky", name: "bob") == nil)
    }
}
