import BerthCore

/// Fills ctfcli's `connection_info` placeholders from an instance's endpoint.
public enum ConnectionInfo {
    /// `template` with `{{host}}`, `{{port}}` and `{{url}}` (spaces inside the braces allowed)
    /// replaced by the endpoint's host, published port and URL (`host:port` without one).
    /// The result is text: pages render it without HTML.
    public static func fill(_ template: String, with endpoint: Endpoint) -> String {
        let values = [
            "host": endpoint.host, "port": String(endpoint.hostPort), "url": endpoint.url ?? "\(endpoint.host):\(endpoint.hostPort)",
        ]
        var result = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let key = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
            result += values[key] ?? String(rest[open.lowerBound..<close.upperBound])
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}
