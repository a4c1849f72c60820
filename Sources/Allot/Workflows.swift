import AllotCore
import AllotStore

/// The engine's workflows over one ledger. Each one reads rows, asks AllotCore for the
/// decision, and writes what was decided, inside one tenant-scoped write (`Ledger.write`), so
/// what it read cannot move before it writes. The `Allot` actor performs them; tests and
/// benchmarks that hold a bare ledger call them directly. Not Sendable: the ledger is not.
public struct Workflows {
    public let ledger: Ledger

    public init(_ ledger: Ledger) {
        self.ledger = ledger
    }
}
