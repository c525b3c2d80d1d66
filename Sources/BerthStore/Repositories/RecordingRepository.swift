import BerthCore
import Foundation
import SQLKit

/// Terminal recordings.
public struct RecordingRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
