import BerthCore
import Foundation
import SQLKit

/// Event settings, flag submissions, solves and hint unlocks.
public struct PlayRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
