import BerthCore
import Foundation
import SQLKit

/// The hash-chained audit log.
public struct AuditRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
