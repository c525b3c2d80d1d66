import BerthCore
import Foundation
import SQLKit

/// Users, API tokens and sessions.
public struct AccountRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
