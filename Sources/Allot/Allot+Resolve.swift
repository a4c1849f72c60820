import AllotCore
import AllotStore

extension Allot {
    // MARK: Over-allocation resolved (issue 14 point 3)

    /// Gives back what a token holds beyond Apple's total: the newest assignments first (the
    /// devices of `keepGroup` last), moved to another token of the same app with free licences
    /// when one has them, revoked otherwise (those devices need an uninstall). Apple is told
    /// through the outbox. `dryRun` says what it would do and changes nothing.
    public func resolveOverAllocation(tenant slug: String, token reference: String, asset: AssetKey? = nil,
                                      keepGroup: String? = nil, dryRun: Bool = false) throws -> ExcessResolution {
        let tenant = try tenant(slug)
        let token = try ledger.requireToken(tenant: tenant.id, reference)
        // A mistyped group would silently protect nobody.
        if let keepGroup, try ledger.activeDeviceCount(tenant: tenant.id, group: keepGroup) == 0 {
            throw AllotError.invalidInput("group '\(keepGroup.printableExcerpt)' has no managed devices, so --keep-group would keep nothing; check the name (`allot devices list --tenant \(tenant.slug)`), nothing was changed")
        }
        return try workflows.resolveOverAllocation(tenant: tenant, token: token.id, asset: asset, keepGroup: keepGroup, dryRun: dryRun)
    }

    /// The pools (of one token, or every token) holding more licences than Apple's total.
    public func overAllocations(tenant slug: String, token reference: String? = nil) throws -> [OverAllocation] {
        let tenant = try tenant(slug)
        let token = try reference.map { try ledger.requireToken(tenant: tenant.id, $0).id }
        return try ledger.overAllocations(tenant: tenant.id, token: token)
    }
}
