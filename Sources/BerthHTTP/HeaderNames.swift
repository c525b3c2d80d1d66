import HTTPTypes

extension HTTPField.Name {
    /// A header name written in the source, checked once: a typo stops the server at start-up.
    static func known(_ name: StaticString) -> HTTPField.Name {
        guard let parsed = HTTPField.Name("\(name)") else { preconditionFailure("'\(name)' is not a valid header name") }
        return parsed
    }

    /// `X-CSRF-Token`: the CSRF token of a browser session.
    static let csrfToken = known("X-CSRF-Token")
    /// `X-Forwarded-For`: the addresses a request passed through, client first.
    static let forwardedFor = known("X-Forwarded-For")
    /// `X-Forwarded-Proto`: the scheme a reverse proxy received.
    static let forwardedProto = known("X-Forwarded-Proto")
    /// `X-Frame-Options`.
    static let frameOptions = known("X-Frame-Options")
    /// `Berth-Replica-Grant`: the signed terminal grant one replica sends another (``ReplicaGrant``).
    static let replicaGrant = known("Berth-Replica-Grant")
    /// `Referrer-Policy`.
    static let referrerPolicy = known("Referrer-Policy")
}
