import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What a sync found for one token.
public struct TokenSyncReport: Sendable, Hashable, Codable {
    /// How Apple's assignments were read this sync.
    public enum AssignmentsRead: String, Sendable, Hashable, Codable {
        /// One page asked with `sinceVersionId`: nothing changed at Apple since Apple and the
        /// ledger last agreed.
        case unchanged
        /// Every page, compared with the ledger.
        case full
    }

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
    /// True when that was because Apple could not be reached at all (no connection, no answer
    /// in time): the network or Apple's address needs looking at, not the token.
    public var appleUnreachable = false
    /// Assets whose `availableCount` at Apple differs from the ledger's arithmetic.
    public var countDifferences: [CountDifference] = []
    /// Differences between Apple's assignments and the ledger's.
    public var drift: [AssignmentDrift] = []
    /// Nil when the assignments were not read (the token is unusable, or Apple failed first).
    public var assignmentsRead: AssignmentsRead?
    /// What `--repair` did about the drift, when asked.
    public var repair: DriftRepair?
    /// The notification types Apple says the location is subscribed to.
    public var subscribedNotificationTypes: [String]?
}

extension TokenSyncReport {
    /// What `SyncAttention` decides from.
    public var attentionRead: SyncAttention.TokenRead {
        // With a repair, only what it could not repair (`left`) is still drift.
        SyncAttention.TokenRead(tokenId: tokenId, state: state, failure: error, appleUnreachable: appleUnreachable,
                                overAllocatedApps: overAllocated.count, unrepairedDrift: repair.map(\.left) ?? drift.count)
    }
}

extension Allot {
    /// Apple's error for a `sinceVersionId` it does not know (APPLE.md, "Paging errors").
    static let unknownVersionErrorNumber = 9721

    /// Reads every token of a tenant (or one) from Apple: totals, counts, ownership, and its
    /// assignments compared with the ledger's; applies them to the ledger and reports
    /// over-allocation and drift. With `repair`, drift is repaired: what Apple lacks is sent
    /// again through the outbox, what Apple has that the ledger does not is recorded.
    public func sync(tenant slug: String, token reference: String? = nil, repair: Bool = false) async throws -> [TokenSyncReport] {
        let tenant = try tenant(slug)
        let tokens = try reference.map { [try ledger.requireToken(tenant: tenant.id, $0)] } ?? ledger.tokens(tenant: tenant.id)
        var reports: [TokenSyncReport] = []
        for token in tokens where token.state != .removed {
            reports.append(try await syncToken(tenant: tenant, token: token, compareAssignments: true, repair: repair))
        }
        return reports
    }

    /// The sync the reconcile schedule runs: every token, repairing drift if the tenant says so.
    public func reconcile(tenant slug: String) async throws -> [TokenSyncReport] {
        try await sync(tenant: slug, repair: try ledger.reconcileRepairs(tenant: try tenant(slug).id))
    }

    /// Whether the reconcile schedule repairs the drift it finds (off by default: a repair
    /// sends licences to Apple).
    public func setReconcileRepairs(tenant slug: String, _ repairs: Bool) throws {
        try ledger.setReconcileRepairs(tenant: try tenant(slug).id, repairs)
    }

    public func reconcileRepairs(tenant slug: String) throws -> Bool {
        try ledger.reconcileRepairs(tenant: try tenant(slug).id)
    }

    /// Syncs one token. Any failure of this token (Apple's refusals, a malformed answer, the
    /// network) becomes its report's error, not a thrown one: one dead token must not stop the
    /// sync of the others. Only the ledger failing (the world) is thrown.
    func syncToken(tenant: Tenant, token: TokenRecord, compareAssignments: Bool = false, repair: Bool = false) async throws -> TokenSyncReport {
        var report = TokenSyncReport(tokenId: token.id, locationUid: token.locationUid, state: token.state)
        let apple = try requireApple()
        if token.expiresAt <= now && token.state == .active {
            try moveToken(token, on: .expired, reason: "the token's expiry date passed")
        }
        do {
            try await readApple(tenant: tenant, token: token, apple: apple, compareAssignments: compareAssignments, repair: repair, into: &report)
        } catch let error as AllotError {
            report.error = error.message
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as AppleServiceError {
            report.error = Self.explain(error)
        } catch let error as any AppleReachabilityFailure where !error.reachedApple {
            report.error = error.description
            report.appleUnreachable = true
        } catch {
            // The client's errors (a malformed answer, a timeout) name the call and never carry
            // the token or the answer's values.
            report.error = "\(error)"
        }
        let after = try ledger.requireToken(tenant: tenant.id, String(token.id.rawValue))
        report.state = after.state
        // A raised total, a token added, renewed or taken over: licences may have appeared.
        try serveQueue(tenant: tenant, asset: nil)
        try noteExpiryMilestone(tenant: tenant, token: after)
        try noteAlerts(tenant: tenant)
        if TokenExpiry.isExpiringSoon(expiresAt: after.expiresAt, now: now) {
            let daysLeft = TokenExpiry.daysLeft(expiresAt: after.expiresAt, now: now)
            report.warnings.append("token \(token.id) expires in \(daysLeft) day(s); download a fresh file and renew it")
        }
        return report
    }

    private func readApple(tenant: Tenant, token: TokenRecord, apple: any AppsAndBooksService, compareAssignments: Bool, repair: Bool,
                           into report: inout TokenSyncReport) async throws {
        let bearer = try bearer(of: token)
        let config = try await callApple(token) { try await apple.clientConfig(token: bearer) }
        report.subscribedNotificationTypes = config.subscribedNotificationTypes
        try noteAppleExpiry(config.tokenExpirationDate, token: token, tenant: tenant, report: &report)
        switch ownership(config.mdmInfo, tenant: tenant) {
        case .claimed:
            _ = try noteOwnership(config.mdmInfo, token: token, tenant: tenant)
        case .unclaimed:
            // Nobody holds the location (e.g. Apple Configurator signed out): claim it back.
            _ = try await callApple(token) { try await apple.updateClientConfig(token: bearer, ClientConfigRequest(mdmInfo: self.mdmInfo(for: tenant))) }
            if token.state == .claimedElsewhere {
                try moveToken(token, on: .reclaimed, reason: "the location was free again and is claimed back")
            }
        case .ours:
            break
        }
        // Read before Apple is: what finishes while Apple answers was in Apple's count.
        let oursBefore = try ledger.countsAtApple(tenant: tenant.id, token: token.id)
        let assets = try await readAllAssets(token: token, tenant: tenant, bearer: bearer, apple: apple)
        var snapshot: [SnapshotAsset] = []
        for asset in assets {
            guard let pricing = PricingParam(rawValue: asset.pricingParam), AssetKey.isValidAdamId(asset.adamId) else {
                report.warnings.append("Apple listed an asset that is not an app or book allot can hold ('\(asset.adamId.printableExcerpt):\(asset.pricingParam.printableExcerpt)'); it is left out")
                continue
            }
            snapshot.append(SnapshotAsset(asset: AssetKey(adamId: asset.adamId, pricingParam: pricing), productType: asset.productType,
                                          deviceAssignable: asset.deviceAssignable, revocable: asset.revocable,
                                          total: max(0, asset.totalCount), appleAssigned: max(0, asset.assignedCount),
                                          appleAvailable: asset.availableCount, appleRetired: asset.retiredCount))
        }
        let applied = try ledger.applySnapshot(tenant: tenant.id, token: token.id, assets: snapshot, oursBefore: oursBefore)
        report.assets = snapshot.count
        report.assetsAdded = applied.assetsAdded
        report.overAllocated = applied.overAllocated
        report.countDifferences = applied.countDifferences
        if snapshot.allSatisfy({ $0.total == 0 }) {
            let warning = "location \(token.locationName) (\(token.locationUid)) holds no licences; is this the right location's token?"
            report.warnings.append(warning)
            try ledger.recordEvent(tenant: tenant.id, kind: .tokenHasNoLicences, token: token.id, detail: ["warning": warning])
        }
        for over in applied.overAllocated {
            report.warnings.append("app \(over.adamId):\(over.pricingParam) on token \(token.id) has \(over.excess) more licence(s) in use than Apple's total of \(over.total) (a refund, a transfer, or the wrong location's token)")
        }
        for difference in applied.countDifferences {
            report.warnings.append("app \(difference.adamId):\(difference.pricingParam) on token \(token.id): Apple counts \(difference.appleAvailable) available but its total less the licences in use is \(difference.ledgerAvailable)"
                                   + (difference.retired > 0 ? " (\(difference.retired) retired)" : ""))
        }
        // Only a token that still answers as ours is compared: a claimed one is out of the pool.
        let current = try ledger.requireToken(tenant: tenant.id, String(token.id.rawValue))
        if current.state == .active || current.state == .expired {
            try await syncSubscriptionSeats(tenant: tenant, token: current, report: &report)
        }
        // People who had not accepted their invitation yet: Apple's word on them, in case a
        // USER_ASSOCIATED never arrived (no receiver, or it was lost). Nothing to read, no call.
        if current.state == .active {
            await readUsersBack(try ledger.usersNotYetAssociated(token: token.id), token: current, bearer: bearer, apple: apple)
        }
        guard compareAssignments, current.state == .active || current.state == .expired else { return }
        try await compareAssignmentsWithLedger(tenant: tenant, token: current, bearer: bearer, apple: apple, repair: repair, into: &report)
    }

    /// Apple's `tokenExpirationDate` wins over the file's date (the file can be stale; Apple
    /// sends the date only within 15 days of expiry), and so drives the expiry warning.
    private func noteAppleExpiry(_ text: String?, token: TokenRecord, tenant: Tenant, report: inout TokenSyncReport) throws {
        guard let text else { return }
        guard let date = VPPTokenFile.parseExpiry(text) else {
            report.warnings.append("Apple's tokenExpirationDate '\(text.printableExcerpt)' is not a date; the file's date is kept")
            return
        }
        let expiresAt = Int64(date.timeIntervalSince1970)
        try ledger.setTokenExpiry(tenant: tenant.id, token: token.id, expiresAt: expiresAt)
        if expiresAt <= now && token.state == .active {
            try moveToken(token, on: .expired, reason: "Apple's tokenExpirationDate passed")
        }
    }

    /// Compares Apple's assignments of a token with the ledger's, reporting (and recording as
    /// events) each difference. When Apple and the ledger last agreed at a `versionId`, one page
    /// asked with `sinceVersionId` tells whether anything changed; only then is every page read.
    /// Whether or not Apple filters by `sinceVersionId`, an unchanged `versionId` means nothing
    /// changed, and a full read is always correct.
    private func compareAssignmentsWithLedger(tenant: Tenant, token: TokenRecord, bearer: String, apple: any AppsAndBooksService,
                                              repair: Bool, into report: inout TokenSyncReport) async throws {
        if let agreed = try ledger.agreedAssignmentsVersion(token: token.id) {
            let changes = try await callApple(token) { () async throws -> AssignmentsPage? in
                do {
                    return try await apple.assignments(token: bearer, query: AssignmentsQuery(pageIndex: 0, sinceVersionId: agreed))
                } catch let error as AppleServiceError where error.errorNumber == Self.unknownVersionErrorNumber {
                    return nil   // Apple no longer knows that version: read everything.
                }
            }
            if let changes, changes.versionId == agreed, try ledger.licencesInFlight(token: token.id).isEmpty {
                report.assignmentsRead = .unchanged
                return
            }
        }
        let appleAssignments = try await readAllAssignments(token: token, bearer: bearer, apple: apple)
        report.assignmentsRead = .full
        var appleHeld = Set<HeldLicence>()
        for assignment in appleAssignments.items {
            // User assignments (clientUserId) are not this engine's; they are not compared.
            guard let serial = assignment.serialNumber, let pricing = PricingParam(rawValue: assignment.pricingParam) else { continue }
            appleHeld.insert(HeldLicence(asset: AssetKey(adamId: assignment.adamId, pricingParam: pricing), serial: serial))
        }
        let drift = DriftCheck.differences(apple: appleHeld, ledger: try ledger.heldLicences(tenant: tenant.id, token: token.id),
                                           inFlight: try ledger.licencesInFlight(token: token.id))
        report.drift = drift
        // Remembered only when they agree: drift not yet repaired is reported again next time.
        try ledger.rememberAgreedAssignmentsVersion(token: token.id, drift.isEmpty ? appleAssignments.versionId : nil)
        guard !drift.isEmpty else { return }
        try ledger.recordEvent(tenant: tenant.id, kind: .assignmentsDrift, token: token.id, detail: drift)
        report.warnings.append("\(drift.count { $0.kind == .missingAtApple }) licence(s) the ledger holds are missing at Apple and \(drift.count { $0.kind == .unknownToLedger }) Apple holds are unknown to the ledger"
                               + (repair ? "" : "; run `allot sync --repair` to send the missing again and record the unknown"))
        if repair {
            report.repair = try workflows.repairDrift(tenant: tenant.id, token: token.id, drift)
        }
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
        }.items
    }

    /// Every page of a token's assignments, with the `versionId` they were read at.
    func readAllAssignments(token: TokenRecord, bearer: String, apple: any AppsAndBooksService) async throws -> (items: [WireAssignment], versionId: String?) {
        try await readPaged(token: token) { pageIndex in
            let page = try await self.callApple(token) { try await apple.assignments(token: bearer, query: AssignmentsQuery(pageIndex: pageIndex)) }
            return (page.assignments, page.nextPageIndex, page.versionId)
        }
    }

    /// Pages are read one at a time (Apple allows at most 5 in flight; one keeps it simple and
    /// paced). Bounded: a read that keeps moving, or never ends, is refused.
    private func readPaged<Item: Sendable>(token: TokenRecord,
                                           page: (Int) async throws -> ([Item], Int?, String)) async throws -> (items: [Item], versionId: String?) {
        try await readPaged(locationUid: token.locationUid, page: page)
    }

    /// Also what `inspectTokenFile` reads with, before the location is a token of the ledger.
    func readPaged<Item: Sendable>(locationUid: String,
                                   page: (Int) async throws -> ([Item], Int?, String)) async throws -> (items: [Item], versionId: String?) {
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
            if !moved { return (items, version) }
        }
        throw AllotError(.apple, "Apple's data for location \(locationUid) kept changing during \(settings.pagedReadRestartsMax + 1) reads; sync again later")
    }
}
