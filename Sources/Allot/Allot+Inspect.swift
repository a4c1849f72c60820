import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What a token file is and what adding or renewing it would do, found without changing
/// anything: the ledger is only read, Apple is only asked (client config and assets, never
/// `mdmInfo` written), and the file is never stored or shown.
public struct TokenInspection: Sendable, Hashable {
    public enum Operation: String, Sendable, Hashable {
        case add
        case renew
    }

    /// Who Apple says manages the location now.
    public enum Manager: Sendable, Hashable {
        case nobody
        case thisTenant
        case anotherServer(name: String)
    }

    /// What the operation would do.
    public enum Verdict: Sendable, Hashable {
        /// Claim the location for the tenant and sync it.
        case wouldAdd
        /// Take the location over from `from`, then claim and sync it.
        case wouldTakeOver(from: String)
        /// Renew the token, keeping its assignments.
        case wouldRenew(TokenID)
        /// Refused, nothing would change: the refusal the real operation gives.
        case refused(AllotError)
    }

    public let operation: Operation
    public let locationUid: String
    public let locationName: String
    public let orgName: String
    /// Seconds since 1970.
    public let expiresAt: Int64
    public let manager: Manager
    /// Assets at the location, and their licences: Apple's totals and those in use (by anyone).
    public let apps: Int
    public let licences: Int
    public let licencesInUse: Int
    /// Whether another server manages the location, so adding needs take-over.
    public var takeoverNeeded: Bool { if case .anotherServer = manager { true } else { false } }
    public let verdict: Verdict
}

extension Allot {
    /// Reads a token file and asks Apple about its location, changing nothing anywhere, and says
    /// what `addToken` (with `takeover`) or, with `renewing`, `renewToken` of that token would do.
    ///
    /// Without a tenant the file is judged against the whole ledger: the tenant whose `mdmInfo`
    /// Apple shows (if any) is "this tenant", and a location any tenant holds is refused.
    public func inspectTokenFile(tenant slug: String?, fileContents: String, renewing reference: String? = nil,
                                 takeover: Bool = false) async throws -> TokenInspection {
        let tenant = try slug.map { try self.tenant($0) }
        if reference != nil && tenant == nil { throw AllotError.invalidInput("renewing a token needs the tenant that holds it") }
        let renewed = try reference.map { try ledger.requireToken(tenant: tenant!.id, $0) }
        let file = try parseTokenFile(fileContents)
        let apple = try requireApple()
        let config = try await callApple { try await apple.clientConfig(token: file.bearer) }
        let assets = try await readAssetsForInspection(bearer: file.bearer, locationUid: config.uId, apple: apple)

        let owner: Ownership
        let mdmId = config.mdmInfo?.id ?? ""
        if let judge = try tenant ?? (mdmId.isEmpty ? nil : ledger.tenants().first { $0.mdmId == mdmId }) {
            owner = ownership(config.mdmInfo, tenant: judge)
        } else if let info = config.mdmInfo, !info.id.isEmpty {
            owner = .claimed(by: info.name.isEmpty ? "another server (id \(info.id))" : info.name)
        } else {
            owner = .unclaimed
        }
        let verdict: TokenInspection.Verdict
        do {
            if let renewed {
                try checkRenewal(of: renewed, locationName: config.locationName, locationUid: config.uId)
                verdict = .wouldRenew(renewed.id)
            } else {
                if let tenant {
                    try ledger.refuseIfLocationHeld(tenant: tenant.id, locationUid: config.uId, locationName: config.locationName)
                } else if let held = try ledger.allTokens().first(where: { $0.locationUid == config.uId }) {
                    let holder = try ledger.tenants().first { $0.id == held.tenantId }?.slug ?? "\(held.tenantId)"
                    throw AllotError.conflict("location \(config.locationName) (\(config.uId)) is already token \(held.id) of tenant \(holder) on this server; a location belongs to one tenant only")
                }
                let previousOwner = try TokenFileChecks.add(locationName: config.locationName, locationUid: config.uId,
                                                            managedBy: owner.otherServer, takeover: takeover)
                verdict = previousOwner.map { .wouldTakeOver(from: $0) } ?? .wouldAdd
            }
        } catch let refusal as AllotError {
            verdict = .refused(refusal)
        }
        let manager: TokenInspection.Manager = switch owner {
        case .unclaimed: .nobody
        case .ours: .thisTenant
        case .claimed(let name): .anotherServer(name: name)
        }
        return TokenInspection(
            operation: renewed == nil ? .add : .renew, locationUid: config.uId, locationName: config.locationName, orgName: file.orgName,
            expiresAt: Int64(file.expiresAt.timeIntervalSince1970), manager: manager, apps: assets.count,
            licences: assets.reduce(0) { $0 + $1.totalCount }, licencesInUse: assets.reduce(0) { $0 + $1.assignedCount }, verdict: verdict)
    }

    /// Every page of the location's assets, read as a sync reads them (restarted if Apple's
    /// `versionId` moves), so the counts are of one moment.
    private func readAssetsForInspection(bearer: String, locationUid: String, apple: any AppsAndBooksService) async throws -> [WireAsset] {
        try await readPaged(locationUid: locationUid) { pageIndex in
            let page = try await self.callApple { try await apple.assets(token: bearer, query: AssetsQuery(pageIndex: pageIndex)) }
            return (page.assets, page.nextPageIndex, page.versionId)
        }.items
    }
}
