import BerthCore
import BerthEngine
import BerthStore
import BerthTestSupport
import Foundation
import Logging
import Testing

@Suite("Admission: caps and host ports held in the database")
struct AdmissionTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("20 concurrent leases get distinct ports; the scan wraps; a full range answers fewer; release and hold", arguments: StoreBackend.enabled)
    func leases(_ backend: StoreBackend) async throws {
        try await withTestDatabase(backend) { database in
            let range = 40000...40049
            let leased = try await withThrowingTaskGroup(of: [Int].self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await database.instances.leasePorts(2, in: range, from: 40000, for: "inst_\(index)", at: Self.start).ports
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(leased.count == 40 && Set(leased).count == 40, "every port handed out once")
            // 10 ports are left; the scan from the end wraps to the start of the range.
            let wrapped = try await database.instances.leasePorts(3, in: range, from: 40049, for: "inst_wrap", at: Self.start)
            #expect(wrapped.ports.count == 3 && wrapped.ports.allSatisfy { !leased.contains($0) })
            let full = try await database.instances.leasePorts(10, in: range, from: 40000, for: "inst_full", at: Self.start)
            #expect(full.ports.count == 7, "only 7 ports were left")
            // Leasing again gives back what the instance held first.
            let again = try await database.instances.leasePorts(1, in: range, from: 40000, for: "inst_full", at: Self.start)
            #expect(again.ports.count == 1)
            #expect(try await database.instances.leasedPorts(of: "inst_full") == again.ports)
            try await database.instances.releasePorts(of: "inst_0")
            #expect(try await database.instances.leasedPorts(of: "inst_0").isEmpty)
            // An adopted instance holds its own ports; one another instance holds is reported.
            let taken = try #require(try await database.instances.leasedPorts(of: "inst_1").first)
            #expect(try await database.instances.holdPorts([taken, 41000], for: "inst_adopted", at: Self.start) == [taken])
            #expect(try await database.instances.holdPorts([41000], for: "inst_adopted", at: Self.start).isEmpty, "holding twice is no conflict")
        }
    }

    static let environment = """
        name: Web
        image: berth/base:latest
        berth:
          ports: [{port: 8080, protocol: http}]
        """

    /// A catalog of one environment, `web`, that publishes one port.
    static func withWebCatalog(_ body: (EnvironmentCatalog) async throws -> Void) async throws {
        try await TemporaryDirectory.with(prefix: "berth-admission") { directory in
            _ = try directory.write("environments/web/challenge.yml", Self.environment)
            let catalog = EnvironmentCatalog(directory: directory.path("environments"))
            let scan = try await catalog.reload()
            #expect(scan.isValid, "\(scan.problems)")
            try await body(catalog)
        }
    }

    @Test("two lifecycles on one database (two servers) admit exactly the caps and publish distinct ports, under 40 concurrent requests", arguments: StoreBackend.enabled)
    func twoServers(_ backend: StoreBackend) async throws {
        try await Self.withWebCatalog { catalog in
            try await withTwoTestDatabases(backend) { firstDatabase, second in
                let logger = Logger(label: "berth.test") { _ in SwiftLogNoOpLogHandler() }
                let policy = LifecyclePolicy(assignment: .unlimited, ownerCap: 2, globalCap: 9, portRange: 42000...42019, endpointHost: "127.0.0.1")
                let servers = [firstDatabase, second].map { database in
                    InstanceLifecycle(store: database, runtime: FakeInstanceRuntime(), catalog: catalog, policy: policy, logger: logger)
                }
                var users: [User] = []
                for index in 0..<8 { users.append(try await Accounts(store: firstDatabase).createUser(name: "player-\(index)")) }
                struct Outcome: Sendable {
                    var server: Int
                    var result: Result<Instance, BerthError>
                }
                let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                    for index in 0..<40 {
                        let user = users[index % users.count]
                        group.addTask {
                            do {
                                return Outcome(server: index % 2, result: .success(try await servers[index % 2].request(environment: "web", by: user)))
                            } catch let error as BerthError {
                                return Outcome(server: index % 2, result: .failure(error))
                            }
                        }
                    }
                    return try await group.reduce(into: [Outcome]()) { $0.append($1) }
                }
                let admitted = outcomes.compactMap { try? $0.result.get() }
                let refusals = outcomes.compactMap { outcome -> BerthError.Code? in
                    if case .failure(let error) = outcome.result { return error.code }
                    return nil
                }
                #expect(Set(outcomes.filter { (try? $0.result.get()) != nil }.map(\.server)) == [0, 1], "both servers admitted some")
                #expect(admitted.count == 9, "the global cap, across both servers")
                #expect(Set(refusals).isSubset(of: [.ownerCapReached, .globalCapReached]), "\(refusals)")
                let perOwner = Dictionary(grouping: admitted, by: \.owner).mapValues(\.count)
                #expect(perOwner.values.allSatisfy { $0 <= 2 }, "\(perOwner)")
                let ports = admitted.flatMap { $0.endpoints.map(\.hostPort) }
                #expect(ports.count == 9 && Set(ports).count == 9, "distinct host ports: \(ports.sorted())")
                let stored = try await firstDatabase.instances.instances(InstanceQuery(activeOnly: true))
                #expect(stored.count == 9)
                // An ended instance gives its port back, seen from the other server's database handle.
                let first = try #require(outcomes.first { (try? $0.result.get()) != nil })
                let ended = try first.result.get()
                let owner = try #require(users.first { $0.id == ended.owner.id })
                _ = try await servers[first.server].stop(ended.id, by: owner)
                #expect(try await (first.server == 0 ? second : firstDatabase).instances.leasedPorts(of: ended.id).isEmpty)
            }
        }
    }
}
