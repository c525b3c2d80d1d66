import Foundation

/// The API contract's document, `openapi.yaml`, as shipped with the server.
public enum APIContract {
    /// The text of `openapi.yaml`, or nil when the resource bundle is missing next to the binary.
    public static func documentText() -> String? {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }
}
