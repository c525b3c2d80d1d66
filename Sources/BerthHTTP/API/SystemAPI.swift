import BerthAPI
import BerthCore
import BerthEngine
import Foundation
import OpenAPIRuntime
import Yams

extension BerthAPIHandler {
    /// How long `/readyz` waits for the engine: probes time out after a few seconds, so the answer
    /// must come within 2 s whatever the engine does (a wedged engine counts as not ready).
    static let engineCheckLimit: Duration = .milliseconds(1500)
    /// How long `/readyz` waits for the store: long enough for SQLite's one connection to come
    /// round on a busy server, short of the minute a pool waits for a PostgreSQL server that went
    /// away.
    static let storeCheckLimit: Duration = .seconds(5)

    public func healthz(_ input: Operations.Healthz.Input) async throws -> Operations.Healthz.Output {
        .ok(.init(body: .json(.init(status: "ok"))))
    }

    public func readyz(_ input: Operations.Readyz.Input) async throws -> Operations.Readyz.Output {
        var problems: [String] = []
        var engineDown = false
        do { try await services.store.ping(timeout: Self.storeCheckLimit) } catch { problems.append("store: \(error)") }
        do {
            try await services.runtime.ping(timeout: Self.engineCheckLimit)
        } catch {
            engineDown = true
            problems.append("engine: \(error)")
        }
        guard problems.isEmpty else {
            try APIRequest.here().logger.warning("not ready", metadata: ["problems": "\(problems.joined(separator: "; "))"])
            // A load balancer tells an engine outage from a broken store by the code.
            let code: BerthError.Code = engineDown && problems.count == 1 ? .engineUnavailable : .notReady
            throw BerthError(code, "Berth is not ready: \(problems.joined(separator: "; "))")
        }
        return .ok(.init(body: .json(.init(status: "ready", store: "ok", engine: "ok"))))
    }

    public func openapi(_ input: Operations.Openapi.Input) async throws -> Operations.Openapi.Output {
        guard let document = ServedContract.json else {
            throw BerthError(.contractUnavailable, "The API contract (openapi.yaml) is missing from this build; reinstall Berth with its resource bundle.")
        }
        return .ok(.init(body: .json(document)))
    }
}

/// `openapi.yaml` as the JSON object `GET /api/v1/openapi.json` serves, converted once.
enum ServedContract {
    static let json: OpenAPIObjectContainer? = {
        guard let text = APIContract.documentText(), let tree = try? Yams.load(yaml: text),
              let data = try? JSONSerialization.data(withJSONObject: stringKeys(tree))
        else { return nil }
        return try? JSONDecoder().decode(OpenAPIObjectContainer.self, from: data)
    }()

    /// YAML reads an unquoted `200:` as a number; JSON keys are text.
    static func stringKeys(_ value: Any) -> Any {
        if let map = value as? [AnyHashable: Any] {
            return Dictionary(map.map { ("\($0.key.base)", stringKeys($0.value)) }, uniquingKeysWith: { first, _ in first })
        }
        if let list = value as? [Any] { return list.map(stringKeys) }
        return value
    }
}
