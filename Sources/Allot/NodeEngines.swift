import Foundation

/// The engines of one node. On PostgreSQL a node runs several, each with its own connection
/// and its own thread (`Allot`'s executor), and serves a tenant always by the same one:
/// different tenants' batches, syncs and reads run at once on different connections, while one
/// tenant's writes keep their order (its engine takes one call at a time, and the tenant's
/// lock in the database orders them against other nodes too). So a node uses PostgreSQL's
/// concurrency the way several nodes did, without a second copy of any rule: each engine is
/// the whole engine. On SQLite a node has one (one writer at a time is SQLite's rule).
///
/// The first engine, `primary`, also runs what is not one tenant's: the delivery lanes, the
/// reconcile schedule, the webhook sender, Apple's notifications, the tenant list. Every
/// engine's commits wake the primary's delivery.
public struct NodeEngines: Sendable {
    public let all: [Allot]

    /// A node of one engine: SQLite, or a PostgreSQL node told to hold one connection.
    public init(_ engine: Allot) { all = [engine] }

    /// A node of these engines (each with its own connection), the first the primary.
    public static func node(_ engines: [Allot]) async -> NodeEngines {
        precondition(!engines.isEmpty, "a node has at least one engine")
        for engine in engines.dropFirst() { await engine.wakeDelivery(of: engines[0]) }
        return NodeEngines(engines)
    }

    private init(_ engines: [Allot]) { all = engines }

    public var primary: Allot { all[0] }

    /// The engine that serves the tenant: the same for every request of its, on every start
    /// with the same number of engines (a hash of its slug, not Swift's seeded `hashValue`).
    public func serving(tenant slug: String) -> Allot {
        guard all.count > 1 else { return all[0] }
        // FNV-1a, 64 bits: stable across processes, and even enough over slugs.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in slug.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return all[Int(hash % UInt64(all.count))]
    }

    /// The engines a PostgreSQL node runs unless told: two per core (each waits on its
    /// database's answers about as long as it computes), at most `countMax`.
    public static var countDefault: Int { min(countMax, max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)) }

    /// More would be more connections than a PostgreSQL server allows by default (100) for two
    /// nodes and the tools beside them.
    public static let countMax = 32
}

extension Allot {
    /// Commits of this engine wake `primary`'s delivery, which runs the node's lanes.
    func wakeDelivery(of primary: Allot) {
        ledger.outboxWritten = { [doorbell = primary.doorbell] in doorbell.ringForWork() }
    }
}
