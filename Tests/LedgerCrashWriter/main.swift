// The child process of CrashAtomicityTests: opens the ledger named on the command line, sets up
// a tenant, two tokens, devices and pools if they are absent, then writes batches until it is
// killed (SIGKILL, at a moment the parent chooses at random). It never exits on its own.
//
// usage: LedgerCrashWriter DB_PATH SEED
// It creates DB_PATH.ready once set up, so the parent kills it mid-write rather than mid-setup.
// It also ends when its parent has gone (a test process that crashed cannot kill it), so a
// writer never outlives its test.
import Allot
import AllotCore
import AllotStore
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: LedgerCrashWriter DB_PATH SEED\n".utf8))
    exit(2)
}
let path = arguments[1]
let parent = getppid()

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let deviceCount = 600
let itemsPerBatch = 200
let apps = [AssetKey(adamId: "361309726"), AssetKey(adamId: "284882215")]
func serial(_ index: Int) -> String { "CRASH" + String(repeating: "0", count: 7 - String(index).count) + String(index) }

do {
    let ledger = try Ledger(path: path)
    let tenant: Tenant
    if let existing = try ledger.tenant(slug: "crash") {
        tenant = existing
    } else {
        // One transaction per call: a kill during setup leaves a partial setup that the next
        // round completes, since each step below checks before it adds.
        tenant = try ledger.createTenant(slug: "crash", name: "Crash", policy: .mostAvailable)
    }
    let now = ledger.now
    for uid in ["C-1", "C-2"] where try ledger.token(tenant: tenant.id, uid) == nil {
        _ = try ledger.addToken(tenant: tenant.id, NewToken(locationUid: uid, locationName: uid, orgName: "Crash",
                                                            secret: Array(uid.utf8), expiresAt: now + 365 * 86_400))
    }
    _ = try ledger.registerDevices(tenant: tenant.id, (0..<deviceCount).map { DeviceInput(serial: SerialNumber(serial($0))!) })
    for token in try ledger.tokens(tenant: tenant.id) where token.lastSyncAt == nil {
        _ = try ledger.applySnapshot(tenant: tenant.id, token: token.id, assets: apps.map {
            SnapshotAsset(asset: $0, total: 400, appleAssigned: 0)
        })
    }
    _ = FileManager.default.createFile(atPath: path + ".ready", contents: Data())

    var rng = SplitMix64(state: seed)
    while getppid() == parent {
        let app = apps[Int(rng.next() % UInt64(apps.count))]
        let start = Int(rng.next() % UInt64(deviceCount))
        let items = (0..<itemsPerBatch).map { BatchItem(asset: app, serial: serial((start + $0 * 7) % deviceCount)) }
        switch rng.next() % 10 {
        case 0..<5:
            _ = try Workflows(ledger).runBatch(tenant: tenant, direction: .assign, items: items,
                                    mode: rng.next() % 4 == 0 ? .allOrNothing : .partial)
        case 5..<8:
            _ = try Workflows(ledger).runBatch(tenant: tenant, direction: .revoke, items: items)
        case 8:
            let serials = (0..<20).map { serial((start + $0) % deviceCount) }
            _ = try ledger.retireDevices(tenant: tenant.id, serials: serials)
        default:
            _ = try ledger.registerDevices(tenant: tenant.id, (0..<deviceCount).map { DeviceInput(serial: SerialNumber(serial($0))!) })
        }
    }
} catch {
    FileHandle.standardError.write(Data("LedgerCrashWriter: \(error)\n".utf8))
    exit(1)
}
