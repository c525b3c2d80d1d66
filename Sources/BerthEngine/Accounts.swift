import BerthCore
import BerthStore
import Foundation

/// Users, teams and bearer tokens. Token secrets are shown once and stored only as SHA-256 hashes.
public struct Accounts: Sendable {
    /// The store.
    public let store: BerthDatabase
    /// The name of the bootstrap admin user.
    public static let bootstrapAdminName = "admin"
    /// bcrypt's cost for new passwords (12 in production; tests may lower it).
    public let bcryptCost: UInt8

    /// Creates the accounts service over `store`.
    public init(store: BerthDatabase, bcryptCost: UInt8 = 12) {
        self.store = store
        self.bcryptCost = bcryptCost
    }

    /// The lowercase hex SHA-256 of a token secret.
    public static func hash(_ secret: String) -> String {
        Secrets.sha256Hex(secret)
    }

    /// A new random token secret: `berth_` and 43 base64url characters (256 bits).
    public static func newSecret() -> String {
        "berth_" + Secrets.randomBase64URL(byteCount: 32)
    }

    /// Creates a user with a unique name.
    public func createUser(name: String, role: Role = .player) async throws -> User {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        try Self.validateName(trimmed, what: "user")
        let user = User(id: Identifier.make("usr"), name: trimmed, role: role, createdAt: Date())
        try await store.accounts.createUser(user)
        return user
    }

    /// Creates a team with a unique name.
    public func createTeam(name: String) async throws -> Team {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        try Self.validateName(trimmed, what: "team")
        let team = Team(id: Identifier.make("team"), name: trimmed, createdAt: Date())
        try await store.teams.createTeam(team)
        return team
    }

    /// Adds an existing user to an existing team.
    public func addMember(teamID: String, userID: String) async throws {
        guard try await store.teams.team(id: teamID) != nil else { throw BerthError(.teamNotFound, "No team has id '\(teamID)'.") }
        guard try await store.accounts.user(id: userID) != nil else { throw BerthError(.userNotFound, "No user has id '\(userID)'.") }
        try await store.teams.addMember(teamID: teamID, userID: userID)
    }

    /// Issues a token for a user and returns its secret, which is never stored.
    public func issueToken(userID: String, name: String) async throws -> (token: APIToken, secret: String) {
        guard try await store.accounts.user(id: userID) != nil else { throw BerthError(.userNotFound, "No user has id '\(userID)'.") }
        let label = name.trimmingCharacters(in: .whitespaces)
        guard !label.isEmpty, label.count <= 100 else {
            throw BerthError(.invalidName, "A token name must be 1-100 characters.")
        }
        let secret = Self.newSecret()
        let token = APIToken(id: Identifier.make("tok"), userID: userID, name: label, secretHash: Self.hash(secret), createdAt: Date())
        try await store.accounts.createToken(token)
        return (token, secret)
    }

    /// The user a bearer secret belongs to, or nil.
    public func authenticate(secret: String) async throws -> User? {
        guard !secret.isEmpty, secret.count <= 512 else { return nil }
        return try await store.accounts.user(forTokenHash: Self.hash(secret))
    }

    /// Makes sure an admin can sign in. With `configuredToken`, its hash is registered for the
    /// `admin` user; without, a token is generated the first time only. Returns a generated secret
    /// (to print once), or nil when none was generated.
    public func bootstrapAdmin(configuredToken: String?) async throws -> String? {
        let admin: User
        if let existing = try await store.accounts.user(named: Self.bootstrapAdminName) {
            admin = existing
        } else {
            admin = User(id: Identifier.make("usr"), name: Self.bootstrapAdminName, role: .admin, createdAt: Date())
            try await store.accounts.createUser(admin)
        }
        let tokens = try await store.accounts.tokens(userID: admin.id)
        if let configuredToken {
            let hash = Self.hash(configuredToken)
            if !tokens.contains(where: { $0.secretHash == hash }) {
                try await store.accounts.createToken(APIToken(id: Identifier.make("tok"), userID: admin.id, name: "BERTH_ADMIN_TOKEN", secretHash: hash, createdAt: Date()))
            }
            return nil
        }
        guard tokens.isEmpty else { return nil }
        return try await issueToken(userID: admin.id, name: "bootstrap").secret
    }

    static func validateName(_ name: String, what: String) throws {
        let valid = !name.isEmpty && name.count <= 64
            && name.allSatisfy { $0.isLetter || $0.isNumber || "-_. ".contains($0) }
        guard valid else {
            throw BerthError(.invalidName, "A \(what) name must be 1-64 letters, digits, spaces, '-', '_' or '.'.")
        }
    }
}
