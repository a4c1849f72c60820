import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What a token's owner check found on an Apple answer.
enum Ownership: Equatable {
    case ours
    case unclaimed
    case claimed(by: String)

    /// The other server that manages the location, if one does.
    var otherServer: String? { if case .claimed(let owner) = self { owner } else { nil } }
}

extension Allot {
    // MARK: Add, renew, remove, take over (DESIGN.md, Tokens)

    /// Adds a location's token to a tenant: the file is checked, Apple asked who holds the
    /// location, a location held by any tenant refused, one claimed by another server refused
    /// unless `takeover`, then claimed with the tenant's `mdmInfo` and synced.
    public func addToken(tenant slug: String, fileContents: String, takeover: Bool = false, priority: Int = 0) async throws -> TokenRecord {
        let tenant = try tenant(slug)
        let file = try parseTokenFile(fileContents)
        let apple = try requireApple()
        let config = try await callApple { try await apple.clientConfig(token: file.bearer) }
        try ledger.refuseIfLocationHeld(tenant: tenant.id, locationUid: config.uId, locationName: config.locationName)
        let previousOwner = try TokenFileChecks.add(locationName: config.locationName, locationUid: config.uId,
                                                    managedBy: ownership(config.mdmInfo, tenant: tenant).otherServer, takeover: takeover)
        _ = try await callApple { try await apple.updateClientConfig(token: file.bearer, ClientConfigRequest(mdmInfo: self.mdmInfo(for: tenant))) }
        let sealed = try secrets().seal(file.bearer)
        let id = try ledger.addToken(tenant: tenant.id, NewToken(
            locationUid: config.uId, locationName: config.locationName, orgName: file.orgName, secret: sealed,
            expiresAt: Int64(file.expiresAt.timeIntervalSince1970), priority: priority))
        if let previousOwner {
            try ledger.recordEvent(tenant: tenant.id, kind: .tokenTakenOver, token: id, detail: ["previousOwner": previousOwner])
        }
        _ = try await syncToken(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, String(id.rawValue)))
        try await configureReceiver(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, String(id.rawValue)))
        return try ledger.requireToken(tenant: tenant.id, String(id.rawValue))
    }

    /// Replaces a token's file with a fresh one for the same location. Assignments stay; the
    /// token returns to active. A file for another location is refused with both named.
    public func renewToken(tenant slug: String, token reference: String, fileContents: String) async throws -> TokenRecord {
        let tenant = try tenant(slug)
        let token = try ledger.requireToken(tenant: tenant.id, reference)
        // A removed token is refused before the file is read or Apple asked.
        if token.state == .removed { try checkRenewal(of: token, locationName: token.locationName, locationUid: token.locationUid) }
        let file = try parseTokenFile(fileContents)
        let apple = try requireApple()
        let config = try await callApple { try await apple.clientConfig(token: file.bearer) }
        try checkRenewal(of: token, locationName: config.locationName, locationUid: config.uId)
        let owner = ownership(config.mdmInfo, tenant: tenant)
        let claimedElsewhere: Bool = if case .claimed = owner { true } else { false }
        if !claimedElsewhere {
            _ = try await callApple { try await apple.updateClientConfig(token: file.bearer, ClientConfigRequest(mdmInfo: self.mdmInfo(for: tenant))) }
        }
        try ledger.renewToken(tenant: tenant.id, token: token.id, secret: try secrets().seal(file.bearer),
                              expiresAt: Int64(file.expiresAt.timeIntervalSince1970), orgName: file.orgName, locationName: config.locationName)
        if case .claimed(let other) = owner {
            try moveToken(token, on: .claimedElsewhere, ownerName: other, reason: "renewed, but \(other) manages the location; take it over to use it")
        } else {
            try moveToken(token, on: .renewed, reason: "renewed with a fresh file")
        }
        _ = try await syncToken(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, reference))
        try await configureReceiver(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, reference))
        return try ledger.requireToken(tenant: tenant.id, String(token.id.rawValue))
    }

    /// Removes a token: every assignment drawn on it is revoked (here at once, at Apple through
    /// the outbox); the devices that had those apps are returned for uninstall commands.
    public func removeToken(tenant slug: String, token reference: String) throws -> RevocationReport {
        let tenant = try tenant(slug)
        let token = try ledger.requireToken(tenant: tenant.id, reference)
        guard let removed = TokenLife.next(token.state, on: .removed) else { throw AllotError.conflict("token \(token.id) is already removed") }
        let report = try ledger.removeToken(tenant: tenant.id, token: token.id, state: removed)
        // Paused operations (a dead or claimed token) are sent by the next push once more:
        // a removed token delivers what it can, then its secret is erased.
        if removed.deliversToApple { try ledger.resumeOperations(token: token.id) }
        try ledger.eraseDrainedSecrets()
        return report
    }

    /// Takes a location back from another server: writes our `mdmInfo`, re-reads Apple's
    /// assignments and, with `cleanUp`, revokes those this server did not make.
    public func takeOver(tenant slug: String, token reference: String, cleanUp: Bool) async throws -> TakeoverReport {
        let tenant = try tenant(slug)
        let token = try ledger.requireToken(tenant: tenant.id, reference)
        guard token.state != .removed else { throw AllotError.conflict("token \(token.id) was removed; add its file again instead") }
        let apple = try requireApple()
        let bearer = try bearer(of: token)
        let before = try await callApple(token) { try await apple.clientConfig(token: bearer) }
        let previousOwner: String? = if case .claimed(let owner) = ownership(before.mdmInfo, tenant: tenant) { owner } else { nil }
        _ = try await callApple(token) { try await apple.updateClientConfig(token: bearer, ClientConfigRequest(mdmInfo: self.mdmInfo(for: tenant))) }
        // A token past its date is ours again, but dead: taken over, it is expired.
        try moveToken(token, on: token.expiresAt > now ? .takenOver : .expired, reason: "taken over")
        try ledger.recordEvent(tenant: tenant.id, kind: .tokenTakenOver, token: token.id,
                               detail: ["previousOwner": previousOwner ?? "nobody", "cleanUp": cleanUp ? "yes" : "no"])

        var report = TakeoverReport(tokenId: token.id, previousOwner: previousOwner, appleAssignments: 0, notOurs: 0, revoking: 0)
        let appleAssignments = try await readAllAssignments(token: token, bearer: bearer, apple: apple).items
        report.appleAssignments = appleAssignments.count
        let ours = try ledger.assignedSerials(tenant: tenant.id, token: token.id)
        var notOurs: [AssetKey: [SerialNumber]] = [:]
        for assignment in appleAssignments {
            guard let pricing = PricingParam(rawValue: assignment.pricingParam),
                  let serial = assignment.serialNumber.flatMap({ SerialNumber($0) }) else { continue }
            let key = AssetKey(adamId: assignment.adamId, pricingParam: pricing)
            if ours[key]?.contains(serial.value) != true { notOurs[key, default: []].append(serial) }
        }
        report.notOurs = notOurs.values.reduce(0) { $0 + $1.count }
        _ = try await syncToken(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, reference))
        // The previous owner's receiver got the location's notifications until now.
        try await configureReceiver(tenant: tenant, token: try ledger.requireToken(tenant: tenant.id, reference))
        if cleanUp && report.notOurs > 0 {
            report.revoking = try ledger.enqueueCleanUp(tenant: tenant.id, token: token.id, notOurs)
            try ledger.recordEvent(tenant: tenant.id, kind: .tokenCleanedUp, token: token.id, detail: ["revoking": report.revoking])
        }
        return report
    }

    public func tokenList(tenant slug: String) throws -> [TokenRecord] { try ledger.tokens(tenant: try tenant(slug).id) }

    // MARK: Helpers shared by the Apple-facing calls

    func parseTokenFile(_ contents: String) throws -> VPPTokenFile {
        do {
            return try VPPTokenFile(contents: contents, now: Date(timeIntervalSince1970: TimeInterval(now)))
        } catch {
            throw AllotError.invalidInput(error.description)
        }
    }

    func mdmInfo(for tenant: Tenant) -> MDMInfo {
        MDMInfo(id: tenant.mdmId, name: settings.serverName, metadata: "tenant \(tenant.slug)")
    }

    func checkRenewal(of token: TokenRecord, locationName: String, locationUid: String) throws {
        try TokenFileChecks.renew(token: token.id, state: token.state, tokenLocationName: token.locationName, tokenLocationUid: token.locationUid,
                                  fileLocationName: locationName, fileLocationUid: locationUid)
    }

    func ownership(_ info: MDMInfo?, tenant: Tenant) -> Ownership {
        guard let info, !info.id.isEmpty else { return .unclaimed }
        if info.id == tenant.mdmId { return .ours }
        return .claimed(by: info.name.isEmpty ? "another server (id \(info.id))" : info.name)
    }

    /// The decrypted Bearer of a token. Never logged.
    func bearer(of token: TokenRecord) throws -> String {
        guard let sealed = try ledger.tokenSecret(token: token.id) else {
            throw AllotError.conflict("token \(token.id) has no stored file any more (it was removed); add the file again")
        }
        return try secrets().open(sealed)
    }

    static let stoppingError = AllotError(.unavailable, "the server is stopping and starts no more calls to Apple; ask again once it is back")

    /// Runs one Apple call, turning Apple's refusals into one clear sentence.
    func callApple<T: Sendable>(_ token: TokenRecord? = nil, _ call: () async throws -> T) async throws -> T {
        if let token { await pace(token.id) }
        // A stopping server finishes the calls in flight and starts none: a request that was
        // syncing answers with what it has instead of holding the stop past its bound.
        guard !delivery.stopping else { throw Self.stoppingError }
        do {
            return try await call()
        } catch let error as AppleServiceError {
            if let token { try noteTokenDeath(error, token: token) }
            throw AllotError(.apple, Self.explain(error))
        }
    }

    /// Marks a token expired, revoked or invalid when Apple says so, and pauses its operations.
    func noteTokenDeath(_ error: AppleServiceError, token: TokenRecord) throws {
        let event: TokenEvent
        switch error.classification {
        case .tokenExpired: event = .expired
        case .tokenRevoked: event = .revokedByApple
        case .tokenInvalid: event = .rejected
        default: return
        }
        try moveToken(token, on: event, reason: "Apple answered \(error.errorNumber): \(error.message)")
    }

    /// Records a claim by another server seen on any answer: the token stops supplying licences.
    func noteOwnership(_ info: MDMInfo?, token: TokenRecord, tenant: Tenant) throws -> Bool {
        guard case .claimed(let owner) = ownership(info, tenant: tenant) else { return true }
        try moveToken(token, on: .claimedElsewhere, ownerName: owner, reason: "Apple reports \(owner) manages the location")
        return false
    }

    static func explain(_ error: AppleServiceError) -> String {
        switch error.classification {
        case .tokenExpired: "Apple says the token has expired (\(error.errorNumber)); download a fresh one and renew it"
        case .tokenRevoked: "Apple has revoked the token (\(error.errorNumber)); download a fresh one and renew it"
        case .tokenInvalid: "Apple does not accept the token (\(error.errorNumber): \(error.message)); download it again, it may have been replaced by a newer file"
        case .retryLater: "Apple is busy or unavailable (\(error.errorNumber)); try again later"
        case .ourBug, .itemRefused, .other: "Apple refused the request (\(error.errorNumber): \(error.message))"
        }
    }

    /// Waits as needed to stay under Apple's requests per second for one token.
    func pace(_ token: TokenID) async {
        guard settings.paceRequests else { return }
        let perSecond = max(1, limitsCache?.limits.maxRequestPerSecond ?? ServiceLimits.appleDefaults.maxRequestPerSecond)
        // The lanes' rule (`LaneScheduler`, with its margin for Apple counting arrivals).
        let spacing = Duration.nanoseconds(LaneScheduler.spacingNanoseconds(perSecond: perSecond))
        let clock = ContinuousClock()
        if let last = lastAppleCall[token] {
            let next = last.advanced(by: spacing)
            lastAppleCall[token] = max(next, clock.now)
            if next > clock.now { try? await clock.sleep(until: next) }
        } else {
            lastAppleCall[token] = clock.now
        }
    }
}

public struct TakeoverReport: Sendable, Hashable, Codable {
    public let tokenId: TokenID
    public let previousOwner: String?
    /// Assignments Apple lists for the location.
    public var appleAssignments: Int
    /// Of those, the ones this server did not make.
    public var notOurs: Int
    /// Of those, the ones queued for revocation (with clean-up).
    public var revoking: Int
}
