#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
// swift-crypto 3.x does not mark its key types Sendable although they are immutable values.
@preconcurrency import Crypto
import Foundation

/// The server's Ed25519 signing key for recordings.
public struct RecordingSigner: Sendable {
    private let privateKey: Curve25519.Signing.PrivateKey

    /// Wraps an existing private key.
    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// A signer with a fresh random key that is kept nowhere; for tests and one-off tools.
    public static func ephemeral() -> RecordingSigner {
        RecordingSigner(privateKey: Curve25519.Signing.PrivateKey())
    }

    /// The key that verifies this signer's signatures.
    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }

    /// The public key's 32 raw bytes.
    public var publicKeyRawRepresentation: Data { privateKey.publicKey.rawRepresentation }

    /// The public key's raw bytes in base64: the form to export for third-party verifiers.
    public var publicKeyBase64: String { publicKeyRawRepresentation.base64EncodedString() }

    /// Signs `data` with Ed25519.
    public func sign(_ data: some DataProtocol) throws -> Data {
        do {
            return try privateKey.signature(for: data)
        } catch {
            throw RecordingError(code: "recording_signing_failed", message: "Could not sign the recording.", cause: error)
        }
    }

    /// Loads the key stored at `url`, or creates one there (0600, parent 0700) when there is none.
    ///
    /// The file holds the 32 raw private-key bytes in base64 and a newline; 32 raw bytes are read
    /// too. A new key is written to a temporary file and linked into place, so a concurrent
    /// caller never sees a half-written key and two callers always end up with the same key.
    /// A key file that others can read is refused rather than used.
    public static func loadOrCreate(at url: URL) throws -> RecordingSigner {
        if let signer = try load(at: url) { return signer }
        let directory = url.deletingLastPathComponent()
        try PrivateFiles.ensureDirectory(directory)
        let key = Curve25519.Signing.PrivateKey()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            let handle = try PrivateFiles.createExclusive(temporary)
            try PrivateFiles.writeAll(Array((key.rawRepresentation.base64EncodedString() + "\n").utf8), to: handle, path: temporary.path)
            try PrivateFiles.sync(handle, path: temporary.path)
            try handle.close()
        } catch {
            unlink(temporary.path)
            throw error
        }
        let linked = link(temporary.path, url.path)
        let linkError = errno
        unlink(temporary.path)
        if linked == 0 { return RecordingSigner(privateKey: key) }
        // Another process created the key first: use theirs.
        if linkError == EEXIST, let signer = try load(at: url) { return signer }
        throw RecordingError.io("create the signing key", url.path, errno: linkError)
    }

    /// Reads the key at `url`; nil when there is no file.
    public static func load(at url: URL) throws -> RecordingSigner? {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw RecordingError.io("read the signing key", url.path, errno: errno)
        }
        guard status.st_mode & 0o077 == 0 else {
            throw RecordingError.key(
                "The signing key \(url.path) can be read by other users. Run `chmod 600 \(url.path)`, "
                    + "and replace the key if anyone else may have copied it.")
        }
        let contents: Data
        do {
            contents = try Data(contentsOf: url)
        } catch {
            throw RecordingError.io("read the signing key", url.path, cause: error)
        }
        let raw: Data
        if contents.count == 32 {
            raw = contents
        } else if let text = String(data: contents, encoding: .utf8),
            let decoded = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), decoded.count == 32
        {
            raw = decoded
        } else {
            throw RecordingError.key(
                "The signing key \(url.path) is not 32 bytes of Ed25519 key in base64. "
                    + "Restore it from a backup, or move it away to create a new key (older recordings then need the old public key).")
        }
        do {
            return RecordingSigner(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        } catch {
            throw RecordingError.key("The signing key \(url.path) is not a valid Ed25519 key.", cause: error)
        }
    }
}
