import BerthCore
import Foundation
import SQLKit

/// Admission: caps checked and the instance recorded in one transaction, and host ports leased
/// in the database, so servers sharing one database never admit past a cap nor publish one port
/// twice.
extension InstanceRepository {
    /// Records `instance` (state `requested`) unless its owner or Berth is at a cap, all under the
    /// admission lock: two servers admitting at once take turns, and each counts what the other
    /// admitted. `refusal` answers the error for the counts found, or nil to admit. The admitting
    /// replica's claim (`start`) is recorded with the instance, so no other replica ever sees it
    /// unclaimed while it starts.
    public func admit(_ instance: Instance, claim terms: ClaimTerms, refusal: @Sendable (ActiveCounts) -> BerthError?) async throws {
        try await withTransaction { repo in
            try await repo.sql.lockForTransaction("berth.admission")
            let counts = try await repo.activeCounts(owner: instance.owner, environment: instance.environment)
            if let error = refusal(counts) { throw error }
            try await repo.insertInstance(instance)
            guard try await repo.claim(instance.id, purpose: "start", terms: terms) else {
                throw BerthError(.storeConflict, "Instance \(instance.id) was claimed before it was admitted.")
            }
        }
    }

    /// Leases `count` free host ports in `range` for `instanceID`, scanning from `cursor` and
    /// wrapping around, after giving back any it held. Answers the ports (fewer than `count`
    /// when the range is full) and where the next scan should start.
    public func leasePorts(
        _ count: Int, in range: ClosedRange<Int>, from cursor: Int, for instanceID: String, at time: Date
    ) async throws -> (ports: [Int], next: Int) {
        try await withTransaction { repo in
            try await repo.sql.lockForTransaction("berth.ports")
            return try await repo.sql.run { db in
                try await db.raw("DELETE FROM port_leases WHERE instance_id = \(bind: instanceID)").run()
                let taken = Set(try await db.raw("""
                    SELECT port FROM port_leases WHERE port >= \(bind: range.lowerBound) AND port <= \(bind: range.upperBound)
                    """).all().map { try RowDecoding.column($0, "port", as: Int.self, table: "port_leases", key: "instance_id") })
                var chosen: [Int] = []
                var candidate = range.contains(cursor) ? cursor : range.lowerBound
                var scanned = 0
                while chosen.count < count && scanned < range.count {
                    if !taken.contains(candidate) { chosen.append(candidate) }
                    candidate = candidate >= range.upperBound ? range.lowerBound : candidate + 1
                    scanned += 1
                }
                for port in chosen {
                    try await db.raw("""
                        INSERT INTO port_leases (port, instance_id, leased_at) VALUES (\(bind: port), \(bind: instanceID), \(bind: time.timeIntervalSince1970))
                        """).run()
                }
                return (chosen, candidate)
            }
        }
    }

    /// Leases exactly `ports` for `instanceID` where no other instance holds them (an instance
    /// adopted after a restart); answers the ports another instance holds.
    @discardableResult
    public func holdPorts(_ ports: [Int], for instanceID: String, at time: Date) async throws -> [Int] {
        try await withTransaction { repo in
            try await repo.sql.lockForTransaction("berth.ports")
            return try await repo.sql.run { db in
                var conflicting: [Int] = []
                for port in ports {
                    let rows = try await db.raw("""
                        INSERT INTO port_leases (port, instance_id, leased_at) VALUES (\(bind: port), \(bind: instanceID), \(bind: time.timeIntervalSince1970))
                        ON CONFLICT (port) DO NOTHING RETURNING port
                        """).all()
                    if rows.isEmpty {
                        let holder = try await db.raw("SELECT instance_id FROM port_leases WHERE port = \(bind: port)").all()
                        let id = try holder.first.map { try RowDecoding.column($0, "instance_id", as: String.self, table: "port_leases", key: "instance_id") }
                        if id != instanceID { conflicting.append(port) }
                    }
                }
                return conflicting
            }
        }
    }

    /// Gives back every port `instanceID` holds (it ended, or its start failed).
    public func releasePorts(of instanceID: String) async throws {
        try await sql.run { db in
            try await db.raw("DELETE FROM port_leases WHERE instance_id = \(bind: instanceID)").run()
        }
    }

    /// The ports `instanceID` holds, in order.
    public func leasedPorts(of instanceID: String) async throws -> [Int] {
        try await sql.run { db in
            try await db.raw("SELECT port FROM port_leases WHERE instance_id = \(bind: instanceID) ORDER BY port").all().map {
                try RowDecoding.column($0, "port", as: Int.self, table: "port_leases", key: "instance_id")
            }
        }
    }
}
