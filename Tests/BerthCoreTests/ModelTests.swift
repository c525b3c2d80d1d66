import BerthCore
import Foundation
import Testing

@Suite("Models")
struct ModelTests {
    @Test("an owner survives the round trip through its label", arguments: [
        Owner(kind: .user, id: "usr_abc"), Owner(kind: .team, id: "team_xyz"), Owner(kind: .user, id: "odd:id"),
    ])
    func ownerLabelRoundTrip(owner: Owner) throws {
        #expect(owner.label == "\(owner.kind.rawValue):\(owner.id)")
        #expect(Owner(label: owner.label) == owner)
    }

    @Test("labels that are not user: or team: do not parse", arguments: ["", "usr_abc", "robot:r1", "user:", ":x", "USER:x"])
    func badOwnerLabels(label: String) {
        #expect(Owner(label: label) == nil)
    }

    @Test("only requested, starting, running and stopping count as active")
    func activeStates() {
        let active = Set(InstanceState.allCases.filter(\.isActive))
        #expect(active == [.requested, .starting, .running, .stopping])
    }

    @Test("identifiers carry their prefix, are unique and well formed")
    func identifiers() {
        let made = (0..<200).map { _ in Identifier.make("inst") }
        #expect(Set(made).count == made.count)
        for id in made {
            #expect(id.hasPrefix("inst_"))
            #expect(id.count == "inst_".count + 16)
            #expect(Identifier.isWellFormed(id))
        }
        for bad in ["", "a/b", "inst_..", "x y", String(repeating: "a", count: 65), "inst_é"] {
            #expect(!Identifier.isWellFormed(bad), "\(bad)")
        }
    }

    @Test("validation problems print as file: field: reason")
    func problemDescription() {
        let error = ValidationProblem(file: "a/challenge.yml", field: "berth.network", reason: "bad")
        let warning = ValidationProblem(file: "a/challenge.yml", field: "extra", reason: "unknown", severity: .warning)
        #expect(error.description == "a/challenge.yml: berth.network: bad")
        #expect(warning.description == "a/challenge.yml: extra: warning: unknown")
    }

    @Test("errors carry a stable code and a message, and print as code: message")
    func errorCodes() {
        #expect(BerthError(.instanceExists, "m").description == "instance_exists: m")
        #expect(BerthError.unauthorized().code == .unauthorized)
        #expect(BerthError.Code(rawValue: "instance_not_found") == .instanceNotFound)
        #expect(Set(BerthError.Code.allCases.map(\.rawValue)).count == BerthError.Code.allCases.count)
        #expect(BerthError.Code.allCases.allSatisfy { $0.rawValue.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" } })
    }
}
