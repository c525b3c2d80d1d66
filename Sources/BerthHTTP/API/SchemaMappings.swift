import BerthAPI
import BerthCore
import BerthEngine

// Core models as the contract shows them, where more than one feature answers with them.

extension Components.Schemas.User {
    /// `user` as the API shows it.
    init(_ user: User) {
        self.init(id: user.id, name: user.name, role: user.role == .admin ? .admin : .player, createdAt: user.createdAt)
    }
}
