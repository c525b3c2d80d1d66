import CoreMetrics
import Prometheus

/// Every metric a Berth server exposes at `GET /metrics`, with its name, help text, labels and
/// buckets in this one file. Each application owns one (and its own registry), so tests that
/// build many applications in one process never share numbers and nothing bootstraps a global
/// `MetricsSystem`.
///
/// Label values are bounded by construction: environment slugs come from the catalog, routes are
/// the router's templates (``HTTPRouteLabel``), engine operations are path templates, and store
/// operations are the store's method names.
public final class BerthMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry

    /// Creates the metrics of one application over a fresh registry.
    public init() {
        self.registry = PrometheusCollectorRegistry()
        // Families appear in the exposition from the first scrape, before anything happened.
        for state in Self.activeStates { setInstances(state: state, count: 0) }
        setLiveTerminals(0)
        registry.makeGauge(descriptor: Self.terminalConnections).set(to: 0)
        registry.makeCounter(descriptor: Self.terminalBytes, labels: [("direction", "in")]).increment(by: Int64(0))
        registry.makeCounter(descriptor: Self.terminalBytes, labels: [("direction", "out")]).increment(by: Int64(0))
    }

    /// A swift-metrics factory over this registry, for libraries that record through swift-metrics'
    /// `Counter(label:dimensions:factory:)`-style initialisers.
    public var factory: PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.engineBuckets
        return factory
    }

    // MARK: - Names

    /// The states of an active instance, in lifecycle order: the values of `berth_instances`' `state`.
    public static let activeStates = ["requested", "starting", "running", "stopping"]

    static var instances: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "instances", unitName: "",
            helpText: "Active instances by state, read from the lifecycle at scrape time."
        )
    }
    static var starts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "instance_starts", unitName: "total",
            helpText: "Instances that reached running (new, or a reset's fresh container), by environment."
        )
    }
    static var startFailures: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "instance_start_failures", unitName: "total",
            helpText: "Instance starts that failed, by environment and error code."
        )
    }
    static var startDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "instance_start_duration", unitName: "seconds",
            helpText: "Time from starting to running (container, network, flag), by environment."
        )
    }
    static var terminals: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "terminals", unitName: "",
            helpText: "Live terminal PTYs (including those waiting for a reconnect), read at scrape time."
        )
    }
    static var terminalConnections: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "terminal_connections", unitName: "",
            helpText: "Terminal WebSocket clients connected now."
        )
    }
    static var terminalBytes: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "terminal_websocket_bytes", unitName: "total",
            helpText: "Payload bytes of terminal WebSocket frames: in (from clients) and out (to clients)."
        )
    }
    static var httpRequests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "http_requests", unitName: "total",
            helpText: "HTTP requests by method, route template (unmatched when no route matched) and status."
        )
    }
    static var httpDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "http_request_duration", unitName: "seconds",
            helpText: "Time until the response head, by method and route template."
        )
    }
    static var storeDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "store_call_duration", unitName: "seconds",
            helpText: "Store statements by the store operation that ran them."
        )
    }
    static var engineDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "berth", metricName: "engine_call_duration", unitName: "seconds",
            helpText: "Docker Engine API calls by method and path template (image builds, events and exec streams excluded)."
        )
    }

    /// Starts take from 0.2 s (an image on disk) to a minute (a slow engine or a big network).
    static let startBuckets: [Duration] = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90].map(seconds)
    /// HTTP requests: milliseconds for reads, seconds for a start.
    static let httpBuckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map(seconds)
    /// Store statements: SQLite answers in tens of microseconds, a busy database in seconds.
    static let storeBuckets: [Duration] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5].map(seconds)
    /// Engine calls: a ping in a millisecond, a container create in tens to hundreds, up to the engine timeout.
    static let engineBuckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].map(seconds)


    // MARK: - Instances

    /// Sets `berth_instances{state}`.
    public func setInstances(state: String, count: Int) {
        registry.makeGauge(descriptor: Self.instances, labels: [("state", state)]).set(to: Double(count))
    }

    /// An instance of `environment` reached running after `duration`.
    public func instanceStarted(environment: String, after duration: Duration) {
        registry.makeCounter(descriptor: Self.starts, labels: [("environment", environment)]).increment()
        registry.makeDurationHistogram(descriptor: Self.startDuration, labels: [("environment", environment)], buckets: Self.startBuckets)
            .record(duration)
    }

    /// An instance of `environment` failed to start with the stable error `code`.
    public func instanceStartFailed(environment: String, code: String) {
        registry.makeCounter(descriptor: Self.startFailures, labels: [("environment", environment), ("code", code)]).increment()
    }

    // MARK: - Terminals

    /// Sets `berth_terminals`.
    public func setLiveTerminals(_ count: Int) {
        registry.makeGauge(descriptor: Self.terminals).set(to: Double(count))
    }

    /// A terminal WebSocket client connected (`+1`) or left (`-1`).
    public func terminalConnections(change: Int) {
        registry.makeGauge(descriptor: Self.terminalConnections).increment(by: Double(change))
    }

    /// Payload bytes a terminal client sent.
    public func terminalBytesIn(_ count: Int) {
        registry.makeCounter(descriptor: Self.terminalBytes, labels: [("direction", "in")]).increment(by: Int64(count))
    }

    /// Payload bytes sent to a terminal client.
    public func terminalBytesOut(_ count: Int) {
        registry.makeCounter(descriptor: Self.terminalBytes, labels: [("direction", "out")]).increment(by: Int64(count))
    }

    // MARK: - Calls

    /// One HTTP request: `route` is an ``HTTPRouteLabel`` value, never a raw path.
    public func httpRequest(method: String, route: HTTPRouteLabel, status: Int, duration: Duration) {
        let method = Self.methodLabel(method)
        registry.makeCounter(descriptor: Self.httpRequests, labels: [("method", method), ("route", route.value), ("status", String(status))])
            .increment()
        registry.makeDurationHistogram(descriptor: Self.httpDuration, labels: [("method", method), ("route", route.value)], buckets: Self.httpBuckets)
            .record(duration)
    }

    /// One store statement, run on behalf of the store method `operation` (e.g. `instances(_:)`).
    public func storeCall(_ operation: String, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.storeDuration, labels: [("operation", operation)], buckets: Self.storeBuckets)
            .record(duration)
    }

    /// One Docker Engine API call; `path` must already be a template (`/containers/{id}/start`).
    public func engineCall(method: String, path: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.engineDuration, labels: [("method", Self.methodLabel(method)), ("path", path)], buckets: Self.engineBuckets
        ).record(duration)
    }

    /// The method as a label: the standard ones as they are, anything else (a client may send any
    /// token) as `other`, so a stranger cannot grow the label set.
    public static func methodLabel(_ method: String) -> String {
        ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(method) ? method : "other"
    }

    // MARK: - Exposition

    /// The Prometheus text exposition (format 0.0.4) of everything recorded so far.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The `Content-Type` of ``exposition()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// `value` seconds as a duration, for bucket bounds.
private func seconds(_ value: Double) -> Duration {
    .nanoseconds(Int64((value * 1_000_000_000).rounded()))
}

/// The `route` label of an HTTP request: the matched route's template as the router names it
/// (`/api/v1/instances/{id}`), or `unmatched`. Never the raw path, whose values are unbounded.
public struct HTTPRouteLabel: Sendable, Hashable {
    /// The label value.
    public let value: String

    /// The label of a request the router matched to `template`, or of one it did not match: nil,
    /// or Hummingbird's own `NotFound` marker (any value that is not a path).
    public init(template: String?) {
        guard let template, template.hasPrefix("/") else {
            self.value = "unmatched"
            return
        }
        self.value = template
    }

    /// The label of requests no route matched.
    public static let unmatched = HTTPRouteLabel(template: nil)
}
