import Foundation

/// How instances are assigned to owners.
public enum AssignmentMode: String, Codable, Sendable, CaseIterable {
    /// One instance per user per environment; the owner is the user.
    case user
    /// One instance per team per environment; the owner is the requester's team.
    case team
    /// No one-per-environment rule; only the caps apply. The owner is the user.
    case unlimited
}

/// Whether Berth installs its host firewall rule (see `HostFirewall`).
public enum HostFirewallMode: String, Sendable, Equatable {
    /// Install it when running as root next to a local engine; warn otherwise.
    case auto
    /// Install it or refuse to start.
    case on
    /// Never touch the host's firewall (the operator keeps instances away from the host).
    case off
}

/// Settings of a Berth server. Each comes, in order of precedence, from a command-line flag,
/// a `BERTH_*` environment variable, the config file, or the documented default.
public struct BerthConfiguration: Sendable, Equatable {
    /// Address the HTTP server binds (`BERTH_HOST`, default `127.0.0.1`).
    public var host = "127.0.0.1"
    /// Port the HTTP server binds (`BERTH_PORT`, default `8080`; 0 picks a free one).
    public var port = 8080
    /// Where the database and other state live (`BERTH_DATA_DIR`, default `./data`).
    public var dataDirectory = "./data"
    /// The database (`BERTH_DATABASE_URL`): nil (the default) is the SQLite file `<data-dir>/berth.db`;
    /// `postgres://user:password@host:port/database` is PostgreSQL. Validated when loaded; never
    /// logged with its password. ``databaseLocation()`` reads it.
    public var databaseURL: String?
    /// The folder of environment folders (`BERTH_ENVIRONMENTS`, default `./environments`).
    public var environmentsDirectory = "./environments"
    /// Docker Engine address (`DOCKER_HOST`, default `unix:///var/run/docker.sock`).
    public var dockerHost = "unix:///var/run/docker.sock"
    /// The engine that runs instances (`BERTH_ENGINE`, default `docker`): one Docker Engine, or a
    /// Docker Swarm through its manager at ``dockerHost``.
    public var engine = EngineKind.docker
    /// The Swarm settings, read when ``engine`` is `swarm`.
    public var swarm = SwarmSettings()
    /// Seconds an ordinary Docker Engine call may take before it fails with `engine_unavailable`
    /// (`BERTH_ENGINE_TIMEOUT`, default `30s`). Image builds, the event stream and terminal
    /// streams are not limited by it; `/readyz` waits at most 2 s whatever this says.
    public var engineTimeoutSeconds = 30
    /// Seconds a lab's script (`setup`, a check) may run before it is killed and the check is a
    /// `check_error` (`BERTH_CHECK_TIMEOUT`, default `60s`).
    public var checkTimeoutSeconds = 60
    /// Host address service ports are published on (`BERTH_PUBLISH_ADDRESS`, default `127.0.0.1`).
    public var publishAddress = "127.0.0.1"
    /// Host name shown to players in endpoints (`BERTH_PUBLIC_HOST`, default: the publish address).
    public var publicHost: String?
    /// Host ports service ports are published from (`BERTH_PORT_RANGE`, default `20000-29999`).
    public var portRange: ClosedRange<Int> = 20000...29999
    /// Assignment mode (`BERTH_ASSIGNMENT`, default `user`).
    public var assignment = AssignmentMode.user
    /// Most active instances one owner may hold (`BERTH_OWNER_CAP`, default 3).
    public var ownerCap = 3
    /// Most active instances overall (`BERTH_GLOBAL_CAP`, default 100).
    public var globalCap = 100
    /// How often the reaper looks for expired instances, in seconds (`BERTH_REAPER_INTERVAL`, default 1).
    public var reaperIntervalSeconds = 1.0
    /// How often store and engine are reconciled while serving, in seconds
    /// (`BERTH_RECONCILE_INTERVAL`, default 30): a container that died unseen is noticed within it.
    public var reconcileIntervalSeconds = 30.0
    /// Where the other replicas on the same database reach this server (`BERTH_INTERNAL_URL`, e.g.
    /// `http://10.0.0.5:8080`); by default `http://<host>:<port>`, with 127.0.0.1 for a wildcard host.
    public var internalURL: String?

    /// ``internalURL``, or the address this server listens on.
    public var internalURLOrDefault: String {
        if let internalURL { return internalURL }
        let listening = ["0.0.0.0", "::", "[::]", ""].contains(host) ? "127.0.0.1" : host
        return "http://\(listening.contains(":") && !listening.hasPrefix("[") ? "[\(listening)]" : listening):\(port)"
    }
    /// The bootstrap admin token (`BERTH_ADMIN_TOKEN`); generated and printed once when unset.
    public var adminToken: String?
    /// Log level (`BERTH_LOG_LEVEL`, default `info`).
    public var logLevel = "info"
    /// Origins allowed to open terminal WebSockets (`BERTH_ALLOWED_ORIGINS`, comma-separated,
    /// e.g. `https://ctf.example.org`). Empty (the default) allows only the server's own origin.
    public var allowedOrigins: [String] = []
    /// Folder holding `xterm/` and `codemirror/` (the browser libraries), fetched by `make setup` (`BERTH_ASSETS_DIR`, default `./vendor`).
    public var assetsDirectory = "./vendor"
    /// Seconds a terminal outlives its last client, waiting for a reconnect (`BERTH_RECONNECT_WINDOW`, default 300).
    public var reconnectWindowSeconds = 300
    /// Sustained terminal input per terminal in bytes per second (`BERTH_TERMINAL_INPUT_RATE`, default 65536).
    public var terminalInputRate = 65536
    /// Name of this deployment (`BERTH_NAMESPACE`). Containers and networks carry it as the
    /// `berth.namespace` label, and reconciliation only touches its own namespace's. Nil (the
    /// default) uses the data directory's own, `d-` and the start of `<data-dir>/server-id`, so
    /// servers with different data directories never share one.
    public var namespace: String?
    /// Seconds after its last heartbeat that a server's namespace lock on the engine may be taken
    /// over by another server (`BERTH_NAMESPACE_LOCK_TIMEOUT`, default `30s`; heartbeats come 6 times as often).
    public var namespaceLockTimeoutSeconds = 30
    /// Days an ended recording is kept before Berth deletes it (`BERTH_RECORDING_RETENTION`, default 90; 0 keeps them forever).
    public var recordingRetentionDays = 90
    /// Seconds a workspace is kept after its last use before Berth deletes it
    /// (`BERTH_WORKSPACE_RETENTION`, default 30d; 0 keeps them forever).
    public var workspaceRetentionSeconds = 30 * 86400
    /// Default paste threshold of recording analysis: this many input characters within 100 ms
    /// count as a paste (`BERTH_ANALYSIS_PASTE_CHARS`, default 20).
    public var analysisPasteCharacters = 20
    /// Default idle threshold of recording analysis, in seconds (`BERTH_ANALYSIS_IDLE`, default 30s).
    public var analysisIdleSeconds = 30

    /// GitHub OAuth app's client id (`BERTH_GITHUB_CLIENT_ID`); with the secret, "Sign in with GitHub" appears.
    public var githubClientID: String?
    /// GitHub OAuth app's client secret (`BERTH_GITHUB_CLIENT_SECRET`).
    public var githubClientSecret: String?
    /// Where GitHub's sign-in pages are (`BERTH_GITHUB_URL`, default `https://github.com`; GitHub Enterprise or a test server otherwise).
    public var githubURL = "https://github.com"
    /// Where GitHub's API is (`BERTH_GITHUB_API_URL`, default `https://api.github.com`).
    public var githubAPIURL = "https://api.github.com"
    /// The URL players reach Berth at, for OAuth callbacks (`BERTH_PUBLIC_URL`, e.g.
    /// `https://ctf.example.org`); by default the scheme and `Host` of the request.
    public var publicURL: String?

    /// Whether GitHub sign-in is configured.
    public var githubSignIn: Bool { githubClientID != nil && githubClientSecret != nil }

    /// Whether Berth drops connections from instances to this host (`BERTH_HOST_FIREWALL`: `auto`,
    /// the default, `on` or `off`).
    public var hostFirewall = HostFirewallMode.auto

    /// Reverse proxies whose `X-Forwarded-For` names the client (`BERTH_TRUSTED_PROXIES`:
    /// comma-separated addresses or CIDR blocks; default none, so the peer address is the client).
    public var trustedProxies = TrustedProxies.none
    /// Failed sign-ins allowed for one account from one address (`BERTH_SIGN_IN_LIMIT`, default `5/5m`).
    public var signInLimit = EventLimit(count: 5, windowSeconds: 300)
    /// Failed sign-ins allowed from one address, whatever the accounts (`BERTH_SIGN_IN_ADDRESS_LIMIT`,
    /// default `100/5m`): high, since a classroom or a CTF venue shares one address behind NAT.
    public var signInAddressLimit = EventLimit(count: 100, windowSeconds: 300)
    /// Registrations allowed from one address (`BERTH_REGISTRATION_LIMIT`, default `100/1h`).
    public var registrationLimit = EventLimit(count: 100, windowSeconds: 3600)

    /// The bearer token `GET /metrics` asks for on the main port (`BERTH_METRICS_TOKEN`, at least
    /// 16 characters). With neither it nor ``metricsAddress`` set, `/metrics` answers 404 `metrics_disabled`.
    public var metricsToken: String?
    /// A separate `host:port` listener for `GET /metrics` (`BERTH_METRICS_ADDRESS`, e.g.
    /// `127.0.0.1:9464`), meant for a loopback or private address; it needs no token unless
    /// ``metricsToken`` is also set, and the main port then does not serve metrics.
    public var metricsAddress: ListenAddress?

    /// The OpenAI-compatible chat-completions endpoint hints are asked from (`BERTH_AI_URL`, e.g.
    /// `https://llm.example.org/v1`; `/chat/completions` is appended). Nil (the default): authored hints only.
    public var aiURL: String?
    /// The model named in each request (`BERTH_AI_MODEL`); required with ``aiURL``.
    public var aiModel: String?
    /// The endpoint's API key, sent as `Authorization: Bearer` (`BERTH_AI_KEY`); never logged.
    public var aiKey: String?
    /// A file holding the key instead (`BERTH_AI_KEY_FILE`), read when the server starts.
    public var aiKeyFile: String?
    /// Milliseconds a whole hint request may take before the authored hints answer instead
    /// (`BERTH_AI_TIMEOUT`, default `10s`; `500ms` is accepted).
    public var aiTimeoutMilliseconds = 10_000
    /// Hints one user may ask for (`BERTH_HINT_LIMIT`, default `5/1m`; a plain number is per minute).
    public var hintLimit = EventLimit(count: 5, windowSeconds: 60)

    // Object storage for workspaces (docs/object-storage.md); parsed in Configuration+ObjectStorage.swift.
    /// S3-compatible endpoint, `http(s)://host[:port]` (`BERTH_S3_ENDPOINT`); nil: workspaces stay local.
    public var s3Endpoint: String?
    /// The bucket (`BERTH_S3_BUCKET`); required with ``s3Endpoint``.
    public var s3Bucket: String?
    /// The region requests are signed for (`BERTH_S3_REGION`, default `us-east-1`).
    public var s3Region = "us-east-1"
    /// The access key id (`BERTH_S3_ACCESS_KEY_ID`); required with ``s3Endpoint``.
    public var s3AccessKeyID: String?
    /// The secret (`BERTH_S3_SECRET_ACCESS_KEY`); never logged.
    public var s3SecretAccessKey: String?
    /// A file holding the secret instead (`BERTH_S3_SECRET_ACCESS_KEY_FILE`), read when the server starts.
    public var s3SecretAccessKeyFile: String?
    /// Prepended to `<workspace id>.tar` (`BERTH_S3_PREFIX`, default `workspaces/`).
    public var s3Prefix = "workspaces/"
    /// Seconds between uploads of workspaces in use (`BERTH_S3_SYNC_INTERVAL`, default `5m`).
    public var s3SyncIntervalSeconds = 300

    /// Creates the defaults.
    public init() {}

    /// The host name endpoints show.
    public var endpointHost: String { publicHost ?? (publishAddress == "0.0.0.0" ? "127.0.0.1" : publishAddress) }

    /// The names of settings, as used in the config file; environment variables are `BERTH_` plus
    /// the name in upper snake case (`dataDir` → `BERTH_DATA_DIR`).
    public static let settingNames = [
        "host", "port", "dataDir", "databaseUrl", "environments", "publishAddress", "publicHost", "portRange", "assignment",
        "ownerCap", "globalCap", "reaperInterval", "reconcileInterval", "internalUrl", "adminToken", "logLevel", "namespace", "allowedOrigins", "assetsDir", "reconnectWindow", "terminalInputRate",
        "recordingRetention", "analysisPasteChars", "analysisIdle", "githubClientId", "githubClientSecret", "githubUrl", "githubApiUrl",
        "publicUrl", "hostFirewall", "trustedProxies", "signInLimit", "signInAddressLimit", "registrationLimit",
        "engineTimeout", "namespaceLockTimeout", "metricsToken", "metricsAddress", "checkTimeout",
        "aiUrl", "aiModel", "aiKey", "aiKeyFile", "aiTimeout", "hintLimit",
        "workspaceRetention",
        "engine", "swarmTlsDir", "swarmEnginePort", "swarmPendingTimeout", "swarmPool",
        "s3Endpoint", "s3Bucket", "s3Region", "s3AccessKeyId", "s3SecretAccessKey", "s3SecretAccessKeyFile", "s3Prefix", "s3SyncInterval",
    ]

    /// The environment variable for a setting name.
    public static func environmentVariable(for name: String) -> String {
        var out = "BERTH_"
        for character in name {
            if character.isUppercase { out += "_" }
            out += character.uppercased()
        }
        return out
    }

    /// Resolves settings from flags (by setting name), the process environment and a config file's YAML.
    public static func resolve(flags: [String: String], environment: [String: String], configFileYAML: String?) throws -> BerthConfiguration {
        var fileValues: [String: String] = [:]
        if let yaml = configFileYAML, !yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            fileValues = try configFileSettings(yaml)
        }
        var config = BerthConfiguration()
        if let dockerHost = environment["DOCKER_HOST"], !dockerHost.isEmpty { config.dockerHost = dockerHost }
        for name in settingNames {
            let source: String
            let value: String
            if let flag = flags[name] {
                (source, value) = ("--\(name)", flag)
            } else if let variable = environment[environmentVariable(for: name)], !variable.isEmpty {
                (source, value) = (environmentVariable(for: name), variable)
            } else if let fromFile = fileValues[name] {
                (source, value) = ("config file: \(name)", fromFile)
            } else {
                continue
            }
            try config.apply(name: name, value: value, source: source)
        }
        try config.checkHintSettings()
        try config.checkObjectStorageSettings()
        return config
    }

    /// The AI hint settings that only make sense together.
    private func checkHintSettings() throws {
        if aiURL != nil, aiModel == nil {
            throw BerthError(.invalidConfig, "BERTH_AI_URL (aiUrl) is set but BERTH_AI_MODEL (aiModel) is not: name the model the endpoint should use")
        }
        if aiKey != nil, aiKeyFile != nil {
            throw BerthError(.invalidConfig, "BERTH_AI_KEY (aiKey) and BERTH_AI_KEY_FILE (aiKeyFile) are both set: keep one")
        }
    }

    /// The config file's settings as text. Read as a node tree (as environment files are), so a
    /// file of any shape, `{{placeholder}}` included, gives an error instead of a crash.
    private static func configFileSettings(_ yaml: String) throws -> [String: String] {
        let root: YAMLNode?
        do {
            root = try YAMLComposer.compose(yaml)
        } catch let error as YAMLTreeError {
            throw BerthError(.invalidConfig, "config file: not valid YAML: \(error.reason)")
        }
        guard case .mapping(let pairs, _)? = root else {
            throw BerthError(.invalidConfig, "config file: must be a YAML mapping of settings")
        }
        var values: [String: String] = [:]
        for pair in pairs {
            guard case .scalar(let key) = pair.key, settingNames.contains(key.text) else {
                let written: String
                if case .scalar(let key) = pair.key { written = key.text } else { written = pair.key.summary }
                throw BerthError(.invalidConfig, "config file: \(written): unknown setting; known: \(settingNames.joined(separator: ", "))")
            }
            switch pair.value {
            case .scalar(let value): values[key.text] = value.text
            case .sequence(let items, _):
                // A list is accepted where a setting takes comma-separated values.
                var texts: [String] = []
                for case .scalar(let item) in items { texts.append(item.text) }
                guard texts.count == items.count else {
                    throw BerthError(.invalidConfig, "config file: \(key.text): a list of plain values was expected")
                }
                values[key.text] = texts.joined(separator: ",")
            case .mapping:
                throw BerthError(.invalidConfig, "config file: \(key.text): \(pair.value.summary) is not a value")
            }
        }
        return values
    }

    private mutating func apply(name: String, value: String, source: String) throws {
        func invalid(_ expected: String) -> BerthError {
            BerthError(.invalidConfig, "\(source): '\(value)' is not valid; expected \(expected)")
        }
        switch name {
        case "host": host = value
        case "port":
            guard let number = Int(value), (0...65535).contains(number) else { throw invalid("a port between 0 and 65535") }
            port = number
        case "dataDir": dataDirectory = value
        case "databaseUrl": try applyDatabaseURL(value, source: source)
        case "environments": environmentsDirectory = value
        case "publishAddress": publishAddress = value
        case "publicHost": publicHost = value
        case "portRange":
            let parts = value.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts[0] >= 1024, parts[0] <= parts[1], parts[1] <= 65535 else {
                throw invalid("LOW-HIGH within 1024-65535, e.g. 20000-29999")
            }
            portRange = parts[0]...parts[1]
        case "assignment":
            guard let mode = AssignmentMode(rawValue: value) else { throw invalid("user, team or unlimited") }
            assignment = mode
        case "ownerCap":
            guard let number = Int(value), number >= 1 else { throw invalid("a whole number of at least 1") }
            ownerCap = number
        case "globalCap":
            guard let number = Int(value), number >= 1 else { throw invalid("a whole number of at least 1") }
            globalCap = number
        case "reaperInterval":
            guard let seconds = Double(value), seconds > 0, seconds <= 60 else { throw invalid("seconds between 0 and 60") }
            reaperIntervalSeconds = seconds
        case "reconcileInterval":
            guard let seconds = Double(value), seconds >= 1, seconds <= 3600 else { throw invalid("seconds between 1 and 3600") }
            reconcileIntervalSeconds = seconds
        case "adminToken":
            guard value.count >= 16 else {
                throw BerthError(.invalidConfig, "\(source): the admin token must be at least 16 characters")
            }
            adminToken = value
        case "logLevel":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw invalid("trace, debug, info, notice, warning, error or critical")
            }
            logLevel = value
        case "allowedOrigins":
            let origins = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.hasSuffix("/") {
                throw invalid("comma-separated origins such as https://ctf.example.org (scheme, host and port; no path)")
            }
            allowedOrigins = origins
        case "assetsDir": assetsDirectory = value
        case "reconnectWindow":
            guard let seconds = DurationText.seconds(value), seconds <= 86400 else { throw invalid("a duration up to 24h, e.g. 5m") }
            reconnectWindowSeconds = seconds
        case "terminalInputRate":
            guard let rate = Int(value), rate >= 1024 else { throw invalid("bytes per second, at least 1024") }
            terminalInputRate = rate
        case "recordingRetention":
            guard let days = Int(value.hasSuffix("d") ? String(value.dropLast()) : value), (0...36500).contains(days) else {
                throw invalid("a number of days, e.g. 90 or 90d (0 keeps recordings forever)")
            }
            recordingRetentionDays = days
        case "workspaceRetention":
            // A bare number is days, as for recordings; `0` keeps workspaces forever.
            if let days = Int(value), (0...36500).contains(days) {
                workspaceRetentionSeconds = days * 86400
            } else if let seconds = DurationText.seconds(value), seconds <= 36500 * 86400 {
                workspaceRetentionSeconds = seconds
            } else {
                throw invalid("a duration such as 30d, 12h or a number of days (0 keeps workspaces forever)")
            }
        case "analysisPasteChars":
            guard let count = Int(value), (2...100_000).contains(count) else { throw invalid("a number of characters between 2 and 100000") }
            analysisPasteCharacters = count
        case "analysisIdle":
            guard let seconds = DurationText.seconds(value), seconds >= 1, seconds <= 86400 else { throw invalid("a duration from 1s to 24h, e.g. 30s") }
            analysisIdleSeconds = seconds
        case "githubClientId": githubClientID = value
        case "githubClientSecret": githubClientSecret = value
        case "githubUrl", "githubApiUrl", "publicUrl", "internalUrl":
            let trimmed = value.hasSuffix("/") ? String(value.dropLast()) : value
            let scheme = ["https://", "http://"].first { trimmed.hasPrefix($0) }
            let rest = scheme.map { trimmed.dropFirst($0.count) } ?? ""
            // The public URL is an origin: OAuth callbacks are appended to it.
            let origin = name == "publicUrl" || name == "internalUrl"
            guard !rest.isEmpty, !origin || !rest.contains("/") else {
                throw invalid("an http:// or https:// URL such as \(name == "internalUrl" ? "http://10.0.0.5:8080" : "https://ctf.example.org")\(origin ? " (no path)" : "")")
            }
            switch name {
            case "githubUrl": githubURL = trimmed
            case "githubApiUrl": githubAPIURL = trimmed
            case "internalUrl": internalURL = trimmed
            default: publicURL = trimmed
            }
        case "engine":
            guard let kind = EngineKind(rawValue: value) else { throw invalid("docker or swarm") }
            engine = kind
        case "swarmTlsDir": swarm.tlsDirectory = value
        case "swarmEnginePort":
            guard let number = Int(value), (1...65535).contains(number) else { throw invalid("a port between 1 and 65535") }
            swarm.enginePort = number
        case "swarmPendingTimeout":
            guard let seconds = DurationText.seconds(value), seconds >= 1, seconds <= 3600 else { throw invalid("a duration from 1s to 1h, e.g. 30s") }
            swarm.pendingTimeoutSeconds = seconds
        case "swarmPool":
            guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw invalid("a pool name of letters, digits, '-', '_' and '.'")
            }
            swarm.pool = value
        case "engineTimeout":
            guard let seconds = DurationText.seconds(value), seconds <= 3600 else { throw invalid("a duration from 1s to 1h, e.g. 30s") }
            engineTimeoutSeconds = seconds
        case "checkTimeout":
            guard let seconds = DurationText.seconds(value), seconds >= 1, seconds <= 3600 else { throw invalid("a duration from 1s to 1h, e.g. 60s") }
            checkTimeoutSeconds = seconds
        case "namespaceLockTimeout":
            guard let seconds = DurationText.seconds(value), seconds >= 6, seconds <= 3600 else { throw invalid("a duration from 6s to 1h, e.g. 30s") }
            namespaceLockTimeoutSeconds = seconds
        case "hostFirewall":
            guard let mode = HostFirewallMode(rawValue: value) else { throw invalid("auto, on or off") }
            hostFirewall = mode
        case "trustedProxies":
            do {
                trustedProxies = try TrustedProxies(parsing: value)
            } catch let error as BerthError {
                throw BerthError(.invalidConfig, "\(source): \(error.message)")
            }
        case "signInLimit", "signInAddressLimit", "registrationLimit":
            guard let limit = EventLimit(parsing: value) else { throw invalid("COUNT/DURATION such as 5/5m (1 s to 24 h)") }
            switch name {
            case "signInLimit": signInLimit = limit
            case "signInAddressLimit": signInAddressLimit = limit
            default: registrationLimit = limit
            }
        case "metricsToken":
            guard value.count >= 16 else {
                throw BerthError(.invalidConfig, "\(source): the metrics token must be at least 16 characters")
            }
            metricsToken = value
        case "metricsAddress":
            guard let address = ListenAddress(parsing: value) else { throw invalid("HOST:PORT such as 127.0.0.1:9464 or [::1]:9464 (port 1-65535)") }
            metricsAddress = address
        case "aiUrl":
            let trimmed = value.hasSuffix("/") ? String(value.dropLast()) : value
            if let url = URLComponents(string: trimmed), url.user != nil || url.password != nil {
                // Credentials belong in BERTH_AI_KEY; the error does not repeat them.
                throw BerthError(.invalidConfig, "\(source): the URL must not hold credentials; put the key in BERTH_AI_KEY or BERTH_AI_KEY_FILE")
            }
            guard let url = URLComponents(string: trimmed), ["http", "https"].contains(url.scheme ?? ""),
                  !(url.host ?? "").isEmpty, url.query == nil, url.fragment == nil
            else { throw invalid("an http:// or https:// URL such as https://llm.example.org/v1 (no query)") }
            aiURL = trimmed
        case "aiModel":
            guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw invalid("a model name") }
            aiModel = value
        case "aiKey":
            // The value is a secret: the error never repeats it.
            guard !value.contains(where: \.isNewline) else { throw BerthError(.invalidConfig, "\(source): the key must be one line") }
            aiKey = value
        case "aiKeyFile": aiKeyFile = value
        case "aiTimeout":
            let milliseconds = value.hasSuffix("ms") ? Int(value.dropLast(2)) : DurationText.seconds(value).map { $0 * 1000 }
            guard let milliseconds, (100...300_000).contains(milliseconds) else { throw invalid("a duration from 100ms to 5m, e.g. 10s") }
            aiTimeoutMilliseconds = milliseconds
        case "hintLimit":
            let parsed = Int(value).flatMap { $0 >= 1 && $0 <= 1_000_000 ? EventLimit(count: $0, windowSeconds: 60) : nil } ?? EventLimit(parsing: value)
            guard let parsed else { throw invalid("COUNT/DURATION such as 5/1m, or a count per minute") }
            hintLimit = parsed
        case "namespace":
            let valid = !value.isEmpty && value.count <= 63
                && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
            guard valid else { throw invalid("1-63 letters, digits, '-', '_' or '.'") }
            namespace = value
        case _ where name.hasPrefix("s3"):
            try applyObjectStorage(name: name, value: value, source: source)
        default:
            break
        }
    }
}

/// A `host:port` to listen on; an IPv6 host is written in brackets (`[::1]:9464`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address to bind, without brackets.
    public var host: String
    /// The port, 1-65535.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`; nil when either part is missing or the port is out of range.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.lastIndex(of: ":") else { return nil }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "[" || $0 == "]" }),
              let port = Int(trimmed[trimmed.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which engine runs instances.
public enum EngineKind: String, Sendable, CaseIterable {
    /// One Docker Engine (`DOCKER_HOST`).
    case docker
    /// A Docker Swarm, through the manager at `DOCKER_HOST`: one service per instance.
    case swarm
}

/// How Berth reaches a swarm's nodes and places instances on them.
public struct SwarmSettings: Sendable, Equatable {
    /// The folder of `ca.pem`, `cert.pem` and `key.pem` for the nodes' engines (`BERTH_SWARM_TLS_DIR`);
    /// nil is an error on a swarm, where terminals need each node's engine.
    public var tlsDirectory: String?
    /// The TCP port of every node's engine (`BERTH_SWARM_ENGINE_PORT`, default 2376).
    public var enginePort = 2376
    /// Seconds a task may stay pending (no node fits) before the start fails with `no_capacity`
    /// (`BERTH_SWARM_PENDING_TIMEOUT`, default 30s).
    public var pendingTimeoutSeconds = 30
    /// Only nodes labelled `berth.pool=<pool>` run instances (`BERTH_SWARM_POOL`); nil for every node.
    public var pool: String?

    /// The default settings.
    public init() {}
}
