import BerthCore
import BerthTestSupport
import Foundation
import HummingbirdTesting
import Testing

/// The admin view marks environments whose learners run containers (`berth.containers: true`).
@Suite("Container labs in the API (fake engine)", .timeLimit(.minutes(1)))
struct ContainerLabAPITests {
    static let containers = """
        name: Containers
        berth:
          command: ["sleep", "infinity"]
          containers: true
        """
    static let plain = """
        name: Plain
        berth:
          command: ["sleep", "infinity"]
        """

    @Test("admin environments and the environment itself say containers: true or false")
    func adminMark() async throws {
        try await APIHarness.with(environments: ["containers": Self.containers, "plain": Self.plain]) { harness in
            let alice = try await harness.player("alice")
            try await harness.application.test(.router) { client in
                let list = try await client.call(.get, "/api/v1/admin/environments", token: APIHarness.adminToken)
                #expect(list.status == 200, "\(list.body)")
                let items = try #require(list.body["items"] as? [[String: Any]])
                let marks = Dictionary(uniqueKeysWithValues: items.compactMap { item in (item["slug"] as? String).map { ($0, item["containers"] as? Bool) } })
                #expect(marks == ["containers": true, "plain": false])
                for (slug, expected) in [("containers", true), ("plain", false)] {
                    let one = try await client.call(.get, "/api/v1/environments/\(slug)", token: alice.token)
                    #expect(one.status == 200, "\(one.body)")
                    #expect(one.body["containers"] as? Bool == expected, "\(slug): \(one.body)")
                }
            }
        }
    }
}
