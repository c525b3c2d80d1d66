import BerthCore
import Foundation
import SQLKit

/// Instances and their event log.
public struct InstanceRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
