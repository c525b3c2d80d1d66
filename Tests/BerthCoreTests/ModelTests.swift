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

    @Test("errors map to their documented statuses")
    func errorStatuses() {
        #expect(BerthError.badRequest("x", "m").statusCode == 400)
        #expect(BerthError.unauthorized().statusCode == 401)
        #expect(BerthError.forbidden("m").statusCode == 403)
        #expect(BerthError.notFound("x", "m").statusCode == 404)
        #expect(BerthError.conflict("x", "m").statusCode == 409)
        #expect(BerthError.unprocessable("x", "m").statusCode == 422)
        #expect(BerthError.tooMany("x", "m").statusCode == 429)
        #expect(BerthError.unavailable("x", "m").statusCode == 503)
        #expect(BerthError.internal("x", "m").statusCode == 500)
        #expect(BerthError.conflict("instance_exists", "m").description == "instance_exists: m")
    }
}
