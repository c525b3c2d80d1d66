import BerthCore
import Foundation
import Testing

@Suite("Audit chain")
struct AuditChainTests {
    /// Five sealed entries, each after the one before.
    static func chain() -> [AuditEntry] {
        var entries: [AuditEntry] = []
        for index in 0..<5 {
            let entry = AuditEntry(
                time: Date(timeIntervalSince1970: 1_800_000_000 + Double(index)), actorID: index == 2 ? nil : "usr_\(index)",
                actorName: "näme \(index)", actorRole: "admin", clientIP: "127.0.0.1", userAgent: "agent", action: "POST /api/v1/x",
                target: "inst_\(index)", status: 200, result: "ok", detail: index == 4 ? "line\nbreak:1:" : nil
            )
            entries.append(AuditChain.seal(entry, after: entries.last))
        }
        return entries
    }

    @Test("sealed entries link to each other and check")
    func sealAndCheck() {
        let entries = Self.chain()
        #expect(entries.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(entries[0].previousHash == AuditChain.genesis)
        #expect(entries[3].previousHash == entries[2].hash)
        #expect(Set(entries.map(\.hash)).count == 5)
        #expect(AuditChain.firstProblem(in: entries) == nil)
        // A slice checks from the entry before it.
        #expect(AuditChain.firstProblem(in: Array(entries[2...]), after: entries[1]) == nil)
    }

    @Test("an edited field, a removed entry, a swap or a forged hash is found at its entry")
    func tampering() {
        let entries = Self.chain()
        var edited = entries
        edited[1].result = "forbidden"
        #expect(AuditChain.firstProblem(in: edited)?.sequence == 2)

        var removed = entries
        removed.remove(at: 2)
        #expect(AuditChain.firstProblem(in: removed)?.sequence == 4)

        var swapped = entries
        swapped.swapAt(1, 2)
        #expect(AuditChain.firstProblem(in: swapped)?.sequence == 3)

        // Rewriting an entry and its hash still breaks the link from the next entry.
        var rehashed = entries
        rehashed[1].actorID = "usr_someone_else"
        rehashed[1].hash = AuditChain.hash(of: rehashed[1])
        #expect(AuditChain.firstProblem(in: rehashed)?.sequence == 3)
    }

    @Test("a missing value and an empty one hash differently, and so do shifted field boundaries")
    func unambiguousEncoding() {
        let base = AuditEntry(
            time: Date(timeIntervalSince1970: 0), actorID: nil, actorName: nil, actorRole: nil, clientIP: nil, userAgent: nil,
            action: "a", target: nil, status: 0, result: "ok"
        )
        var empty = base
        empty.actorID = ""
        #expect(AuditChain.hash(of: base) != AuditChain.hash(of: empty))
        var left = base
        left.action = "ab"
        left.target = "c"
        var right = base
        right.action = "a"
        right.target = "bc"
        #expect(AuditChain.hash(of: left) != AuditChain.hash(of: right))
    }

    @Test("entries round-trip through the JSON the API and the export use")
    func jsonRoundTrip() throws {
        let entry = Self.chain()[4]
        let data = try JSONEncoder().encode(entry)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["actorId"] as? String == "usr_4")
        #expect(object["clientIp"] as? String == "127.0.0.1")
        let decoded = try JSONDecoder().decode(AuditEntry.self, from: data)
        #expect(decoded == entry)
        #expect(AuditChain.hash(of: decoded) == entry.hash)
    }
}
