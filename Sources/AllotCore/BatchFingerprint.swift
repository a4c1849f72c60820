/// What an idempotency key is bound to: the request it first answered. A retry sends the same
/// request again and gets the first answer; the same key with another request (other items,
/// another direction, another mode) is a client's mistake, and replaying the first answer would
/// lose its second intent without a word, so it is refused (`AllotError.Code.idempotencyKeyReused`).
///
/// The fingerprint is two 64-bit FNV-1a hashes of the request's canonical text: not a secret
/// and not a defence against a tenant forging its own collisions, only a check that a retry is
/// the same request. The tenant is not part of it: keys are per tenant already.
public enum BatchFingerprint {
    public static func of(direction: BatchDirection, mode: BatchMode, queue: Bool, items: [BatchItem]) -> String {
        var first = Hash(basis: 0xcbf2_9ce4_8422_2325)
        var second = Hash(basis: 0x8422_2325_cbf2_9ce4)
        func add(_ text: String) {
            for byte in text.utf8 {
                first.add(byte)
                second.add(byte)
            }
            // A separator no field holds, so ("ab", "c") and ("a", "bc") differ.
            first.add(0)
            second.add(0)
        }
        add(direction.rawValue)
        add(mode.rawValue)
        add(queue ? "queue" : "no-queue")
        for item in items {
            add(item.asset.description)
            add(item.serial)
        }
        return first.hex + second.hex
    }

    private struct Hash {
        var value: UInt64
        init(basis: UInt64) { value = basis }
        mutating func add(_ byte: UInt8) {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var hex: String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }
}

extension BatchFingerprint {
    /// Whether a stored answer to `key` may answer this request: the same direction and, when
    /// the answer was bound to its request, the same fingerprint. Nil when it may; else the
    /// refusal (`idempotencyKeyReused`). An answer stored before keys were bound has no
    /// fingerprint and replays as it did.
    public static func reuseRefusal(key: String, answered: BatchDirection, answeredFingerprint: String?,
                                    direction: BatchDirection, mode: BatchMode, queue: Bool, items: [BatchItem]) -> AllotError? {
        let sameRequest = answered == direction
            && (answeredFingerprint.map { $0 == of(direction: direction, mode: mode, queue: queue, items: items) } ?? true)
        guard !sameRequest else { return nil }
        return AllotError(.idempotencyKeyReused, "idempotency key '\(key.printableExcerpt)' already answered another request"
                          + (answered == direction ? "" : " (a \(answered.rawValue) batch)")
                          + "; send this request with a new key, or the first request unchanged to read its answer")
    }
}
