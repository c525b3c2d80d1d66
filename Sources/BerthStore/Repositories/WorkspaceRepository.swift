import BerthCore
import Foundation
import SQLKit

/// Workspaces and their sync status.
public struct WorkspaceRepository: Repository {
    public let sql: any SQLRunner

    public init(sql: any SQLRunner) {
        self.sql = sql
    }
}
