import BerthAPI
import BerthCore
import BerthEngine
import Hummingbird
import OpenAPIRuntime

/// The handlers of every operation in `openapi.yaml`, one file per feature (instances, terminals,
/// recordings, audit, accounts, session, play, admin, system). The protocol is generated from
/// the contract, so an operation without a handler does not compile.
public struct BerthAPIHandler: APIProtocol {
    let services: BerthServices

    /// Registers every operation in the group of its access (see ``AccessGroupTransport``).
    static func register(services: BerthServices, on router: Router<BerthRequestContext>, table: RouteTable) throws {
        var groups: [APIAccess: RouterGroup<BerthRequestContext>] = [:]
        for access in [APIAccess.public, .signedIn, .admin] {
            groups[access] = router.group().add(middleware: AccessMiddleware(access: access))
        }
        let transport = AccessGroupTransport(contract: .shipped, groups: groups, table: table)
        try BerthAPIHandler(services: services).registerHandlers(on: transport, configuration: .berth)
    }

    /// The `limit` query parameter of every list (events, submissions, audit): 1 to 1000, 100
    /// when absent. The contract types it as an integer with that range; the range is checked here.
    static func limit(_ value: Int?) throws -> Int {
        guard let value else { return 100 }
        guard (1...1000).contains(value) else {
            throw BerthError(.invalidQuery, "'limit' must be a whole number from 1 to 1000.")
        }
        return value
    }
}

extension Configuration {
    /// Dates as ISO 8601 without fractional seconds, and compact JSON with sorted keys and
    /// unescaped slashes, as Berth always sent them.
    static let berth = Configuration(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
}
