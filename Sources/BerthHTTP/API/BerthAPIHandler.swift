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

    /// Operations not yet moved from their old Hummingbird routes; the transport leaves them to those routes.
    static var legacyOperations: Set<String> {
        legacyInstances.union(legacyTerminals).union(legacyRecordings).union(legacyAudit).union(legacyAccounts)
            .union(legacySession).union(legacyPlay).union(legacyAdmin).union(legacySystem)
    }

    /// Registers every operation in the group of its access (see ``AccessGroupTransport``).
    static func register(services: BerthServices, on router: Router<BerthRequestContext>, table: RouteTable) throws {
        var groups: [APIAccess: RouterGroup<BerthRequestContext>] = [:]
        for access in [APIAccess.public, .signedIn, .admin] {
            groups[access] = router.group().add(middleware: AccessMiddleware(access: access))
        }
        let transport = AccessGroupTransport(contract: .shipped, groups: groups, table: table, skipping: legacyOperations)
        try BerthAPIHandler(services: services).registerHandlers(on: transport, configuration: .berth)
    }
}

/// An operation whose handler still lives in its old Hummingbird route (never reached: the
/// transport does not register it).
struct APINotConverted: Error {
    let operation: String
}

extension Configuration {
    /// Dates as ISO 8601 without fractional seconds, as Berth always sent them.
    static let berth = Configuration()
}
