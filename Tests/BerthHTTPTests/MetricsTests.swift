import BerthCore
import BerthHTTP
import BerthMetrics
import BerthStore
import DockerEngine
import Foundation
import HTTPTransport
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import Metrics
import NIOCore
import NIOPosix
import Testing
import WSClient

/// One sample line of a Prometheus text exposition.
struct MetricSample {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses the sample lines of a Prometheus text exposition (label values as Berth writes them:
/// no escaped quotes), failing the test on a line it cannot read.
func parseExposition(_ text: String) -> [MetricSample] {
    var samples: [MetricSample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        var name = ""
        var labels: [String: String] = [:]
        var rest = Substring(line)
        if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
            name = String(line[..<open])
            for pair in line[line.index(after: open)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { Issue.record("bad label in \(line)"); continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            rest = line[line.index(after: close)...]
        } else if let space = line.firstIndex(of: " ") {
            name = String(line[..<space])
            rest = line[space...]
        }
        guard let value = Double(rest.trimmingCharacters(in: .whitespaces)) else {
            Issue.record("unreadable sample line: \(line)")
            continue
        }
        samples.append(MetricSample(name: name, labels: labels, value: value))
    }
    return samples
}

extension Array where Element == MetricSample {
    /// The value of the sample `name` whose labels include `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }
}

/// A port that was free a moment ago on 127.0.0.1, for a listener the test configures.
func freeLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}

extension TestClientProtocol {
    /// `GET /metrics` with an optional bearer token: the status and the body as text.
    func scrape(token: String?) async throws -> (status: Int, text: String, contentType: String?) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await execute(uri: "/metrics", method: .get, headers: headers)
        return (Int(response.status.code), String(buffer: response.body), response.headers[.contentType])
    }
}

@Suite("Metrics: labels and exposition (no engine)")
struct MetricsUnitTests {
    @Test("a route label is the router's template, or unmatched; never a raw path")
    func routeLabels() {
        #expect(HTTPRouteLabel(template: "/api/v1/instances/{id}").value == "/api/v1/instances/{id}")
        #expect(HTTPRouteLabel(template: nil).value == "unmatched")
        #expect(HTTPRouteLabel(template: "").value == "unmatched")
        // Hummingbird's not-found responder names the route "NotFound".
        #expect(HTTPRouteLabel(template: "NotFound").value == "unmatched")
        #expect(HTTPRouteLabel(template: "/").value == "/")
        #expect(HTTPRouteLabel.unmatched.value == "unmatched")
    }

    @Test("standard methods label as themselves, anything else as other")
    func methodLabels() {
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            #expect(BerthMetrics.methodLabel(method) == method)
        }
        #expect(BerthMetrics.methodLabel("BREW") == "other")
        #expect(BerthMetrics.methodLabel("get") == "other")
    }

    @Test("engine paths become templates: no version, no query, ids and image names as {id}")
    func engineTemplates() {
        let cases: [(String, String)] = [
            ("/containers/3f2a9b/start", "/containers/{id}/start"),
            ("/v1.41/containers/3f2a9b/start", "/containers/{id}/start"),
            ("/containers/create?name=berth-inst-abc", "/containers/create"),
            ("/containers/json?all=true&filters=%7B%7D", "/containers/json"),
            ("/containers/abc/archive?path=%2Fflag", "/containers/{id}/archive"),
            ("/containers/abc/stop?t=10", "/containers/{id}/stop"),
            ("/containers/abc?force=true", "/containers/{id}"),
            ("/images/berth/base:latest/json", "/images/{id}/json"),
            ("/images/registry.example.org:5000/team/img:1/tag?repo=x&tag=y", "/images/{id}/tag"),
            ("/exec/9d8e/json", "/exec/{id}/json"),
            ("/networks/create", "/networks/create"),
            ("/networks/net-1", "/networks/{id}"),
            ("/_ping", "/_ping"),
            ("/version", "/version"),
        ]
        for (path, template) in cases {
            #expect(DockerClient.pathTemplate(path) == template, "\(path)")
        }
    }

    @Test("a fresh registry already shows the instance, terminal and byte families at zero")
    func freshExposition() {
        let metrics = BerthMetrics()
        let samples = parseExposition(String(decoding: metrics.exposition(), as: UTF8.self))
        for state in BerthMetrics.activeStates {
            #expect(samples.value("berth_instances", ["state": state]) == 0)
        }
        #expect(samples.value("berth_terminals") == 0)
        #expect(samples.value("berth_terminal_connections") == 0)
        #expect(samples.value("berth_terminal_websocket_bytes_total", ["direction": "in"]) == 0)
        #expect(samples.value("berth_terminal_websocket_bytes_total", ["direction": "out"]) == 0)
    }

    @Test("recordings land in the right families with seconds and buckets")
    func recordings() {
        let metrics = BerthMetrics()
        metrics.instanceStarted(environment: "web", after: .milliseconds(700))
        metrics.instanceStartFailed(environment: "web", code: "image_not_built")
        metrics.httpRequest(method: "BREW", route: .unmatched, status: 404, duration: .milliseconds(2))
        metrics.engineCall(method: "POST", path: "/containers/{id}/start", duration: .milliseconds(40))
        metrics.storeCall("insertInstance(_:)", duration: .microseconds(300))
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let samples = parseExposition(text)
        #expect(samples.value("berth_instance_starts_total", ["environment": "web"]) == 1)
        #expect(samples.value("berth_instance_start_failures_total", ["environment": "web", "code": "image_not_built"]) == 1)
        #expect(samples.value("berth_instance_start_duration_seconds_bucket", ["environment": "web", "le": "0.5"]) == 0)
        #expect(samples.value("berth_instance_start_duration_seconds_bucket", ["environment": "web", "le": "0.75"]) == 1)
        #expect(samples.value("berth_instance_start_duration_seconds_sum", ["environment": "web"]) == 0.7)
        #expect(samples.value("berth_http_requests_total", ["method": "other", "route": "unmatched", "status": "404"]) == 1)
        #expect(samples.value("berth_engine_call_duration_seconds_count", ["method": "POST", "path": "/containers/{id}/start"]) == 1)
        #expect(samples.value("berth_store_call_duration_seconds_count", ["operation": "insertInstance(_:)"]) == 1)
        #expect(text.contains("# TYPE berth_instance_start_duration_seconds histogram"))
        #expect(text.contains("# HELP berth_instances "))
    }

    @Test("swift-metrics instruments made with the application's factory land in its own registry only")
    func swiftMetricsFactory() {
        let metrics = BerthMetrics()
        let other = BerthMetrics()
        Counter(label: "berth_test_events_total", dimensions: [("kind", "a")], factory: metrics.factory).increment(by: 2)
        Timer(label: "berth_test_wait_seconds", factory: metrics.factory).recordMilliseconds(3)
        let samples = parseExposition(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(samples.value("berth_test_events_total", ["kind": "a"]) == 2)
        #expect(samples.value("berth_test_wait_seconds_count") == 1)
        #expect(samples.value("berth_test_wait_seconds_bucket", ["le": "0.005"]) == 1)
        #expect(parseExposition(String(decoding: other.exposition(), as: UTF8.self)).value("berth_test_events_total", ["kind": "a"]) == nil)
    }

    @Test("the token check compares whole tokens")
    func tokenComparison() {
        #expect(Secrets.constantTimeEquals("abcdefghijklmnop", "abcdefghijklmnop"))
        #expect(!Secrets.constantTimeEquals("abcdefghijklmnoq", "abcdefghijklmnop"))
        #expect(!Secrets.constantTimeEquals("abcdefghijklmno", "abcdefghijklmnop"))
        #expect(!Secrets.constantTimeEquals("abcdefghijklmnopq", "abcdefghijklmnop"))
        #expect(!Secrets.constantTimeEquals("", "abcdefghijklmnop"))
    }
}

@Suite("GET /metrics (real store and engine)", .serialized, .timeLimit(.minutes(3)))
struct MetricsAPITests {
    static let token = "metrics-token-0123456789"

    @Test("with neither a token nor an address, /metrics is 404 metrics_disabled and says how to switch it on")
    func disabledByDefault() async throws {
        try await APIHarness.with { harness in
            try await harness.application.test(.router) { client in
                let answer = try await client.call(.get, "/metrics")
                #expect(answer.status == 404)
                #expect(errorCode(answer.body) == "metrics_disabled")
                let message = (answer.body["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("BERTH_METRICS_TOKEN") && message.contains("BERTH_METRICS_ADDRESS"))
                // A user's token does not switch it on either.
                let asAdmin = try await client.call(.get, "/metrics", token: APIHarness.adminToken)
                #expect(asAdmin.status == 404)
            }
        }
    }

    @Test("with a token, /metrics needs exactly it (401 otherwise, even for an admin), needs no user, and is not audited")
    func tokenProtected() async throws {
        try await APIHarness.with(policy: { $0.metricsToken = Self.token }) { harness in
            try await harness.application.test(.router) { client in
                let missing = try await client.call(.get, "/metrics")
                #expect(missing.status == 401)
                #expect(errorCode(missing.body) == "metrics_token_invalid")
                let wrong = try await client.call(.get, "/metrics", token: Self.token + "x")
                #expect(wrong.status == 401)
                #expect(errorCode(wrong.body) == "metrics_token_invalid")
                let userToken = try await client.call(.get, "/metrics", token: APIHarness.adminToken)
                #expect(userToken.status == 401)
                let basic = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Basic \(Self.token)"])
                #expect(basic.status == .unauthorized)

                let scraped = try await client.scrape(token: Self.token)
                #expect(scraped.status == 200)
                #expect(scraped.contentType == BerthMetrics.contentType)
                let samples = parseExposition(scraped.text)
                #expect(samples.value("berth_instances", ["state": "running"]) == 0)
                // The four refusals above were counted under the /metrics route.
                #expect(samples.value("berth_http_requests_total", ["method": "GET", "route": "/metrics", "status": "401"]) == 4)
                // Bootstrapping the admin ran store statements, timed under their store method.
                #expect((samples.value("berth_store_call_duration_seconds_count", ["operation": "createUser(_:)"]) ?? 0) >= 1)

                let audited = try await harness.services.store.audit.auditEntries(AuditQuery(action: "metrics"))
                #expect(audited.isEmpty, "\(audited)")
            }
        }
    }

    @Test("with an address, a separate listener serves /metrics and the main port does not")
    func separateListener() async throws {
        let port = try await freeLoopbackPort()
        try await APIHarness.with(policy: { $0.metricsAddress = ListenAddress(host: "127.0.0.1", port: port) }) { harness in
            try await harness.application.test(.live) { client in
                let main = try await client.call(.get, "/metrics")
                #expect(main.status == 404)
                #expect(errorCode(main.body) == "metrics_not_here")

                let transport = try HTTPTransport(webURL: "http://127.0.0.1:\(port)")
                // The listener is a background service: give it a moment to bind.
                var answer: TransportResponse?
                for _ in 0..<50 {
                    if let response = try? await transport.execute(method: .GET, path: "/metrics", timeout: .seconds(5)) {
                        answer = response
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let response = try #require(answer, "nothing answered on 127.0.0.1:\(port)")
                #expect(response.status == 200)
                #expect(response.headers.first(name: "Content-Type") == BerthMetrics.contentType)
                let samples = parseExposition(String(buffer: response.body))
                #expect(samples.value("berth_http_requests_total", ["method": "GET", "route": "/metrics", "status": "404"]) == 1)
                let other = try await transport.execute(method: .GET, path: "/api/v1/instances", timeout: .seconds(5))
                #expect(other.status == 404, "the metrics listener serves nothing else")
            }
        }
    }

    @Test("a real start and a terminal move the numbers: starts, states, routes, engine and store latency, terminal bytes")
    func liveNumbers() async throws {
        try await APIHarness.with(environments: ["term-shell": shellEnvironment], engine: .docker, policy: { $0.metricsToken = Self.token }) { harness in
            try await harness.application.test(.live) { client in try await withTimeout(60) {
                let before = parseExposition(try await client.scrape(token: Self.token).text)
                #expect(before.value("berth_instance_starts_total", ["environment": "term-shell"]) == nil)

                let (id, token) = try await TerminalTests.start(harness, client: client, player: "metrics-alice")
                let missing = try await client.call(.get, "/api/v1/instances/inst_doesnotexist", token: token)
                #expect(missing.status == 404)
                let nowhere = try await client.call(.get, "/api/v1/no-such-route/\(id)", token: token)
                #expect(nowhere.status == 404)

                let url = try await TerminalTests.ticket(client, id, token: token)
                try await client.ws(url, configuration: TerminalTests.configuration(origin: nil)) { inbound, outbound, _ in
                    var reader = TerminalReader(inbound)
                    try await reader.waitForPrompt()
                    try await outbound.type("echo metrics''-ok\n")
                    try await reader.waitFor("metrics-ok")

                    let scraped = try await client.scrape(token: Self.token)
                    #expect(scraped.status == 200)
                    let samples = parseExposition(scraped.text)
                    #expect(samples.value("berth_instance_starts_total", ["environment": "term-shell"]) == 1)
                    #expect(samples.value("berth_instance_start_duration_seconds_count", ["environment": "term-shell"]) == 1)
                    #expect(samples.value("berth_instances", ["state": "running"]) == 1)
                    #expect(samples.value("berth_instances", ["state": "starting"]) == 0)
                    #expect(samples.value("berth_http_requests_total", ["method": "POST", "route": "/api/v1/instances", "status": "201"]) == 1)
                    #expect(samples.value("berth_http_requests_total", ["method": "GET", "route": "/api/v1/instances/{id}", "status": "404"]) == 1)
                    #expect(
                        (samples.value("berth_http_requests_total", ["route": "unmatched", "status": "404"]) ?? 0) >= 1,
                        "\(scraped.text.split(separator: "\n").filter { $0.hasPrefix("berth_http_requests_total") })"
                    )
                    #expect((samples.value("berth_http_request_duration_seconds_count", ["method": "POST", "route": "/api/v1/instances"]) ?? 0) == 1)
                    #expect((samples.value("berth_engine_call_duration_seconds_count", ["method": "POST", "path": "/containers/{id}/start"]) ?? 0) >= 1)
                    #expect((samples.value("berth_engine_call_duration_seconds_count", ["method": "POST", "path": "/containers/create"]) ?? 0) >= 1)
                    #expect((samples.value("berth_store_call_duration_seconds_count", ["operation": "insertInstance(_:)"]) ?? 0) >= 1)
                    #expect(samples.value("berth_terminals") == 1)
                    #expect(samples.value("berth_terminal_connections") == 1)
                    #expect((samples.value("berth_terminal_websocket_bytes_total", ["direction": "in"]) ?? 0) >= Double("echo metrics''-ok\n".utf8.count))
                    #expect((samples.value("berth_terminal_websocket_bytes_total", ["direction": "out"]) ?? 0) > 0)
                    // Raw paths never become labels.
                    #expect(!scraped.text.contains(id))
                    #expect(!scraped.text.contains("inst_doesnotexist"))
                    #expect(!scraped.text.contains("no-such-route"))
                    try await outbound.close(.normalClosure, reason: nil)
                }
            } }
        }
    }
}
