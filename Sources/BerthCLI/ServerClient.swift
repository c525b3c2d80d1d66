import ArgumentParser
import BerthCore
import Foundation
import HTTPTransport
import NIOCore
import NIOHTTP1

/// `--server` and `--token` for commands that talk to a running server.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server URL (default: BERTH_URL or http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "API token (default: BERTH_TOKEN, then BERTH_ADMIN_TOKEN).")
    var token: String?

    func client() throws -> ServerClient {
        let environment = ProcessInfo.processInfo.environment
        let url = server ?? environment["BERTH_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let secret = token ?? environment["BERTH_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 })
            ?? environment["BERTH_ADMIN_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 })
        else {
            throw ValidationError("Pass --token (or set BERTH_TOKEN): these commands act through the server's API.")
        }
        do {
            return ServerClient(transport: HTTPTransport(address: try TransportAddress(url: url)), token: secret)
        } catch {
            throw ValidationError("--server: '\(url)' is not an http://host:port address.")
        }
    }
}

/// A small client for Berth's REST API, used by the CLI.
struct ServerClient {
    let transport: HTTPTransport
    let token: String

    /// Calls the API and decodes the answer; an error answer becomes a ``BerthError``.
    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil, as type: T.Type) async throws -> T {
        let data = try await send(method, path, body: body)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw BerthError.internal("unexpected_answer", "The server's answer to \(method) \(path) could not be read: \(error)")
        }
    }

    /// Calls the API and returns the answer's body; an error answer becomes a ``BerthError``.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil) async throws -> Data {
        var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        var payload: ByteBuffer?
        if let body {
            payload = ByteBuffer(bytes: try JSONEncoder().encode(body))
            headers.append(("Content-Type", "application/json"))
        }
        let response: TransportResponse
        do {
            response = try await transport.execute(method: method, path: path, headers: headers, body: payload)
        } catch {
            throw BerthError.unavailable("server_unreachable", "Cannot reach the Berth server at \(transport.address): \(error). Is `berth serve` running?")
        }
        let data = Data(response.body.readableBytesView)
        guard (200..<300).contains(response.status) else {
            if let envelope = try? JSONDecoder().decode(ErrorAnswer.self, from: data) {
                throw BerthError(code: envelope.error.code, message: envelope.error.message, status: response.status)
            }
            throw BerthError(code: "http_\(response.status)", message: response.bodyText, status: response.status)
        }
        return data
    }

    /// `name=value` pairs joined with `&`, values escaped; pairs without a value are left out.
    static func queryString(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { name, value in value.map { "\(name)=\(pathSegment($0))" } }.joined(separator: "&")
    }

    /// `text` escaped for use as one path segment.
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private struct ErrorAnswer: Decodable {
        struct Body: Decodable {
            var code: String
            var message: String
        }

        var error: Body
    }
}

/// `{"items":[...]}` answers.
struct Items<Item: Codable>: Codable {
    var items: [Item]
}

/// Any JSON value, so commands can print an answer as it came.
enum JSONValue: Codable {
    case string(String), number(Double), bool(Bool), object([String: JSONValue]), array([JSONValue]), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null } else if let value = try? container.decode(Bool.self) { self = .bool(value) } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) { self = .string(value) } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .bool(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    subscript(key: String) -> String {
        guard case .object(let fields) = self, let value = fields[key] else { return "" }
        switch value {
        case .string(let text): return text
        case .number(let number): return number == number.rounded() ? String(Int64(number)) : String(number)
        case .bool(let flag): return String(flag)
        case .null: return ""
        case .array(let items): return "\(items.count) item(s)"
        case .object: return "{…}"
        }
    }
}
