import Foundation
import ObjectStorage
import Synchronization

/// moto's S3-compatible server on loopback with signature checking on, started by
/// `scripts/moto-server.py` for a test (or a suite) and stopped by it. The server dies with the
/// test process too (the script watches its parent and its standard input).
///
/// The Python that runs it is `BERTH_TEST_MOTO_PYTHON` (`make test` sets it to the venv
/// `scripts/ensure-moto.sh` makes), else `python3`. Without moto there, ``unavailableReason`` says
/// why; tests skip locally and fail in CI (`CI=true`), where `make test` installs it.
public final class MotoServer: Sendable {
    /// The endpoint, e.g. `http://127.0.0.1:41234`.
    public let endpoint: String
    /// The port it listens on (a restarted server takes the same one).
    public let port: Int
    /// The region.
    public let region: String
    /// An access key moto knows (the same for the same seed), allowed everything.
    public let credentials: S3Credentials
    private let process: Process
    private let input: Pipe

    private init(endpoint: String, port: Int, region: String, credentials: S3Credentials, process: Process, input: Pipe) {
        self.endpoint = endpoint
        self.port = port
        self.region = region
        self.credentials = credentials
        self.process = process
        self.input = input
    }

    /// The interpreter that runs moto.
    public static var python: String {
        let configured = ProcessInfo.processInfo.environment["BERTH_TEST_MOTO_PYTHON"] ?? ""
        return configured.isEmpty ? "python3" : configured
    }

    /// True in CI, where a missing moto or botocore is a failure, never a skip.
    public static var requiredByCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// `scripts/moto-server.py` of this checkout.
    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/moto-server.py")
    }

    private static let probe = Mutex<String??>(nil)

    /// Why moto cannot run here (nil when it can): checked once per process.
    public static var unavailableReason: String? {
        probe.withLock { cached in
            if let cached { return cached }
            let reason: String?
            do {
                let (status, output) = try runPython(["-c", "import moto.server, botocore.auth, flask"])
                reason = status == 0 ? nil : "\(python) cannot import moto's server (\(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(200))); run scripts/ensure-moto.sh and set BERTH_TEST_MOTO_PYTHON=<venv>/bin/python"
            } catch {
                reason = "cannot run \(python): \(error)"
            }
            cached = .some(reason)
            return reason
        }
    }

    /// True when tests that need moto should run: it is there, or CI requires it (and the test fails).
    public static var shouldRun: Bool { unavailableReason == nil || requiredByCI }

    /// Runs the interpreter with `arguments` and returns its status and combined output.
    public static func runPython(_ arguments: [String], input: String? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts a server on `port` (0: a free one). The same `seed` gives the same access key, so a
    /// server started again on the same port serves the same client.
    public static func start(port: Int = 0, seed: Int = 4242) async throws -> MotoServer {
        if let reason = unavailableReason { throw FixtureError("moto is not available: \(reason)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script.path, "--host", "127.0.0.1", "--port", "\(port)", "--seed", "\(seed)", "--until-stdin-closes"]
        let input = Pipe()
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("berth-moto-\(UniqueName.make()).log")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errorHandle
        try process.run()
        let line = await firstLine(of: output.fileHandleForReading, within: .seconds(60))
        struct Started: Decodable {
            var endpoint: String
            var region: String
            var accessKeyId: String
            var secretAccessKey: String
        }
        guard let line, let started = try? JSONDecoder().decode(Started.self, from: Data(line.utf8)) else {
            process.terminate()
            process.waitUntilExit()
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: errors)
            throw FixtureError("moto did not start on port \(port): \(line ?? "no output"); its log: \(log.suffix(2000))")
        }
        try? FileManager.default.removeItem(at: errors)
        let actualPort = Int(started.endpoint.split(separator: ":").last ?? "") ?? port
        return MotoServer(
            endpoint: started.endpoint, port: actualPort, region: started.region,
            credentials: S3Credentials(accessKeyID: started.accessKeyId, secretAccessKey: started.secretAccessKey),
            process: process, input: input
        )
    }

    /// Stops the server and waits for it to exit (its port is free afterwards).
    public func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Runs `body` with a fresh server, stopped afterwards, also when `body` throws.
    public static func with<Result>(_ body: (MotoServer) async throws -> Result) async throws -> Result {
        let server = try await start()
        defer { server.stop() }
        return try await body(server)
    }

    /// A client for a new bucket on this server (created), with these credentials by default.
    public func client(bucket: String? = nil, credentials: S3Credentials? = nil, createBucket: Bool = true) async throws -> S3Client {
        let client = try S3Client(
            S3Configuration(
                endpoint: endpoint, bucket: bucket ?? "berth-\(UniqueName.make().lowercased())", region: region,
                credentials: credentials ?? self.credentials, requestTimeout: .seconds(30)
            )
        )
        if createBucket { try await client.createBucket() }
        return client
    }

    /// The first line `handle` yields, or nil at its end or after `limit`.
    static func firstLine(of handle: FileHandle, within limit: Duration) async -> String? {
        let result = Mutex<(done: Bool, continuation: CheckedContinuation<String?, Never>?)>((false, nil))
        return await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            result.withLock { $0.continuation = continuation }
            let finish: @Sendable (String?) -> Void = { line in
                let waiting = result.withLock { state -> CheckedContinuation<String?, Never>? in
                    guard !state.done else { return nil }
                    state.done = true
                    return state.continuation
                }
                waiting?.resume(returning: line)
            }
            Thread.detachNewThread {
                var collected = Data()
                while true {
                    let data = handle.availableData
                    if data.isEmpty { finish(nil); return }
                    collected.append(data)
                    if let newline = collected.firstIndex(of: UInt8(ascii: "\n")) {
                        finish(String(decoding: collected[..<newline], as: UTF8.self))
                        return
                    }
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                finish(nil)
            }
        }
    }
}
