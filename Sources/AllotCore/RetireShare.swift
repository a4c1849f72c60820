/// How many of a tenant's managed devices a roster sync (`devices import --retire-missing`) may
/// retire at once: a count, or a share of the fleet. A truncated export must not empty a tenant,
/// so past the allowance the whole import is refused and the sentence says how to allow it.
public enum RetireAllowance: Sendable, Hashable, CustomStringConvertible {
    case devices(Int)
    /// A share of the managed devices before the import, in whole percent (0 to 100).
    case percent(Int)

    /// 10% of the fleet: a roster sync normally retires a few devices, not a tenth of them.
    public static let standard = RetireAllowance.percent(10)

    /// `N` (devices) or `P%` (of the fleet).
    public init?(parsing text: String) {
        if text.hasSuffix("%") {
            guard let share = Int(text.dropLast()), (0...100).contains(share) else { return nil }
            self = .percent(share)
        } else {
            guard let count = Int(text), count >= 0 else { return nil }
            self = .devices(count)
        }
    }

    public static let formatHelp = "give a number of devices (e.g. 25) or a share of the fleet from 0% to 100% (e.g. 20%)"

    public var description: String {
        switch self {
        case .devices(let count): "\(count) device(s)"
        case .percent(let share): "\(share)% of the fleet"
        }
    }

    /// The most devices this allows out of a fleet of `fleet` (rounded down).
    public func devicesAllowed(fleet: Int) -> Int {
        precondition(fleet >= 0, "a fleet is never negative")
        switch self {
        case .devices(let count): return count
        case .percent(let share): return fleet * share / 100
        }
    }

    /// Nil when retiring `retiring` devices of a fleet of `fleet` is allowed; otherwise the
    /// refusal: how many would go, and what would allow it (each face names its own option).
    public func refusal(retiring: Int, fleet: Int) -> String? {
        precondition(retiring >= 0 && retiring <= fleet, "the devices to retire are part of the fleet")
        guard retiring > devicesAllowed(fleet: fleet) else { return nil }
        let share = Self.share(retiring: retiring, fleet: fleet)
        return "the file leaves out \(retiring) of the tenant's \(fleet) managed devices (\(share)%), and retiring them is more than the \(description) allowed; nothing was changed; if the file is complete, allow retiring \(retiring) devices (\(share)%)"
    }
}

extension RetireAllowance {
    /// The share of a fleet that `retiring` devices are, rounded up: what a refusal offers to allow.
    public static func share(retiring: Int, fleet: Int) -> Int {
        fleet == 0 ? 100 : (retiring * 100 + fleet - 1) / fleet
    }
}
