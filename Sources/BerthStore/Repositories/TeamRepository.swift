import BerthCore
import Foundation
import SQLKit

/// Teams, memberships and invite codes.
public struct TeamRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
