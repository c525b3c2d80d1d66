import BerthTestSupport
import Foundation
import ObjectStorage
import Testing

/// The signer against botocore: the same requests signed by both, the `Authorization` headers
/// compared byte for byte. botocore computes its vectors here, in the test, so they are AWS's
/// own reference implementation and not numbers copied from somewhere.
@Suite(
    "SigV4 signer against botocore",
    .enabled(if: MotoServer.shouldRun, "needs python3 with botocore (scripts/ensure-moto.sh; BERTH_TEST_MOTO_PYTHON)")
)
struct SigV4BotocoreTests {
    struct Case: Codable {
        var name: String
        var method: String
        var endpoint: String
        /// The path as sent, already encoded.
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var bodyHex: String
        var region: String
        var accessKeyId: String
        var secret: String
        var token: String?
    }

    struct Signed: Codable {
        var authorization: String
        var sha: String
        var date: String
    }

    /// 2026-11-28T12:34:56Z, the time both sign at.
    static let date = Date(timeIntervalSince1970: 1_795_869_296)

    static let botocoreScript = """
        import datetime, json, sys
        from unittest import mock
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        import botocore.auth
        moment = datetime.datetime(2026, 11, 28, 12, 34, 56)
        out = []
        for case in json.load(sys.stdin):
            request = AWSRequest(method=case["method"], url=case["endpoint"] + case["path"],
                                 headers={name: value for name, value in case["headers"]},
                                 params=[(name, value) for name, value in case["query"]],
                                 data=bytes.fromhex(case["bodyHex"]))
            auth = S3SigV4Auth(Credentials(case["accessKeyId"], case["secret"], case.get("token")), "s3", case["region"])
            if hasattr(botocore.auth, "get_current_datetime"):
                with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
                    auth.add_auth(request)
            else:
                with mock.patch("botocore.auth.datetime") as clock:
                    clock.datetime.utcnow.return_value = moment
                    auth.add_auth(request)
            out.append({"authorization": request.headers["Authorization"],
                        "sha": request.headers["X-Amz-Content-SHA256"], "date": request.headers["X-Amz-Date"]})
        print(json.dumps(out))
        """

    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    static let cases: [Case] = [
        Case(
            name: "GET with a query needing encoding", method: "GET", endpoint: "http://127.0.0.1:9000", path: "/bucket",
            query: [["prefix", "work spaces/ü&="], ["list-type", "2"], ["max-keys", "10"], ["delimiter", "/"], ["a", "b~c*d"]],
            headers: [["host", "127.0.0.1:9000"]], bodyHex: "", region: "us-east-1",
            accessKeyId: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token: nil
        ),
        Case(
            name: "PUT with a body and metadata", method: "PUT", endpoint: "http://minio.internal:9000",
            path: "/berth/" + SigV4Signer.encodePath("workspaces/ws_abc.tar"), query: [],
            headers: [
                ["host", "minio.internal:9000"], ["content-type", "application/x-tar"], ["x-amz-meta-berth-version", "7"],
                ["x-amz-meta-note", "  two   spaces  inside  "],
            ],
            bodyHex: hex("hello, workspace\n"), region: "eu-central-1",
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secret: "secret/with+chars=", token: nil
        ),
        Case(
            name: "unicode key", method: "GET", endpoint: "https://s3.example.com",
            path: "/b/" + SigV4Signer.encodePath("Ünïcødé/日本語 ファイル €.txt"), query: [],
            headers: [["host", "s3.example.com"]], bodyHex: "", region: "ap-northeast-1",
            accessKeyId: "AKIAUNICODE", secret: "k", token: nil
        ),
        Case(
            name: "empty path segment and dots", method: "DELETE", endpoint: "http://127.0.0.1:9000",
            path: "/bucket/" + SigV4Signer.encodePath("a//b/./c/../d"), query: [],
            headers: [["host", "127.0.0.1:9000"]], bodyHex: "", region: "us-east-1",
            accessKeyId: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token: nil
        ),
        Case(
            name: "session token", method: "HEAD", endpoint: "http://127.0.0.1:9000", path: "/bucket/key",
            query: [["versionId", "3"]], headers: [["host", "127.0.0.1:9000"]], bodyHex: "", region: "us-west-2",
            accessKeyId: "ASIATEMPORARY", secret: "temporary-secret", token: "FwoGZXIvYXdzEBQaDOKEN//+=="
        ),
        Case(
            name: "PUT empty body, no session", method: "PUT", endpoint: "http://127.0.0.1:9000", path: "/new-bucket",
            query: [], headers: [["host", "127.0.0.1:9000"]], bodyHex: "", region: "us-east-1",
            accessKeyId: "AKIDEXAMPLE", secret: "s", token: nil
        ),
    ]

    @Test("the Authorization header equals botocore's, byte for byte, for every case")
    func matchesBotocore() throws {
        let input = String(decoding: try JSONEncoder().encode(Self.cases), as: UTF8.self)
        let (status, output) = try MotoServer.runPython(["-c", Self.botocoreScript], input: input)
        try #require(status == 0, "botocore failed: \(output)")
        let line = try #require(output.split(separator: "\n").last.map(String.init))
        let expected = try JSONDecoder().decode([Signed].self, from: Data(line.utf8))
        try #require(expected.count == Self.cases.count)
        for (testCase, reference) in zip(Self.cases, expected) {
            let signer = SigV4Signer(
                credentials: S3Credentials(accessKeyID: testCase.accessKeyId, secretAccessKey: testCase.secret, sessionToken: testCase.token),
                region: testCase.region
            )
            let body = Data(stride(from: 0, to: testCase.bodyHex.count, by: 2).compactMap { offset -> UInt8? in
                let start = testCase.bodyHex.index(testCase.bodyHex.startIndex, offsetBy: offset)
                return UInt8(testCase.bodyHex[start..<testCase.bodyHex.index(start, offsetBy: 2)], radix: 16)
            })
            let hash = SigV4Signer.sha256Hex(body)
            let headers = signer.sign(
                method: testCase.method, encodedPath: testCase.path, query: testCase.query.map { ($0[0], $0[1]) },
                headers: testCase.headers.map { ($0[0], $0[1]) }, payloadHash: hash, date: Self.date
            )
            let authorization = headers.first { $0.0 == "Authorization" }?.1
            #expect(authorization == reference.authorization, "case '\(testCase.name)'")
            #expect(hash == reference.sha, "case '\(testCase.name)'")
            #expect(headers.first { $0.0 == "x-amz-date" }?.1 == reference.date, "case '\(testCase.name)'")
            #expect(headers.contains { $0.0 == "x-amz-security-token" } == (testCase.token != nil))
        }
    }

    @Test("a different secret, region or date changes the signature")
    func signatureDependsOnEverything() {
        let base = SigV4Signer(credentials: S3Credentials(accessKeyID: "A", secretAccessKey: "one"), region: "us-east-1")
        func authorization(_ signer: SigV4Signer, date: Date = Self.date) -> String? {
            signer.sign(method: "GET", encodedPath: "/b/k", headers: [("host", "h")], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
                .first { $0.0 == "Authorization" }?.1
        }
        let reference = authorization(base)
        #expect(reference != authorization(SigV4Signer(credentials: S3Credentials(accessKeyID: "A", secretAccessKey: "two"), region: "us-east-1")))
        #expect(reference != authorization(SigV4Signer(credentials: base.credentials, region: "eu-west-1")))
        #expect(reference != authorization(base, date: Self.date.addingTimeInterval(1)))
    }

    @Test("credentials never show their secret")
    func secretIsRedacted() {
        let credentials = S3Credentials(accessKeyID: "AKIAVISIBLE", secretAccessKey: "very-secret-value", sessionToken: "token-value")
        let texts = ["\(credentials)", String(describing: credentials), String(reflecting: credentials)]
        for text in texts {
            #expect(text.contains("AKIAVISIBLE"))
            #expect(!text.contains("very-secret-value"))
            #expect(!text.contains("token-value"))
        }
    }
}
