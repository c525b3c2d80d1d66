import Foundation

/// The object-storage settings (`BERTH_S3_*`): parsing and the check that they come together.
extension BerthConfiguration {
    /// True when workspaces are synced to object storage.
    public var objectStorageEnabled: Bool { s3Endpoint != nil }

    mutating func applyObjectStorage(name: String, value: String, source: String) throws {
        func invalid(_ expected: String) -> BerthError {
            BerthError(.invalidConfig, "\(source): '\(value)' is not valid; expected \(expected)")
        }
        switch name {
        case "s3Endpoint":
            let trimmed = value.hasSuffix("/") ? String(value.dropLast()) : value
            if let url = URLComponents(string: trimmed), url.user != nil || url.password != nil {
                // Credentials belong in BERTH_S3_ACCESS_KEY_ID and the secret; the error does not repeat them.
                throw BerthError(.invalidConfig, "\(source): the URL must not hold credentials; use BERTH_S3_ACCESS_KEY_ID and BERTH_S3_SECRET_ACCESS_KEY(_FILE)")
            }
            guard let url = URLComponents(string: trimmed), ["http", "https"].contains(url.scheme ?? ""), !(url.host ?? "").isEmpty,
                  url.path.isEmpty, url.query == nil, url.fragment == nil
            else {
                throw invalid("an http:// or https:// URL of the S3 endpoint with no path, such as https://s3.eu-central-1.amazonaws.com or http://minio:9000 (the bucket goes in BERTH_S3_BUCKET)")
            }
            s3Endpoint = trimmed
        case "s3Bucket":
            // S3's rules for bucket names (which path-style URLs need).
            let allowed = value.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
            guard (3...63).contains(value.count), allowed, let first = value.first, let last = value.last,
                  first.isLetter || first.isNumber, last.isLetter || last.isNumber
            else { throw invalid("a bucket name: 3-63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit") }
            s3Bucket = value
        case "s3Region":
            guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw invalid("a region such as us-east-1")
            }
            s3Region = value
        case "s3AccessKeyId":
            guard !value.isEmpty, !value.contains(where: { $0.isWhitespace }) else { throw invalid("an access key id without spaces") }
            s3AccessKeyID = value
        case "s3SecretAccessKey":
            // The value is a secret: the error never repeats it.
            guard !value.contains(where: \.isNewline) else { throw BerthError(.invalidConfig, "\(source): the secret must be one line") }
            s3SecretAccessKey = value
        case "s3SecretAccessKeyFile": s3SecretAccessKeyFile = value
        case "s3Prefix":
            guard !value.hasPrefix("/"), value.count <= 512, !value.contains(where: { $0.isNewline || $0 == "\\" }) else {
                throw invalid("a key prefix such as workspaces/ or berth/prod/ (no leading '/')")
            }
            s3Prefix = value
        case "s3SyncInterval":
            guard let seconds = DurationText.seconds(value), (10...86_400).contains(seconds) else {
                throw invalid("a duration from 10s to 24h, e.g. 5m")
            }
            s3SyncIntervalSeconds = seconds
        default:
            break
        }
    }

    /// Refuses a half configuration: object storage is all or nothing.
    func checkObjectStorageSettings() throws {
        if s3SecretAccessKey != nil, s3SecretAccessKeyFile != nil {
            throw BerthError(.invalidConfig, "BERTH_S3_SECRET_ACCESS_KEY (s3SecretAccessKey) and BERTH_S3_SECRET_ACCESS_KEY_FILE (s3SecretAccessKeyFile) are both set: keep one")
        }
        guard s3Endpoint != nil else {
            let stray = [
                (s3Bucket != nil, "BERTH_S3_BUCKET"), (s3AccessKeyID != nil, "BERTH_S3_ACCESS_KEY_ID"),
                (s3SecretAccessKey != nil, "BERTH_S3_SECRET_ACCESS_KEY"), (s3SecretAccessKeyFile != nil, "BERTH_S3_SECRET_ACCESS_KEY_FILE"),
            ].filter(\.0).map(\.1)
            if !stray.isEmpty {
                throw BerthError(
                    .invalidConfig,
                    "\(stray.joined(separator: ", ")) \(stray.count == 1 ? "is" : "are") set but BERTH_S3_ENDPOINT is not: set the endpoint to sync workspaces to object storage, or unset \(stray.count == 1 ? "it" : "them")"
                )
            }
            return
        }
        var missing: [String] = []
        if s3Bucket == nil { missing.append("BERTH_S3_BUCKET") }
        if s3AccessKeyID == nil { missing.append("BERTH_S3_ACCESS_KEY_ID") }
        if s3SecretAccessKey == nil, s3SecretAccessKeyFile == nil { missing.append("BERTH_S3_SECRET_ACCESS_KEY or BERTH_S3_SECRET_ACCESS_KEY_FILE") }
        if !missing.isEmpty {
            throw BerthError(.invalidConfig, "BERTH_S3_ENDPOINT is set but \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not: object storage needs the endpoint, the bucket and an access key with its secret")
        }
    }
}
