import Foundation
import HTTPTransport
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Told about one finished Engine API call: its method, path template and duration.
public typealias DockerCallObserver = @Sendable (_ method: String, _ pathTemplate: String, _ duration: Duration) -> Void

/// A client for the Docker Engine API (version 1.41 and later) over a Unix socket or TCP.
public struct DockerClient: Sendable {
    /// The API version every path is prefixed with: the floor Berth supports.
    public static let apiVersion = "1.41"

    /// The limit of an ordinary call when none is given: `BERTH_ENGINE_TIMEOUT`'s default.
    public static let defaultTimeout: Duration = .seconds(30)

    /// The transport to the daemon.
    public let transport: HTTPTransport
    /// How long an ordinary call (everything but builds, the event stream and exec output) may
    /// take before it fails as unreachable: a wedged engine must not hang Berth.
    public let timeout: Duration
    /// Told about every ordinary call once it ends (answered, refused or failed), with its method,
    /// ``pathTemplate(_:)`` and duration: Berth's metrics time engine calls with it.
    public var callObserver: DockerCallObserver?

    /// Creates a client for `address` whose ordinary calls fail after `timeout`. With `tls`, every
    /// connection to a TCP address (ordinary calls and hijacked exec streams alike) is mutual TLS,
    /// verified against the address's host; engines never serve TLS on a Unix socket, so there
    /// `tls` is not used.
    public init(address: TransportAddress, tls: EngineTLS? = nil, timeout: Duration = DockerClient.defaultTimeout) {
        if let tls, case .tcp(let host, _) = address {
            self.transport = HTTPTransport(address: address, tls: tls.transportTLS(host: host))
        } else {
            self.transport = HTTPTransport(address: address)
        }
        self.timeout = timeout
    }

    /// A client for `DOCKER_HOST` when set, otherwise `unix:///var/run/docker.sock`. As with the
    /// `docker` CLI, a non-empty `DOCKER_TLS_VERIFY` makes a TCP connection mutual TLS with the
    /// files in `DOCKER_CERT_PATH` (default `~/.docker`).
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Duration = DockerClient.defaultTimeout
    ) throws -> DockerClient {
        let url = environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "unix:///var/run/docker.sock"
        let address: TransportAddress
        do {
            address = try TransportAddress(url: url)
        } catch {
            throw DockerError(status: 0, message: "DOCKER_HOST: \(error)", operation: "connect")
        }
        guard case .tcp = address, let verify = environment["DOCKER_TLS_VERIFY"], !verify.isEmpty else {
            return DockerClient(address: address, timeout: timeout)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let directory = environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.docker"
        do {
            return DockerClient(address: address, tls: try EngineTLS.load(directory: directory), timeout: timeout)
        } catch {
            throw DockerError(status: 0, message: "DOCKER_TLS_VERIFY: \(error)", operation: "connect")
        }
    }

    // MARK: - System

    /// `GET /_ping`: succeeds when the daemon answers within `timeout` (default: the client's).
    public func ping(timeout: Duration? = nil) async throws {
        _ = try await call(.GET, "/_ping", operation: "ping", versioned: false, timeout: timeout)
    }

    /// The engine's own clock, from the `Date` header of a ping: servers on several hosts that
    /// share one engine compare times on this clock, not their own.
    public func engineTime() async throws -> Date {
        let response = try await call(.GET, "/_ping", operation: "ping", versioned: false)
        guard let header = response.headers.first(name: "Date"), let date = Self.httpDate(header) else {
            throw DockerError(status: 0, message: "the engine's answer has no valid Date header", operation: "ping")
        }
        return date
    }

    /// Parses an HTTP date (`Sat, 28 Nov 2026 09:04:16 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// `GET /version`; fails when the daemon speaks an API older than ``apiVersion``.
    public func version() async throws -> EngineVersion {
        let version: EngineVersion = try await decode(call(.GET, "/version", operation: "version", versioned: false))
        guard Self.compare(version.apiVersion, Self.apiVersion) >= 0 else {
            throw DockerError(status: 0, message: "engine API \(version.apiVersion) is older than the required \(Self.apiVersion); upgrade Docker to 20.10 or later", operation: "version")
        }
        return version
    }

    // MARK: - Containers

    /// `POST /containers/create`; returns the new container's id.
    public func createContainer(name: String?, _ request: ContainerCreateRequest) async throws -> String {
        var path = "/containers/create"
        if let name { path += "?name=" + Self.escape(name) }
        struct Created: Decodable { var Id: String }
        let created: Created = try await decode(call(.POST, path, json: request, operation: "create container"))
        return created.Id
    }

    /// `POST /containers/{id}/start`.
    public func startContainer(_ id: String) async throws {
        _ = try await call(.POST, "/containers/\(Self.escape(id))/start", operation: "start container", accept: [204, 304])
    }

    /// `POST /containers/{id}/stop` with a grace period before SIGKILL.
    public func stopContainer(_ id: String, timeoutSeconds: Int = 10) async throws {
        _ = try await call(.POST, "/containers/\(Self.escape(id))/stop?t=\(timeoutSeconds)", operation: "stop container", accept: [204, 304])
    }

    /// `DELETE /containers/{id}`; `force` kills a running container first.
    public func removeContainer(_ id: String, force: Bool = true) async throws {
        _ = try await call(.DELETE, "/containers/\(Self.escape(id))?force=\(force)&v=true", operation: "remove container", accept: [204])
    }

    /// `GET /containers/{id}/json`.
    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        try await decode(call(.GET, "/containers/\(Self.escape(id))/json", operation: "inspect container"))
    }

    /// `GET /containers/json?all=true` filtered by labels (`key` or `key=value`).
    public func listContainers(labels: [String], all: Bool = true) async throws -> [ContainerSummary] {
        let filters = try Self.filters(["label": labels])
        return try await decode(call(.GET, "/containers/json?all=\(all)&filters=\(filters)", operation: "list containers"))
    }

    // MARK: - Networks

    /// `POST /networks/create`; returns the network id.
    public func createNetwork(_ request: NetworkCreateRequest) async throws -> String {
        struct Created: Decodable { var Id: String }
        let created: Created = try await decode(call(.POST, "/networks/create", json: request, operation: "create network"))
        return created.Id
    }

    /// `DELETE /networks/{id}`.
    public func removeNetwork(_ id: String) async throws {
        _ = try await call(.DELETE, "/networks/\(Self.escape(id))", operation: "remove network", accept: [200, 204])
    }

    /// `GET /networks` filtered by labels.
    public func listNetworks(labels: [String]) async throws -> [NetworkSummary] {
        let filters = try Self.filters(["label": labels])
        return try await decode(call(.GET, "/networks?filters=\(filters)", operation: "list networks"))
    }

    // MARK: - Images

    /// `GET /images/{name}/json`.
    public func inspectImage(_ reference: String) async throws -> ImageInspect {
        try await decode(call(.GET, "/images/\(Self.escape(reference))/json", operation: "inspect image"))
    }

    /// `GET /images/json`, optionally filtered by labels.
    public func listImages(labels: [String] = []) async throws -> [ImageSummary] {
        let filters = try Self.filters(labels.isEmpty ? [:] : ["label": labels])
        return try await decode(call(.GET, "/images/json?filters=\(filters)", operation: "list images"))
    }

    /// `POST /images/create?fromSrc=-`: makes an image of the root file system in `rootfsTar`
    /// (what `docker import` does) tagged `repository:tag`, without a registry; returns its id.
    public func importImage(rootfsTar: [UInt8], repository: String, tag: String) async throws -> String {
        _ = try await call(
            .POST, "/images/create?fromSrc=-&repo=\(Self.escape(repository))&tag=\(Self.escape(tag))",
            body: ByteBuffer(bytes: rootfsTar), contentType: "application/x-tar", operation: "import image"
        )
        return try await inspectImage("\(repository):\(tag)").id
    }

    /// `POST /images/{name}/tag`: adds the tag `repository:tag` to an image.
    public func tagImage(_ reference: String, repository: String, tag: String) async throws {
        _ = try await call(
            .POST, "/images/\(Self.escape(reference))/tag?repo=\(Self.escape(repository))&tag=\(Self.escape(tag))",
            operation: "tag image", accept: [200, 201]
        )
    }

    /// `DELETE /images/{name}`.
    public func removeImage(_ reference: String, force: Bool = false) async throws {
        _ = try await call(.DELETE, "/images/\(Self.escape(reference))?force=\(force)", operation: "remove image")
    }

    /// `POST /build` from a tar context, reporting each progress line; returns the image id.
    /// Fails with the builder's own message when a step fails.
    public func buildImage(
        context: [UInt8], tag: String, labels: [String: String] = [:], noCache: Bool = false,
        progress: @Sendable (BuildProgress) async -> Void = { _ in }
    ) async throws -> String {
        let labelJSON = try Self.jsonText(labels)
        let path = "/v\(Self.apiVersion)/build?t=\(Self.escape(tag))&labels=\(Self.escape(labelJSON))&rm=true&forcerm=true&nocache=\(noCache)"
        let headers = [("Content-Type", "application/x-tar")]
        return try await transport.stream(method: .POST, path: path, headers: headers, body: ByteBuffer(bytes: context)) { head, reader in
            var lines = JSONLineSplitter()
            var collected = ByteBuffer()
            var imageID: String?
            while let chunk = try await reader.next() {
                if head.status != 200 {
                    var copy = chunk
                    collected.writeBuffer(&copy)
                    continue
                }
                for line in lines.feed(chunk) {
                    guard let item = try? JSONDecoder().decode(BuildProgress.self, from: line) else { continue }
                    if let error = item.error {
                        throw DockerError(status: 500, message: error.trimmingCharacters(in: .whitespacesAndNewlines), operation: "build image \(tag)")
                    }
                    if let id = item.aux?.id { imageID = id }
                    await progress(item)
                }
            }
            guard head.status == 200 else {
                throw Self.error(status: head.status, body: collected, operation: "build image \(tag)")
            }
            if let imageID { return imageID }
            return try await inspectImage(tag).id
        }
    }

    // MARK: - Events

    /// `GET /events` with filters; calls `handle` for each event until it returns false, the
    /// `until` time (Unix seconds) passes, or the task is cancelled.
    public func events(
        filters: [String: [String]], since: Int? = nil, until: Int? = nil,
        _ handle: @Sendable (DockerEvent) async -> Bool
    ) async throws {
        var path = "/v\(Self.apiVersion)/events?filters=\(try Self.filters(filters))"
        if let since { path += "&since=\(since)" }
        if let until { path += "&until=\(until)" }
        try await transport.stream(method: .GET, path: path) { head, reader in
            var collected = ByteBuffer()
            var lines = JSONLineSplitter()
            while let chunk = try await reader.next() {
                guard head.status == 200 else {
                    var copy = chunk
                    collected.writeBuffer(&copy)
                    continue
                }
                for line in lines.feed(chunk) {
                    guard let event = try? JSONDecoder().decode(DockerEvent.self, from: line) else { continue }
                    if await !handle(event) { return }
                }
            }
            if head.status != 200 { throw Self.error(status: head.status, body: collected, operation: "events") }
        }
    }

    // MARK: - Exec

    /// Runs `command` in a running container without a TTY and returns its exit code and output.
    /// The output stream has no time limit unless `outputTimeout` is given (checks may run long);
    /// the calls around it have the client's.
    public func exec(
        _ containerID: String, command: [String], user: String? = nil, workingDir: String? = nil, env: [String] = [],
        maxOutputBytes: Int = 16 << 20, outputTimeout: Duration? = nil
    ) async throws -> ExecResult {
        let execID = try await createPlainExec(
            containerID, PlainExecRequest(command: command, user: user, workingDir: workingDir, env: env), attachStdin: false
        )
        let start = try JSONSerialization.data(withJSONObject: ["Detach": false, "Tty": false])
        let output: (stdout: [UInt8], stderr: [UInt8])
        do {
            output = try await execOutput(execID, start: start, maxOutputBytes: maxOutputBytes, outputTimeout: outputTimeout)
        } catch let error as TransportError {
            throw DockerError(status: 0, message: "\(error)", operation: "start exec")
        }
        struct ExecInspect: Decodable {
            var ExitCode: Int?
            var Running: Bool
        }
        var inspect: ExecInspect = try await decode(call(.GET, "/exec/\(execID)/json", operation: "inspect exec"))
        var attempts = 0
        while inspect.Running && attempts < 50 {
            try await Task.sleep(for: .milliseconds(20))
            inspect = try await decode(call(.GET, "/exec/\(execID)/json", operation: "inspect exec"))
            attempts += 1
        }
        return ExecResult(
            exitCode: inspect.ExitCode ?? -1,
            stdout: String(decoding: output.stdout, as: UTF8.self),
            stderr: String(decoding: output.stderr, as: UTF8.self)
        )
    }

    /// `POST /containers/{id}/exec` for a command without a TTY that writes to stdout and stderr:
    /// the new exec's id.
    func createPlainExec(_ containerID: String, _ request: PlainExecRequest, attachStdin: Bool) async throws -> String {
        struct ExecCreate: Encodable {
            var AttachStdin: Bool
            var AttachStdout = true
            var AttachStderr = true
            var Tty = false
            var Cmd: [String]
            var User: String?
            var WorkingDir: String?
            var Env: [String]
        }
        struct Created: Decodable { var Id: String }
        let create = ExecCreate(AttachStdin: attachStdin, Cmd: request.command, User: request.user, WorkingDir: request.workingDir, Env: request.env)
        let created: Created = try await decode(call(.POST, "/containers/\(Self.escape(containerID))/exec", json: create, operation: "create exec"))
        return created.Id
    }

    /// Starts an exec attached and collects its demultiplexed output.
    private func execOutput(
        _ execID: String, start: Data, maxOutputBytes: Int, outputTimeout: Duration?
    ) async throws -> (stdout: [UInt8], stderr: [UInt8]) {
        try await transport.stream(
            method: .POST, path: "/v\(Self.apiVersion)/exec/\(execID)/start",
            headers: [("Content-Type", "application/json")], body: ByteBuffer(data: start),
            timeout: outputTimeout.map { .nanoseconds(Self.nanoseconds($0)) }
        ) { head, reader -> (stdout: [UInt8], stderr: [UInt8]) in
            var demultiplexer = StreamDemultiplexer()
            var stdout: [UInt8] = []
            var stderr: [UInt8] = []
            var raw = ByteBuffer()
            while let chunk = try await reader.next() {
                guard head.status == 200 else {
                    var copy = chunk
                    raw.writeBuffer(&copy)
                    continue
                }
                for (stream, payload) in demultiplexer.feed(chunk) {
                    if stream == .stderr { stderr += payload.readableBytesView } else { stdout += payload.readableBytesView }
                }
                if stdout.count + stderr.count > maxOutputBytes {
                    throw DockerError(status: 0, message: "exec output exceeded \(maxOutputBytes) bytes", operation: "exec")
                }
            }
            guard head.status == 200 else { throw Self.error(status: head.status, body: raw, operation: "start exec") }
            return (stdout, stderr)
        }
    }

    // MARK: - Archives

    /// `GET /containers/{id}/archive?path=…`: the path as a tar archive.
    public func getArchive(_ containerID: String, path: String) async throws -> [UInt8] {
        let response = try await call(.GET, "/containers/\(Self.escape(containerID))/archive?path=\(Self.escape(path))", operation: "get archive")
        return [UInt8](response.body.readableBytesView)
    }

    /// `PUT /containers/{id}/archive?path=…`: extracts a tar archive into the directory `path`.
    public func putArchive(_ containerID: String, path: String, tar: [UInt8]) async throws {
        _ = try await call(
            .PUT, "/containers/\(Self.escape(containerID))/archive?path=\(Self.escape(path))",
            body: ByteBuffer(bytes: tar), contentType: "application/x-tar", operation: "put archive"
        )
    }

    // MARK: - Plumbing

    /// Calls the Engine API and returns the response, or throws the daemon's error.
    func call(
        _ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, body: ByteBuffer? = nil, contentType: String? = nil,
        operation: String, accept: Set<Int> = [200, 201, 204], versioned: Bool = true, timeout: Duration? = nil
    ) async throws -> TransportResponse {
        var payload = body
        var headers: [(String, String)] = []
        if let json {
            payload = ByteBuffer(data: try JSONEncoder().encode(json))
            headers.append(("Content-Type", "application/json"))
        } else if let contentType {
            headers.append(("Content-Type", contentType))
        }
        let fullPath = versioned ? "/v\(Self.apiVersion)\(path)" : path
        let response: TransportResponse
        let started = ContinuousClock.now
        defer { callObserver?(method.rawValue, Self.pathTemplate(path), ContinuousClock.now - started) }
        do {
            let limit = timeout ?? self.timeout
            response = try await transport.execute(
                method: method, path: fullPath, headers: headers, body: payload, timeout: .nanoseconds(Self.nanoseconds(limit))
            )
        } catch let error as TransportError where error.isTimeout {
            throw DockerError(
                status: 0, message: "\(error) (the engine accepted the connection but is not answering; BERTH_ENGINE_TIMEOUT sets the limit)",
                operation: operation
            )
        } catch {
            throw DockerError(status: 0, message: "\(error)", operation: operation)
        }
        guard accept.contains(response.status) || (200..<300).contains(response.status) else {
            throw Self.error(status: response.status, body: response.body, operation: operation)
        }
        return response
    }

    /// Words of the Engine API's paths. Any other segment is an id or a name and becomes `{id}`
    /// (an image name's own slashes too), so templates stay few whatever the names are.
    static let pathWords: Set<String> = [
        "_ping", "archive", "attach", "build", "changes", "commit", "configs", "connect", "containers", "create", "df",
        "disconnect", "distribution", "events", "exec", "export", "get", "history", "images", "info", "json", "kill", "load",
        "logs", "networks", "nodes", "pause", "plugins", "prune", "push", "rename", "resize", "restart", "search", "secrets",
        "services", "session", "start", "stats", "stop", "swarm", "system", "tag", "tasks", "top", "unpause", "update",
        "version", "volumes", "wait",
    ]

    /// The template of an Engine API path, for metrics: no query, no version prefix, and every
    /// id or name replaced by `{id}` (`/containers/3f2a…/start?x=1` → `/containers/{id}/start`).
    public static func pathTemplate(_ path: String) -> String {
        let withoutQuery = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var segments: [String] = []
        for (index, segment) in withoutQuery.split(separator: "/").enumerated() {
            if index == 0 && segment.hasPrefix("v") && segment.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) && segment.count > 1 { continue }
            let word = pathWords.contains(String(segment)) ? String(segment) : "{id}"
            if word == "{id}" && segments.last == "{id}" { continue }
            segments.append(word)
        }
        return "/" + segments.joined(separator: "/")
    }

    func decode<T: Decodable>(_ response: TransportResponse) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw DockerError(status: 0, message: "unexpected answer from the engine: \(error)", operation: "decode \(T.self)")
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static func error(status: Int, body: ByteBuffer, operation: String) -> DockerError {
        struct Message: Decodable { var message: String }
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        let message = (try? JSONDecoder().decode(Message.self, from: body))?.message ?? text.trimmingCharacters(in: .whitespacesAndNewlines)
        return DockerError(status: status, message: message.isEmpty ? "HTTP \(status)" : message, operation: operation)
    }

    static func filters(_ filters: [String: [String]]) throws -> String {
        escape(try jsonText(filters.filter { !$0.value.isEmpty }))
    }

    static func jsonText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Compares dotted version strings numerically (`1.41` < `1.45`).
    static func compare(_ left: String, _ right: String) -> Int {
        let a = left.split(separator: ".").map { Int($0) ?? 0 }
        let b = right.split(separator: ".").map { Int($0) ?? 0 }
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}

/// Splits a stream of newline-separated JSON documents into complete lines.
struct JSONLineSplitter {
    private var pending: [UInt8] = []

    mutating func feed(_ chunk: ByteBuffer) -> [Data] {
        pending += chunk.readableBytesView
        var lines: [Data] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[..<newline]
            if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { lines.append(Data(line)) }
            pending.removeSubrange(...newline)
        }
        return lines
    }
}
