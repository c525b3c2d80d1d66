import BerthCore
import BerthEngine
import BerthMetrics
import BerthStore
import BerthTerminal
import Foundation
import Hummingbird
import Logging

/// Builds the router with every route of the REST API; ``RouteTable/served`` lists them.
public func buildRouter(_ services: BerthServices) throws -> RouteTable {
    let router = Router(context: BerthRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(trusted: services.configuration.trustedProxies))
    router.add(middleware: HTTPMetricsMiddleware(metrics: services.metrics))
    router.add(middleware: AuditMiddleware(log: services.audit))
    router.add(middleware: SecurityHeadersMiddleware())
    let table = RouteTable(router: router)
    router.add(middleware: ErrorMiddleware(routes: table.methods))
    router.add(middleware: CallerIdentification(accounts: services.accounts))
    try BerthAPIHandler.register(services: services, on: router, table: table)
    TerminalRoutes(services: services).register(on: table)
    GitHubSignIn(services: services).register(on: table)
    PageRoutes(services: services).register(on: table)
    MetricsRoutes(services: services).register(on: router)
    return table
}
