import BerthCore
import BerthEngine
import BerthMetrics
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `GET /metrics`: the Prometheus text exposition of ``BerthMetrics``.
///
/// Off unless the operator says how to protect it:
/// - `BERTH_METRICS_TOKEN`: the main port serves it to `Authorization: Bearer <token>` only;
/// - `BERTH_METRICS_ADDRESS`: a separate listener serves it (meant for loopback or a private
///   network; it asks for the token too when one is set), and the main port does not.
///
/// It is a plain route outside the API: not in the OpenAPI document, not audited (it is not under
/// `/api/`), and it needs no user: ``BearerAuthMiddleware`` leaves it to this check.
struct MetricsRoutes {
    /// The path on both listeners.
    static let path = "/metrics"

    let services: BerthServices

    /// Adds `/metrics` to the main router, answering as the configuration says.
    func register(on router: Router<BerthRequestContext>) {
        let configuration = services.configuration
        router.get(RouterPath(Self.path)) { request, _ in
            if configuration.metricsAddress != nil {
                throw BerthError(.metricsNotHere, "This port does not serve metrics: they are on the metrics listener (BERTH_METRICS_ADDRESS).")
            }
            guard let token = configuration.metricsToken else {
                throw BerthError(
                    .metricsDisabled,
                    "Metrics are off. Set BERTH_METRICS_TOKEN to serve them here to 'Authorization: Bearer <token>', or BERTH_METRICS_ADDRESS (e.g. 127.0.0.1:9464) to serve them on a separate listener."
                )
            }
            try Self.authorize(request, token: token)
            return await Self.scrape(services)
        }
    }

    /// The application of the separate metrics listener, when `BERTH_METRICS_ADDRESS` is set.
    static func listener(_ services: BerthServices, logger: Logger) -> (any Service)? {
        guard let address = services.configuration.metricsAddress else { return nil }
        let token = services.configuration.metricsToken
        let router = Router(context: BasicRequestContext.self)
        router.get(RouterPath(path)) { request, _ in
            if let token { try authorize(request, token: token) }
            return await scrape(services)
        }
        let metricsLogger = {
            var copy = logger
            copy[metadataKey: "listener"] = "metrics"
            return copy
        }()
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "berth-metrics"),
            logger: metricsLogger
        )
        return MetricsListener(application: application, address: address, logger: metricsLogger)
    }

    /// Refreshes the gauges read at scrape time (instances by state, live terminals) and renders.
    static func scrape(_ services: BerthServices) async -> Response {
        let metrics = services.metrics
        do {
            for (state, count) in try await services.lifecycle.activeCountsByState() {
                metrics.setInstances(state: state.rawValue, count: count)
            }
        } catch {
            // The gauges keep their last values; the store's own metrics show the outage.
            Logger(label: "berth.metrics").warning("instance gauges not refreshed", metadata: ["error": "\(error)"])
        }
        metrics.setLiveTerminals(await services.terminals.count)
        var headers = HTTPFields()
        headers[.contentType] = BerthMetrics.contentType
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }

    /// Passes a request carrying `Authorization: Bearer <token>`; anything else is 401.
    static func authorize(_ request: Request, token: String) throws {
        let header = request.headers[.authorization] ?? ""
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              Secrets.constantTimeEquals(parts[1].trimmingCharacters(in: .whitespaces), token)
        else {
            throw BerthError(.metricsTokenInvalid, "Metrics need the metrics token (BERTH_METRICS_TOKEN) as 'Authorization: Bearer <token>'.")
        }
    }
}

/// Runs the separate metrics listener. When it cannot listen (the address is taken or not on
/// this host) it logs an error naming the address and the server goes on without it: players
/// keep their terminals, and the scraper reports the target down.
struct MetricsListener<Listener: Service>: Service {
    let application: Listener
    let address: ListenAddress
    let logger: Logger

    func run() async throws {
        do {
            try await application.run()
        } catch {
            if Task.isCancelled { return }
            logger.error("metrics listener failed; serving without it", metadata: ["metrics.address": "\(address)", "error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}

/// Counts every request of the main port by method, route template and status, and times it
/// until the response head. Outside ``ErrorMiddleware``, so errors arrive as their responses.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext

    let metrics: BerthMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code), since: started)
            return response
        } catch {
            record(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        metrics.httpRequest(
            method: request.method.rawValue, route: HTTPRouteLabel(template: context.endpointPath), status: status,
            duration: ContinuousClock.now - started
        )
    }
}
