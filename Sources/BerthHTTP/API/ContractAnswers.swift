import BerthAPI
import BerthCore
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Yams

/// Where a JSON answer must say `null` rather than leave a key out: the properties the contract
/// lists as `required` whose type admits `null` (a hint's `content` until it is unlocked, a catalog
/// entry's `attemptsLeft` without a limit). See ``ContractAnswers``.
final class RequiredNulls: Sendable {
    /// Keys of this object that must be present: null when the encoded value left them out.
    let keys: Set<String>
    /// Nested objects, by key.
    let properties: [String: RequiredNulls]
    /// Each element, when this is an array.
    let items: RequiredNulls?

    init(keys: Set<String>, properties: [String: RequiredNulls], items: RequiredNulls?) {
        self.keys = keys
        self.properties = properties
        self.items = items
    }

    /// `value` (as `JSONSerialization` reads it) with a null for every required key it lacks.
    func fill(_ value: Any) -> Any {
        if var object = value as? [String: Any] {
            for key in keys where object[key] == nil { object[key] = NSNull() }
            for (key, node) in properties {
                if let child = object[key] { object[key] = node.fill(child) }
            }
            return object
        }
        if let array = value as? [Any], let items { return array.map(items.fill) }
        return value
    }

    /// Schemas nest deeper than this only by recursion; the walk stops there.
    static let depthLimit = 24

    /// What to fill in `schema` (a JSON Schema as Yams reads it), nil when nothing.
    static func of(_ schema: Any?, in document: [String: Any], depth: Int = 0) -> RequiredNulls? {
        guard depth < depthLimit, let schema = schema as? [String: Any] else { return nil }
        if let reference = schema["$ref"] as? String {
            return of(resolve(reference, in: document), in: document, depth: depth + 1)
        }
        var keys: Set<String> = []
        var properties: [String: RequiredNulls] = [:]
        var items: RequiredNulls?
        for part in schema["allOf"] as? [Any] ?? [] {
            guard let node = of(part, in: document, depth: depth + 1) else { continue }
            keys.formUnion(node.keys)
            properties.merge(node.properties) { first, _ in first }
            items = items ?? node.items
        }
        let required = Set((schema["required"] as? [Any] ?? []).compactMap { $0 as? String })
        for case let (key as String, property) in schema["properties"] as? [AnyHashable: Any] ?? [:] {
            if required.contains(key), admitsNull(property, in: document, depth: depth + 1) { keys.insert(key) }
            if let node = of(property, in: document, depth: depth + 1) { properties[key] = node }
        }
        if let node = of(schema["items"], in: document, depth: depth + 1) { items = node }
        guard !keys.isEmpty || !properties.isEmpty || items != nil else { return nil }
        return RequiredNulls(keys: keys, properties: properties, items: items)
    }

    /// Whether `schema`'s type list holds `null` (OpenAPI 3.1 `type: [string, 'null']`).
    static func admitsNull(_ schema: Any?, in document: [String: Any], depth: Int) -> Bool {
        guard depth < depthLimit, let schema = schema as? [String: Any] else { return false }
        if let reference = schema["$ref"] as? String {
            return admitsNull(resolve(reference, in: document), in: document, depth: depth + 1)
        }
        return (schema["type"] as? [Any])?.contains { $0 as? String == "null" } == true
    }

    /// The schema `#/components/schemas/Name` names.
    static func resolve(_ reference: String, in document: [String: Any]) -> Any? {
        var node: Any? = document
        for part in reference.split(separator: "/").dropFirst() {
            node = (node as? [AnyHashable: Any])?[String(part)]
        }
        return node
    }
}

/// What the generated server writes differently from what the contract says, per operation, and
/// the repair the transport applies to each answer:
///
/// - A nil optional is encoded by leaving its key out, even when the schema requires the key as
///   nullable (apple/swift-openapi-generator#934): the required nulls are put back.
/// - Header values are percent-encoded as URI parameters (apple/swift-openapi-generator#857), so
///   `Content-Disposition: attachment; filename="a b"` would go out as `attachment%3B%20...`: the
///   headers the contract declares for a response are sent as written.
/// - A request whose `Accept` does not list the answer's content type is refused after the handler
///   ran. Downloads (a `.cast` file, an attachment) never negotiated: the pages' fetch helper
///   sends `Accept: application/json` on every call, and the bytes are what the route serves. For
///   operations whose success answers are not JSON, `Accept` is not checked.
struct ContractAnswers: Sendable {
    /// What to fill in the JSON answer, by status code.
    var nulls: [Int: RequiredNulls] = [:]
    /// The response headers the operation declares (any status).
    var headers: Set<HTTPField.Name> = []
    /// The operation's success answers are bytes, not JSON: `Accept` is not checked.
    var ignoresAccept = false

    /// The largest JSON answer rewritten (a whole catalog is a few KiB); a larger one fails the
    /// request rather than go out without the nulls the contract promises.
    static let bodyLimit = 32 << 20

    /// The repairs of each operation, by operation id; operations that need none are left out.
    static func index(yaml: String) throws -> [String: ContractAnswers] {
        guard let document = try Yams.load(yaml: yaml) as? [String: Any], let paths = document["paths"] as? [AnyHashable: Any] else {
            return [:]
        }
        var index: [String: ContractAnswers] = [:]
        for case let item as [AnyHashable: Any] in paths.values {
            for case let operation as [AnyHashable: Any] in item.values {
                guard let id = operation["operationId"] as? String, let responses = operation["responses"] as? [AnyHashable: Any] else { continue }
                var answers = ContractAnswers()
                for (status, response) in responses {
                    var response = response
                    if let reference = (response as? [AnyHashable: Any])?["$ref"] as? String {
                        response = RequiredNulls.resolve(reference, in: document) as Any
                    }
                    guard let response = response as? [AnyHashable: Any] else { continue }
                    for case let name as String in (response["headers"] as? [AnyHashable: Any] ?? [:]).keys {
                        if let field = HTTPField.Name(name) { answers.headers.insert(field) }
                    }
                    let content = response["content"] as? [AnyHashable: Any] ?? [:]
                    if "\(status.base)".hasPrefix("2"), !content.isEmpty, content["application/json"] == nil { answers.ignoresAccept = true }
                    let json = content["application/json"] as? [AnyHashable: Any]
                    if let code = Int("\(status.base)"), let node = RequiredNulls.of(json?["schema"], in: document) {
                        answers.nulls[code] = node
                    }
                }
                if !answers.nulls.isEmpty || !answers.headers.isEmpty || answers.ignoresAccept { index[id] = answers }
            }
        }
        return index
    }

    /// The contract shipped with the server, indexed once.
    static let shipped: [String: ContractAnswers] = {
        guard let text = APIContract.documentText() else { return [:] }
        return (try? index(yaml: text)) ?? [:]
    }()

    typealias Handler = @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)

    /// `handler`, answering as the contract says for operation `id`; `handler` itself when the
    /// operation needs no repair.
    static func repairing(_ handler: @escaping Handler, operation id: String, index: [String: ContractAnswers] = shipped) -> Handler {
        guard let answers = index[id] else { return handler }
        return { request, body, metadata in
            var request = request
            if answers.ignoresAccept { request.headerFields[.accept] = nil }
            var (response, answer) = try await handler(request, body, metadata)
            for name in answers.headers {
                guard let value = response.headerFields[name] else { continue }
                response.headerFields[name] = value.removingPercentEncoding ?? value
            }
            guard let nulls = answers.nulls[response.status.code], let body = answer,
                  response.headerFields[.contentType]?.hasPrefix("application/json") == true
            else { return (response, answer) }
            let data = try await Data(collecting: body, upTo: bodyLimit)
            guard let tree = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
                return (response, HTTPBody(data))
            }
            let filled = try JSONSerialization.data(withJSONObject: nulls.fill(tree), options: [.sortedKeys, .prettyPrinted, .fragmentsAllowed])
            if response.headerFields[.contentLength] != nil { response.headerFields[.contentLength] = String(filled.count) }
            return (response, HTTPBody(filled))
        }
    }
}
