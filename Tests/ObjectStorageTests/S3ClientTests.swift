import BerthTestSupport
import Foundation
import NIOCore
import ObjectStorage
import Testing

/// The S3 client against a real moto server with signature checking on.
@Suite(
    "S3 client against moto", .serialized,
    .enabled(if: MotoServer.shouldRun, "needs moto[server] (scripts/ensure-moto.sh; BERTH_TEST_MOTO_PYTHON)")
)
struct S3ClientTests {
    /// `count` pseudo-random bytes (not all zeros, so a cut or a shift shows).
    static func randomFile(_ url: URL, bytes count: Int) throws {
        var generator = SystemRandomNumberGenerator()
        var data = Data(count: count)
        data.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < count {
                var word = generator.next()
                let n = min(8, count - offset)
                withUnsafeBytes(of: &word) { buffer.baseAddress?.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
                offset += n
            }
        }
        try data.write(to: url)
    }

    @Test("signature checking is on: a request signed with a wrong secret is refused with 403 SignatureDoesNotMatch")
    func wrongSecretIsRefused() async throws {
        try await MotoServer.with { moto in
            let good = try await moto.client()
            let wrong = S3Credentials(accessKeyID: moto.credentials.accessKeyID, secretAccessKey: moto.credentials.secretAccessKey + "x")
            let bad = try await moto.client(bucket: good.configuration.bucket, credentials: wrong, createBucket: false)
            let error = await #expect(throws: S3Error.self) { _ = try await bad.headObject(key: "anything") }
            // HEAD answers carry no body: the status tells.
            if case .service(let status, _, _) = error { #expect(status == 403) } else { Issue.record("not a service error: \(String(describing: error))") }
            let deleteError = await #expect(throws: S3Error.self) { try await bad.deleteObject(key: "anything") }
            #expect(deleteError?.code == "SignatureDoesNotMatch")
            if case .service(let status, _, _) = deleteError { #expect(status == 403) }
            #expect(deleteError?.description.contains("BERTH_S3_SECRET_ACCESS_KEY") == true)
            #expect(deleteError?.isTransient == false)

            let unknown = try await moto.client(
                bucket: good.configuration.bucket, credentials: S3Credentials(accessKeyID: "AKIAUNKNOWNKEY000000", secretAccessKey: "x"),
                createBucket: false
            )
            let unknownError = await #expect(throws: S3Error.self) { try await unknown.deleteObject(key: "anything") }
            #expect(unknownError?.code == "InvalidAccessKeyId")
            // The right key still works on the same server.
            try await good.deleteObject(key: "anything")
        }
    }

    @Test("a 20 MiB object goes up and comes back byte for byte, with its metadata; delete twice is fine")
    func roundTrip() async throws {
        try await MotoServer.with { moto in
            let client = try await moto.client()
            try await TemporaryDirectory.with { directory in
                let source = directory.path("source.bin")
                try Self.randomFile(source, bytes: 20 << 20)
                let key = "workspaces/ws_round trip.tar"
                let put = try await client.putObject(key: key, fromFile: source, metadata: ["berth-version": "3"], contentType: "application/x-tar")
                #expect(put.size == 20 << 20)

                let head = try #require(try await client.headObject(key: key))
                #expect(head.size == 20 << 20)
                #expect(head.metadata["berth-version"] == "3")

                let copy = directory.path("copy.bin")
                let got = try await client.getObject(key: key, toFile: copy)
                #expect(got.size == 20 << 20)
                #expect(got.metadata["berth-version"] == "3")
                #expect(try Data(contentsOf: copy) == (try Data(contentsOf: source)))

                try await client.deleteObject(key: key)
                #expect(try await client.headObject(key: key) == nil)
                try await client.deleteObject(key: key)
                let missing = await #expect(throws: S3Error.self) { try await client.getObject(key: key, toFile: copy) }
                #expect(missing?.code == "NoSuchKey")
            }
        }
    }

    /// Unicode, `+` and `=` in keys are left to the botocore vectors: moto rebuilds the URL it checks
    /// through werkzeug and refuses botocore's own signatures for such keys too (tried with
    /// botocore 1.44 against moto 5.2.1). Workspace keys are `<prefix>ws_….tar`, plain ASCII.
    @Test("keys with an empty segment, dots and spaces are signed as the server checks them")
    func awkwardKeys() async throws {
        try await MotoServer.with { moto in
            let client = try await moto.client()
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("small.txt", "small\n")
                for key in ["a//b.tar", "dots/./and/../x", "with space/and~tilde_-.tar"] {
                    try await client.putObject(key: key, fromFile: file, metadata: ["berth-version": "1"])
                    let copy = directory.path("copy")
                    try await client.getObject(key: key, toFile: copy)
                    #expect(try String(contentsOf: copy, encoding: .utf8) == "small\n", "key \(key)")
                    try await client.deleteObject(key: key)
                }
            }
        }
    }

    @Test("a missing bucket is a NoSuchBucket error that says what to do")
    func missingBucket() async throws {
        try await MotoServer.with { moto in
            let client = try await moto.client(bucket: "no-such-bucket-here", createBucket: false)
            try await TemporaryDirectory.with { directory in
                let file = try directory.write("f", "x")
                let error = await #expect(throws: S3Error.self) { try await client.putObject(key: "k", fromFile: file) }
                #expect(error?.code == "NoSuchBucket")
                #expect(error?.description.contains("BERTH_S3_BUCKET") == true)
            }
        }
    }

    @Test("an endpoint where nothing listens gives a typed unreachable error at once")
    func unreachable() async throws {
        // A port that was just free: nothing listens there.
        let port = try SilentListener.freePort()
        let client = try S3Client(
            S3Configuration(
                endpoint: "http://127.0.0.1:\(port)", bucket: "b", credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"),
                requestTimeout: .seconds(3)
            )
        )
        let started = ContinuousClock.now
        let error = await #expect(throws: S3Error.self) { _ = try await client.headObject(key: "k") }
        guard case .unreachable = error else { Issue.record("expected unreachable, got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
        // Generous: a refused connection takes milliseconds; the request limit is 3 s.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("an endpoint that accepts but never answers times out within the request limit")
    func silentEndpoint() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = try S3Client(
            S3Configuration(
                endpoint: "http://127.0.0.1:\(listener.port)", bucket: "b", credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"),
                requestTimeout: .seconds(1)
            )
        )
        let started = ContinuousClock.now
        let error = await #expect(throws: S3Error.self) { _ = try await client.headObject(key: "k") }
        guard case .timedOut = error else { Issue.record("expected timedOut, got \(String(describing: error))"); return }
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test("an endpoint with a path or another scheme is refused")
    func invalidEndpoints() {
        for endpoint in ["ftp://host", "http://host/prefix", "s3.amazonaws.com", "http://"] {
            #expect(throws: S3Error.self, "\(endpoint)") {
                _ = try S3Client(S3Configuration(endpoint: endpoint, bucket: "b", credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s")))
            }
        }
    }
}
