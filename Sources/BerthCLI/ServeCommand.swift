import ArgumentParser
import BerthCore
import BerthHTTP
import Foundation
import Hummingbird
import Logging

/// `berth serve`: runs the HTTP server with its expiry reaper and exit watcher.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Berth server.",
        discussion: """
            Each setting comes, in order of precedence, from its flag, its BERTH_* environment variable \
            (BERTH_HOST, BERTH_PORT, BERTH_DATA_DIR, BERTH_ENVIRONMENTS, BERTH_PUBLISH_ADDRESS, \
            BERTH_PUBLIC_HOST, BERTH_PORT_RANGE, BERTH_ASSIGNMENT, BERTH_OWNER_CAP, BERTH_GLOBAL_CAP, \
            BERTH_REAPER_INTERVAL, BERTH_RECONCILE_INTERVAL, BERTH_INTERNAL_URL, BERTH_ADMIN_TOKEN, BERTH_LOG_LEVEL, BERTH_NAMESPACE, BERTH_HOST_FIREWALL, BERTH_TRUSTED_PROXIES, BERTH_ENGINE_TIMEOUT, BERTH_NAMESPACE_LOCK_TIMEOUT, BERTH_CHECK_TIMEOUT, ...), the --config YAML file (keys: \
            host, port, dataDir, environments, ...), or the default. BERTH_DATABASE_URL (databaseUrl; no flag, \
            so a password never shows in the process list, and it is never logged with its password) is \
            the store: by default the SQLite file <data-dir>/berth.db; a path or sqlite:///absolute/path for \
            another SQLite file; postgres://user:password@host:5432/database for PostgreSQL, with the options \
            sslmode (disable, prefer (default), require, verify-full) and search_path. A URL that does not \
            parse stops start-up with invalid_config. DOCKER_HOST selects the engine \
            (default unix:///var/run/docker.sock); every ordinary engine call fails after \
            BERTH_ENGINE_TIMEOUT (default 30s), so a wedged engine stops start-up with engine_unavailable \
            instead of hanging. Without BERTH_NAMESPACE, the namespace is this data directory's own \
            (d- and the start of <data-dir>/server-id); a server whose namespace another live server \
            holds on the same engine refuses to start with namespace_in_use. Without BERTH_ADMIN_TOKEN, an admin token is \
            generated on first start and printed once. GET /metrics (Prometheus text) is off until \
            BERTH_METRICS_TOKEN (metricsToken; scrapers send 'Authorization: Bearer <token>' to the main port) \
            or --metrics-address / BERTH_METRICS_ADDRESS (a separate HOST:PORT listener, e.g. 127.0.0.1:9464, \
            and then the main port does not serve it) is set. Lab hints come from an OpenAI-compatible \
            chat-completions endpoint when BERTH_AI_URL (--ai-url, e.g. https://llm.example.org/v1) and \
            BERTH_AI_MODEL (--ai-model) are set, with the key from BERTH_AI_KEY or BERTH_AI_KEY_FILE \
            (--ai-key-file; never logged) and BERTH_AI_TIMEOUT (--ai-timeout, default 10s); without one, or \
            when it fails, the step's authored hints are given in order. BERTH_HINT_LIMIT (--hint-limit, \
            default 5/1m) caps hints per user. See docs/hints.md. Workspaces (berth.workspace) are \
            loop-mounted ext4 images under <data-dir>/workspaces, so Berth must run as root with loop \
            devices to start such environments; BERTH_WORKSPACE_RETENTION (default 30d; 0 keeps them \
            forever) deletes workspaces unused for longer. See docs/workspaces.md. \
            Workspaces are synced to S3-compatible \
            object storage when BERTH_S3_ENDPOINT (--s3-endpoint, e.g. https://s3.eu-central-1.amazonaws.com or \
            http://minio:9000) is set, with BERTH_S3_BUCKET, BERTH_S3_ACCESS_KEY_ID and BERTH_S3_SECRET_ACCESS_KEY or \
            BERTH_S3_SECRET_ACCESS_KEY_FILE (never logged); BERTH_S3_REGION (default us-east-1), BERTH_S3_PREFIX \
            (default workspaces/) and BERTH_S3_SYNC_INTERVAL (default 5m: how often workspaces in use are uploaded). \
            A half configuration is refused. See docs/object-storage.md. \
            BERTH_ENGINE=swarm (default docker) runs instances on the Docker Swarm whose manager DOCKER_HOST \
            names, one service per instance; Berth reaches each node's engine over mutual TLS for terminals, \
            checks, flags and files, at BERTH_SWARM_ENGINE_PORT (default 2376) with ca.pem, cert.pem and key.pem \
            from BERTH_SWARM_TLS_DIR (required on a swarm). A start whose task no node has room for within \
            BERTH_SWARM_PENDING_TIMEOUT (default 30s) fails with no_capacity; BERTH_SWARM_POOL=<name> places \
            instances only on nodes labelled berth.pool=<name>. See docs/swarm.md.
            """
    )

    @Option(help: "Address to bind (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to bind (default 8080; 0 picks a free port).")
    var port: String?

    @Option(name: .customLong("data-dir"), help: "Folder for the database and other state (default ./data).")
    var dataDir: String?

    @Option(help: "Folder of environment folders, each with a challenge.yml (default ./environments).")
    var environments: String?

    @Option(help: "YAML file of settings.")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(
        name: .customLong("metrics-address"),
        help: "Serve GET /metrics on a separate HOST:PORT listener, e.g. 127.0.0.1:9464 (default: off; BERTH_METRICS_TOKEN serves it on the main port instead)."
    )
    var metricsAddress: String?

    @Option(name: .customLong("ai-url"), help: "OpenAI-compatible chat-completions base URL for lab hints, e.g. https://llm.example.org/v1 (default: none, authored hints only).")
    var aiURL: String?

    @Option(name: .customLong("ai-model"), help: "Model named in hint requests; required with --ai-url.")
    var aiModel: String?

    @Option(name: .customLong("ai-key-file"), help: "File holding the hint endpoint's API key (or BERTH_AI_KEY; never logged).")
    var aiKeyFile: String?

    @Option(name: .customLong("ai-timeout"), help: "How long a hint request may take before the authored hints answer (default 10s; 500ms accepted).")
    var aiTimeout: String?

    @Option(name: .customLong("hint-limit"), help: "Hints one user may ask for, COUNT/DURATION (default 5/1m).")
    var hintLimit: String?

    @Option(
        name: .customLong("check-timeout"),
        help: "How long a lab's script (setup, a check) may run before it is killed and the check is check_error (default 60s; BERTH_CHECK_TIMEOUT)."
    )
    var checkTimeout: String?

    @Option(name: .customLong("s3-endpoint"), help: "S3-compatible endpoint workspaces are synced to, http(s)://host[:port] (default: none, workspaces stay local).")
    var s3Endpoint: String?

    @Option(name: .customLong("s3-bucket"), help: "Bucket for workspaces; required with --s3-endpoint.")
    var s3Bucket: String?

    @Option(name: .customLong("s3-region"), help: "Region requests are signed for (default us-east-1).")
    var s3Region: String?

    @Option(name: .customLong("s3-access-key-id"), help: "Access key id; required with --s3-endpoint.")
    var s3AccessKeyID: String?

    @Option(name: .customLong("s3-secret-access-key-file"), help: "File holding the secret access key (or BERTH_S3_SECRET_ACCESS_KEY; never logged).")
    var s3SecretAccessKeyFile: String?

    @Option(name: .customLong("s3-prefix"), help: "Key prefix of workspace objects, <prefix><workspace id>.tar (default workspaces/).")
    var s3Prefix: String?

    @Option(name: .customLong("s3-sync-interval"), help: "How often workspaces in use are uploaded, 10s to 24h (default 5m).")
    var s3SyncInterval: String?

    func run() async throws {
        var flags: [String: String] = [:]
        flags["host"] = host
        flags["port"] = port
        flags["dataDir"] = dataDir
        flags["environments"] = environments
        flags["logLevel"] = logLevel
        flags["metricsAddress"] = metricsAddress
        (flags["aiUrl"], flags["aiModel"], flags["aiKeyFile"], flags["aiTimeout"], flags["hintLimit"]) = (aiURL, aiModel, aiKeyFile, aiTimeout, hintLimit)
        flags["checkTimeout"] = checkTimeout
        (flags["s3Endpoint"], flags["s3Bucket"], flags["s3Region"], flags["s3AccessKeyId"]) = (s3Endpoint, s3Bucket, s3Region, s3AccessKeyID)
        (flags["s3SecretAccessKeyFile"], flags["s3Prefix"], flags["s3SyncInterval"]) = (s3SecretAccessKeyFile, s3Prefix, s3SyncInterval)
        let configuration = try CLISupport.resolveConfiguration(flags: flags, configFile: config)
        let logger = CLISupport.bootstrapLogging(level: configuration.logLevel)
        let app = try await buildApplication(configuration, logger: logger) { url, generatedToken in
            var lines = ["Berth is running at \(url)"]
            if let generatedToken {
                lines.append("Admin token (shown only now; Berth stores only its hash): \(generatedToken)")
            }
            // Written unbuffered, so scripts reading the pipe see the URL at once.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        try await app.application.runService()
    }
}
