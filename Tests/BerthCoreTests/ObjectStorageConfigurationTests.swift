import BerthCore
import Testing

@Suite("Object storage settings")
struct ObjectStorageConfigurationTests {
    static let complete = [
        "BERTH_S3_ENDPOINT": "http://127.0.0.1:9000/", "BERTH_S3_BUCKET": "berth-workspaces", "BERTH_S3_REGION": "eu-central-1",
        "BERTH_S3_ACCESS_KEY_ID": "AKIAEXAMPLE", "BERTH_S3_SECRET_ACCESS_KEY": "secret/value+1", "BERTH_S3_PREFIX": "prod/ws/",
        "BERTH_S3_SYNC_INTERVAL": "2m",
    ]

    @Test("off by default, with the documented defaults")
    func defaults() throws {
        let config = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: nil)
        #expect(!config.objectStorageEnabled)
        #expect(config.s3Endpoint == nil && config.s3Bucket == nil && config.s3AccessKeyID == nil && config.s3SecretAccessKey == nil)
        #expect(config.s3Region == "us-east-1")
        #expect(config.s3Prefix == "workspaces/")
        #expect(config.s3SyncIntervalSeconds == 300)
    }

    @Test("every BERTH_S3_* variable is read")
    func everyVariable() throws {
        let config = try BerthConfiguration.resolve(flags: [:], environment: Self.complete, configFileYAML: nil)
        #expect(config.objectStorageEnabled)
        #expect(config.s3Endpoint == "http://127.0.0.1:9000")
        #expect(config.s3Bucket == "berth-workspaces")
        #expect(config.s3Region == "eu-central-1")
        #expect(config.s3AccessKeyID == "AKIAEXAMPLE")
        #expect(config.s3SecretAccessKey == "secret/value+1")
        #expect(config.s3Prefix == "prod/ws/")
        #expect(config.s3SyncIntervalSeconds == 120)
        #expect(BerthConfiguration.environmentVariable(for: "s3SecretAccessKeyFile") == "BERTH_S3_SECRET_ACCESS_KEY_FILE")
        #expect(BerthConfiguration.environmentVariable(for: "s3AccessKeyId") == "BERTH_S3_ACCESS_KEY_ID")
        var withFile = Self.complete
        withFile["BERTH_S3_SECRET_ACCESS_KEY"] = nil
        withFile["BERTH_S3_SECRET_ACCESS_KEY_FILE"] = "/run/secrets/s3"
        #expect(try BerthConfiguration.resolve(flags: [:], environment: withFile, configFileYAML: nil).s3SecretAccessKeyFile == "/run/secrets/s3")
        let file = "s3Endpoint: https://s3.amazonaws.com\ns3Bucket: b-1.x\ns3AccessKeyId: A\ns3SecretAccessKeyFile: /s\n"
        let fromFile = try BerthConfiguration.resolve(flags: [:], environment: [:], configFileYAML: file)
        #expect(fromFile.s3Endpoint == "https://s3.amazonaws.com" && fromFile.s3Bucket == "b-1.x")
    }

    @Test("a half configuration is refused with invalid_config naming what is missing")
    func halfConfiguration() throws {
        for (missing, named) in [
            ("BERTH_S3_BUCKET", "BERTH_S3_BUCKET"), ("BERTH_S3_ACCESS_KEY_ID", "BERTH_S3_ACCESS_KEY_ID"),
            ("BERTH_S3_SECRET_ACCESS_KEY", "BERTH_S3_SECRET_ACCESS_KEY_FILE"),
        ] {
            var environment = Self.complete
            environment[missing] = nil
            let error = #expect(throws: BerthError.self) { try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil) }
            #expect(error?.code == .invalidConfig)
            #expect(error?.message.contains(named) == true, "\(error?.message ?? "")")
        }
        // Credentials or a bucket without an endpoint: a forgotten endpoint, not a silent local-only setup.
        let stray = #expect(throws: BerthError.self) {
            try BerthConfiguration.resolve(flags: [:], environment: ["BERTH_S3_BUCKET": "b-b-b", "BERTH_S3_ACCESS_KEY_ID": "A"], configFileYAML: nil)
        }
        #expect(stray?.message.contains("BERTH_S3_ENDPOINT is not") == true)
        var both = Self.complete
        both["BERTH_S3_SECRET_ACCESS_KEY_FILE"] = "/run/secrets/s3"
        let twice = #expect(throws: BerthError.self) { try BerthConfiguration.resolve(flags: [:], environment: both, configFileYAML: nil) }
        #expect(twice?.message.contains("keep one") == true)
    }

    @Test("bad values are refused, and a secret is never repeated in the error")
    func badValues() throws {
        for (name, value) in [
            ("BERTH_S3_ENDPOINT", "ftp://host"), ("BERTH_S3_ENDPOINT", "http://host/bucket"), ("BERTH_S3_ENDPOINT", "http://user:pw@host"),
            ("BERTH_S3_ENDPOINT", "minio:9000"), ("BERTH_S3_BUCKET", "Upper"), ("BERTH_S3_BUCKET", "ab"), ("BERTH_S3_BUCKET", "-bad"),
            ("BERTH_S3_REGION", "eu central"), ("BERTH_S3_PREFIX", "/abs/"), ("BERTH_S3_SYNC_INTERVAL", "5"),
            ("BERTH_S3_SYNC_INTERVAL", "2d"), ("BERTH_S3_ACCESS_KEY_ID", "has space"),
        ] {
            var environment = Self.complete
            environment[name] = value
            let error = #expect(throws: BerthError.self, "\(name)=\(value)") {
                try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil)
            }
            #expect(error?.code == .invalidConfig)
            #expect(error?.message.contains(name) == true)
        }
        var environment = Self.complete
        environment["BERTH_S3_SECRET_ACCESS_KEY"] = "line-one-secret\nline-two"
        let error = #expect(throws: BerthError.self) { try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil) }
        #expect(error?.message.contains("line-one-secret") == false)
        let credentialURL = #expect(throws: BerthError.self) {
            var environment = Self.complete
            environment["BERTH_S3_ENDPOINT"] = "http://key:topsecret@host"
            _ = try BerthConfiguration.resolve(flags: [:], environment: environment, configFileYAML: nil)
        }
        #expect(credentialURL?.message.contains("topsecret") == false)
    }
}
