import BerthCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import OpenAPIRuntime
import Testing

@testable import BerthHTTP

@Suite("Answers of the generated server as the contract writes them (explicit nulls, raw headers, streamed downloads)")
struct ContractAnswersTests {
    @Test("the shipped contract asks for the nulls of a catalog entry and the headers of both downloads")
    func shippedIndex() throws {
        let shipped = ContractAnswers.shipped
        let entry = try #require(shipped["getEnvironment"]?.nulls[200])
        #expect(entry.keys.contains("attemptsLeft"))
        #expect(entry.properties["hints"]?.items?.keys == ["content"])
        let list = try #require(shipped["listEnvironments"]?.nulls[200])
        #expect(list.properties["items"]?.items?.keys.contains("attemptsLeft") == true)
        let attachment = try #require(shipped["downloadAttachment"])
        #expect(attachment.headers.isSuperset(of: [.contentDisposition, .cacheControl, .contentLength]))
        let recording = try #require(shipped["downloadRecording"])
        #expect(recording.headers.isSuperset(of: [.contentDisposition, .contentRange, .acceptRanges]))
        #expect(recording.ignoresAccept && attachment.ignoresAccept)
        #expect(shipped["getEnvironment"]?.ignoresAccept == false)
        // An operation without nullable required keys or headers is served as generated.
        #expect(shipped["healthz"] == nil)
    }

    @Test("a required nullable key left out is written as null, nested in arrays and allOf; declared headers go out unescaped")
    func repairs() async throws {
        let yaml = """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /things:
            get:
              operationId: things
              responses:
                '200':
                  description: ok
                  headers:
                    Content-Disposition:
                      schema: {type: string}
                  content:
                    application/json:
                      schema: {$ref: '#/components/schemas/List'}
        components:
          schemas:
            Base:
              type: object
              required: [name, note]
              properties:
                name: {type: string}
                note: {type: [string, 'null']}
                other: {type: [string, 'null']}
            List:
              type: object
              required: [items]
              properties:
                items:
                  type: array
                  items:
                    allOf:
                    - $ref: '#/components/schemas/Base'
                    - type: object
                      required: [left]
                      properties:
                        left: {type: [integer, 'null']}
        """
        let index = try ContractAnswers.index(yaml: yaml)
        let handler: ContractAnswers.Handler = { _, _, _ in
            var response = HTTPResponse(status: .ok)
            response.headerFields[.contentType] = "application/json; charset=utf-8"
            response.headerFields[.contentDisposition] = "attachment%3B%20filename%3D%22a%20b%22%3B%20filename%2A%3DUTF-8%27%27a%2520b"
            response.headerFields[.contentLength] = "48"
            return (response, HTTPBody(#"{"items":[{"name":"x","left":3},{"name":"y","note":"n"}],"n":1.5,"b":true}"#))
        }
        let repaired = ContractAnswers.repairing(handler, operation: "things", index: index)
        let (response, body) = try await repaired(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/things"), nil, .init())
        #expect(response.headerFields[.contentDisposition] == "attachment; filename=\"a b\"; filename*=UTF-8''a%20b")
        let data = try await Data(collecting: try #require(body), upTo: 1 << 20)
        #expect(response.headerFields[.contentLength] == String(data.count))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let items = try #require(object["items"] as? [[String: Any]])
        #expect(items.count == 2)
        #expect(items[0]["note"] is NSNull && items[0]["left"] as? Int == 3)
        #expect(items[1]["note"] as? String == "n" && items[1]["left"] is NSNull)
        // Keys that are not required stay out; other values keep their JSON types.
        #expect(items[0]["other"] == nil)
        #expect(object["n"] as? Double == 1.5)
        #expect(object["b"] as? Bool == true)
        // Operations the index does not name are served exactly as the handler answers.
        let untouched = ContractAnswers.repairing(handler, operation: "other", index: index)
        let (plain, _) = try await untouched(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/other"), nil, .init())
        #expect(plain.headerFields[.contentDisposition]?.hasPrefix("attachment%3B") == true)
    }

    @Test("a recording downloads whole, from an offset (206) or not at all past its end (416), with its headers; HEAD sends the headers only")
    func recordingDownloadHeaders() async throws {
        try await APIHarness.with { harness in
            let folder = harness.directory.appendingPathComponent("recordings/inst_dl", isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let text = "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":0,\"env\":{}}\n[0.5,\"o\",\"hello\"]\n"
            let path = "recordings/inst_dl/main-rec_dl.cast"
            try text.write(to: harness.directory.appendingPathComponent(path), atomically: true, encoding: .utf8)
            let size = text.utf8.count
            try await harness.services.store.recordings.insertRecording(RecordingRecord(
                id: "rec_dl", instanceID: "inst_dl", environment: "term-shell", owner: Owner(kind: .user, id: "usr_x"), terminal: "main",
                path: path, startedAt: Date().addingTimeInterval(-60), endedAt: Date()
            ))
            try await harness.application.test(.router) { client in
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(APIHarness.adminToken)"
                let whole = try await client.execute(uri: "/api/v1/recordings/rec_dl/cast", method: .get, headers: headers)
                #expect(whole.status == .ok)
                #expect(String(buffer: whole.body) == text)
                #expect(whole.headers[.contentType] == "application/x-asciicast")
                #expect(whole.headers[.contentDisposition] == "attachment; filename=\"rec_dl.cast\"")
                #expect(whole.headers[.acceptRanges] == "bytes")
                #expect(whole.headers[.contentLength] == String(size))
                #expect(whole.headers[.cacheControl] == "no-store")
                // The pages' fetch helper asks for JSON on every call; a download answers its bytes anyway.
                headers[.accept] = "application/json"
                let asked = try await client.execute(uri: "/api/v1/recordings/rec_dl/cast", method: .get, headers: headers)
                #expect(asked.status == .ok && String(buffer: asked.body) == text)
                headers[.accept] = nil

                let head = try await client.execute(uri: "/api/v1/recordings/rec_dl/cast", method: .head, headers: headers)
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                #expect(head.headers[.contentLength] == String(size))
                #expect(head.headers[.contentDisposition] == "attachment; filename=\"rec_dl.cast\"")

                headers[.range] = "bytes=10-"
                let tail = try await client.execute(uri: "/api/v1/recordings/rec_dl/cast", method: .get, headers: headers)
                #expect(tail.status == .partialContent)
                #expect(String(buffer: tail.body) == String(text.dropFirst(10)))
                #expect(tail.headers[.contentRange] == "bytes 10-\(size - 1)/\(size)")
                #expect(tail.headers[.contentLength] == String(size - 10))

                headers[.range] = "bytes=\(size)-"
                let beyond = try await client.execute(uri: "/api/v1/recordings/rec_dl/cast", method: .get, headers: headers)
                #expect(beyond.status == .rangeNotSatisfiable)
                #expect(beyond.headers[.contentRange] == "bytes */\(size)")
                #expect(beyond.body.readableBytes == 0)

                // The audit log still takes times with fractional seconds.
                let since = try await client.call(.get, "/api/v1/audit?since=2020-01-01T00:00:00.250Z&limit=5", token: APIHarness.adminToken)
                #expect(since.status == 200)
                let tooMany = try await client.call(.get, "/api/v1/audit?limit=5000", token: APIHarness.adminToken)
                #expect(tooMany.status == 400 && errorCode(tooMany.body) == "invalid_query")
            }
        }
    }
}
