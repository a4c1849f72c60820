import AllotCore
import AppleAppsAndBooks
import Foundation

/// What a sync found for one token.
public struct TokenSyncReport: Sendable, Hashable, Codable {
    public let tokenId: TokenID
    public let locationUid: String
    public var state: TokenState
    public var assets = 0
    public var assetsAdded = 0
    public var overAllocated: [OverAllocation] = []
    /// Something an admin should look at (a location with no licences, an expiry soon).
    public var warnings: [String] = []
    /// Why the sync could not read Apple, if it could not.
    public var error: String?
}

extension Allot {
    /// Reads every token of a tenant (or one) from Apple: totals, counts, ownership; applies
    /// them to the ledger and reports over-allocation.
    public func sync(tenant slug: String, token reference: String? = nil) async throws -> [TokenSyncReport] {
        let tenant = try tenant(slug)
        let tokens = try reference.map { [try ledger.requireToken(tenant: tenant.id, $0)] } ?? ledger.tokens(tenant: tenant.id)
        var reports: [TokenSyncReport] = []
        for token in tokens where token.state != .removed {
            reports.append(try await syncToken(tenant: tenant, token: token))
        }
        return reports
    }

    /// Syncs one token. Apple's refusals become token states and a report, not a thrown error:
    /// one dead token must not stop the sync of the others.
    func syncToken(tenant: Tenant, token: TokenRecord) async throws -> TokenSyncReport {
        var report = TokenSyncReport(tokenId: token.id, locationUid: token.locationUid, state: token.state)
        let apple = try requireApple()
        if token.expiresAt <= now && token.state == .active {
            try ledger.setTokenState(tenant: tenant.id, token: token.id, .expired, reason: "the token's expiry date passed")
        }
        do {
            let bearer = try bearer(of: token)
            let config = try await callApple(token) { try await apple.clientConfig(token: bearer) }
            switch ownership(config.mdmInfo, tenant: tenant) {
            case .claimed:
                _ = try noteOwnership(config.mdmInfo, token: token, tenant: tenant)
            case .unclaimed:
                // Nobody holds the location (e.g. Apple Configurator signed out): claim it back.
                _ = try await callApple(token) { try await apple.updateClientConfig(token: bearer, ClientConfigRequest(mdmInfo: self.mdmInfo(for: tenant))) }
                if token.state == .claimedElsewhere {
                    try ledger.setTokenState(tenant: tenant.id, token: token.id, .active, reason: "the location was free again and is claimed back")
                    try ledger.resumeOperations(token: token.id)
                }
            case .ours:
                break
            }
            let assets = try await readAllAssets(token: token, tenant: tenant, bearer: bearer, apple: apple)
            let snapshot = assets.compactMap { asset -> SnapshotAsset? in
                guard let pricing = PricingParam(rawValue: asset.pricingParam), AssetKey.isValidAdamId(asset.adamId) else { return nil }
                return SnapshotAsset(asset: AssetKey(adamId: asset.adamId, pricingParam: pricing), productType: asset.productType,
                                     deviceAssignable: asset.deviceAssignable, revocable: asset.revocable,
                                     total: max(0, asset.totalCount), appleAssigned: max(0, asset.assignedCount))
            }
            let applied = try ledger.applySnapshot(tenant: tenant.id, token: token.id, assets: snapshot)
            report.assets = snapshot.count
            report.assetsAdded = applied.assetsAdded
            report.overAllocated = applied.overAllocated
            if snapshot.allSatisfy({ $0.total == 0 }) {
                let warning = "location \(token.locationName) (\(token.locationUid)) holds no licences; is this the right location's token?"
                report.warnings.append(warning)
                try ledger.recordEvent(tenant: tenant.id, kind: "token_has_no_licences", token: token.id, detail: ["warning": warning])
            }
            for over in applied.overAllocated {
                report.warnings.append("app \(over.adamId):\(over.pricingParam) on token \(token.id) has \(over.excess) more licence(s) in use than Apple's total of \(over.total) (a refund, a transfer, or the wrong location's token)")
            }
        } catch let error as AllotError {
            report.error = error.message
        }
        let after = try ledger.requireToken(tenant: tenant.id, String(token.id.rawValue))
        report.state = after.state
        if TokenExpiry.isExpiringSoon(expiresAt: after.expiresAt, now: now) {
            let daysLeft = TokenExpiry.daysLeft(expiresAt: after.expiresAt, now: now)
            report.warnings.append("token \(token.id) expires in \(daysLeft) day(s); download a fresh file and renew it")
        }
        return report
    }

    /// Every page of a token's assets, read again from the start if Apple's `versionId` moves
    /// between pages (the data moved under us). `mdmInfo` is checked on every page.
    func readAllAssets(token: TokenRecord, tenant: Tenant, bearer: String, apple: any AppsAndBooksService) async throws -> [WireAsset] {
        try await readPaged(token: token) { pageIndex in
            let page = try await self.callApple(token) { try await apple.assets(token: bearer, query: AssetsQuery(pageIndex: pageIndex)) }
            guard try self.noteOwnership(page.mdmInfo, token: token, tenant: tenant) else {
                throw AllotError.conflict("location \(token.locationUid) is now managed by another server")
            }
            return (page.assets, page.nextPageIndex, page.versionId)
        }
    }

    func readAllAssignments(token: TokenRecord, bearer: String, apple: any AppsAndBooksService) async throws -> [WireAssignment] {
        try await readPaged(token: token) { pageIndex in
            let page = try await self.callApple(token) { try await apple.assignments(token: bearer, query: AssignmentsQuery(pageIndex: pageIndex)) }
            return (page.assignments, page.nextPageIndex, page.versionId)
        }
    }

    /// Pages are read one at a time (Apple allows at most 5 in flight; one keeps it simple and
    /// paced). Bounded: a read that keeps moving, or never ends, is refused.
    private func readPaged<Item: Sendable>(token: TokenRecord,
                                           page: (Int) async throws -> ([Item], Int?, String)) async throws -> [Item] {
        try await readPaged(locationUid: token.locationUid, page: page)
    }

    /// Also what `inspectTokenFile` reads with, before the location is a token of the ledger.
    func readPaged<Item: Sendable>(locationUid: String,
                                   page: (Int) async throws -> ([Item], Int?, String)) async throws -> [Item] {
        for _ in 0...settings.pagedReadRestartsMax {
            var items: [Item] = []
            var version: String?
            var next: Int? = 0
            var pages = 0
            var moved = false
            while let index = next {
                pages += 1
                guard pages <= settings.pagesMax else {
                    throw AllotError(.apple, "Apple answered more than \(settings.pagesMax) pages for location \(locationUid); giving up")
                }
                let (pageItems, nextIndex, pageVersion) = try await page(index)
                if let version, version != pageVersion { moved = true; break }
                version = pageVersion
                items += pageItems
                next = nextIndex
            }
            if !moved { return items }
        }
        throw AllotError(.apple, "Apple's data for location \(locationUid) kept changing during \(settings.pagedReadRestartsMax + 1) reads; sync again later")
    }
}
