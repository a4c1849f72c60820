import AllotCore
import Foundation

/// The token key is checked against the ledger before it is used: a node started with another
/// key (an easy mistake with several nodes on one PostgreSQL ledger) would otherwise commit
/// batches whose Apple side it can never deliver. The ledger keeps a check value of the key
/// (`SecretBox.checkValue`), never the key.
extension Allot {
    /// Refuses a token key that is not the ledger's, in one sentence naming where the key came
    /// from and how to fix it. A ledger without a check value records this key's, once the key
    /// has opened a stored token file (if there is one): a ledger from before the check keeps
    /// working. Without a key at hand (a new SQLite ledger) there is nothing to check yet;
    /// the key file created later is checked when it is first used.
    public func checkTokenKey(keyFile: String? = nil) throws {
        keySource = SecretBox.source(databasePath: databasePath, keyFile: keyFile)
        if let secretBox {
            try verifyTokenKey(secretBox)
            return
        }
        guard let box = try SecretBox.loadExisting(databasePath: databasePath, keyFile: keyFile) else {
            if try ledger.keyCheckValue() != nil { throw Self.missingTokenKey() }
            return
        }
        try verifyTokenKey(box)
        secretBox = box
    }

    /// Checks `box` against the ledger's check value, recording it on a ledger that has none.
    func verifyTokenKey(_ box: SecretBox) throws {
        if keyChecked { return }
        let value = box.checkValue
        if let recorded = try ledger.keyCheckValue() {
            guard recorded == value else { throw wrongTokenKey() }
        } else {
            // A ledger from before the check: the key it records must open what is stored.
            if let sealed = try ledger.anySealedTokenSecret(), (try? box.open(sealed)) == nil { throw wrongTokenKey() }
            guard try ledger.recordKeyCheckValue(value) == value else { throw wrongTokenKey() }
        }
        keyChecked = true
    }

    private func wrongTokenKey() -> AllotError {
        let source = keySource ?? SecretBox.source(databasePath: databasePath, keyFile: nil)
        return AllotError.invalidInput("\(source) is not the token key this ledger was opened with, so its token files cannot be read and nothing was done; start this node with the ledger's key (\(SecretBox.environmentVariable) set to the same value on every node, or the key file restored from a backup)")
    }

    private static func missingTokenKey() -> AllotError {
        AllotError.invalidInput("this ledger's token files were stored with a key that is not here and nothing was done; set \(SecretBox.environmentVariable) to the ledger's key (the same value on every node), or restore the key file beside the database from a backup")
    }
}
