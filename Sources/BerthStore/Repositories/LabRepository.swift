import BerthCore
import Foundation
import SQLKit

/// Lab progress, check results and hints given.
public struct LabRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
