import AppleAppsAndBooks
import Foundation

// Apple's calls, one method each, on the state of one transaction. `AppleSimulator` opens the
// transaction around each.

extension SimulatorState {
    static let countryISO2ACode = "US"
    static let defaultPlatform = "volumestore"
    static let notificationTypes = [NotificationType.assetManagement, NotificationType.assetCount, NotificationType.userManagement,
                                    NotificationType.userAssociated, NotificationType.subscriptionCount,
                                    NotificationType.subscriptionManagement]
    /// Apple's invitation template (Apple's "Managing users"): the placeholder is replaced by
    /// a registered user's `inviteCode`.
    static let invitationEmailURL =
        "https://buy.itunes.apple.com/WebObjects/MZFinance.woa/wa/associateVPPUserWithITSAccount?inviteCode=%25inviteCode%25&mt=8"
    static let baseURL = "https://vpp.itunes.apple.com/mdm/v2"

    func serviceConfig() throws -> ServiceConfig {
        try beginUnauthenticatedCall()
        return ServiceConfig(
            limits: settings.limits, errorCodes: ServiceErrorCatalog.wireCodes,
            urls: [
                "clientConfig": "\(Self.baseURL)/client/config",
                "getAssets": "\(Self.baseURL)/assets",
                "getAssignments": "\(Self.baseURL)/assignments",
                "associateAssets": "\(Self.baseURL)/assets/associate",
                "disassociateAssets": "\(Self.baseURL)/assets/disassociate",
                "revokeAssets": "\(Self.baseURL)/assets/revoke",
                "status": "\(Self.baseURL)/status",
                "getUsers": "\(Self.baseURL)/users",
                "createUsers": "\(Self.baseURL)/users/create",
                "updateUsers": "\(Self.baseURL)/users/update",
                "retireUsers": "\(Self.baseURL)/users/retire",
                "getSubscriptions": "\(Self.baseURL)/subscriptions",
                "getSubscriptionAssignments": "\(Self.baseURL)/subscriptions/assignments",
                "associateSubscriptions": "\(Self.baseURL)/subscriptions/associate",
                "disassociateSubscriptions": "\(Self.baseURL)/subscriptions/disassociate",
                "enableSubscriptions": "\(Self.baseURL)/subscriptions/enable",
                "disableSubscriptions": "\(Self.baseURL)/subscriptions/disable",
                ServiceConfig.invitationURLKey: Self.invitationEmailURL,
            ],
            notificationTypes: Self.notificationTypes
        )
    }

    func clientConfig(token: String, now: Date) throws -> ClientConfig {
        clientConfig(of: try beginCall(token: token, now: now))
    }

    /// Validates a `POST /client/config` before anything is sent or written: the location, and
    /// the notification receiver it asks for (nil: none).
    func checkClientConfig(token: String, _ request: ClientConfigRequest, now: Date) throws -> (String, NotificationTarget?) {
        let location = try beginCall(token: token, now: now)
        try RequestValidation.mdmInfo(request.mdmInfo)
        return (location.uId, try RequestValidation.notificationTarget(request, location: location.uId))
    }

    /// Writes a configuration `checkClientConfig` accepted (and whose test notification
    /// arrived). The call was already counted and faulted by the check: only the token is
    /// looked at again, since it may have changed meanwhile.
    func writeClientConfig(token: String, _ request: ClientConfigRequest, now: Date) throws -> ClientConfig {
        var location = try authenticate(token, now: now)
        try RequestValidation.mdmInfo(request.mdmInfo)
        let target = try RequestValidation.notificationTarget(request, location: location.uId)
        location.mdmInfo = request.mdmInfo
        location.notificationUrl = target?.url
        location.notificationAuthToken = target?.authToken
        location.notificationTypes = target?.types
        location.version = nextSequence()
        try store.update(location)
        return clientConfig(of: location)
    }

    func assets(token: String, query: AssetsQuery, now: Date) throws -> AssetsPage {
        let location = try beginCall(token: token, now: now)
        let matching = try store.assets(location: location.uId).filter { asset in
            (query.adamId.map { $0 == asset.adamId } ?? true) && (query.pricingParam.map { $0 == asset.pricingParam } ?? true)
        }
        let page = try Page(of: matching, pageIndex: query.pageIndex, pageSize: settings.pageSize)
        // Asked with `unlimited`, Apple answers the unlimited ones apart, without counts.
        let apart = query.unlimited == true
        return AssetsPage(
            assets: page.items.filter { !apart || !$0.unlimited }.map { $0.wire() }, currentPageIndex: page.currentPageIndex,
            nextPageIndex: page.nextPageIndex, totalPages: page.totalPages, size: page.size,
            versionId: location.versionId, uId: location.uId,
            tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo,
            unlimitedAssets: apart ? page.items.filter(\.unlimited).map { $0.wireUnlimited() } : nil
        )
    }

    /// Filters by asset, serial and user; `sinceVersionId` answers only what was assigned after
    /// that version (Apple's list has no way to say what was removed: a periodic full read
    /// does). Devices' licences come first, then users', each in the order they were made.
    func assignments(token: String, query: AssignmentsQuery, now: Date) throws -> AssignmentsPage {
        let location = try beginCall(token: token, now: now)
        guard query.serialNumber == nil || query.clientUserId == nil else {
            throw RequestValidation.invalid("both serialNumber and clientUserId")
        }
        let since = try query.sinceVersionId.map { try Self.version(of: $0, location: location) }
        let filter = SimulatorStore.AssignmentFilter(
            adamId: query.adamId, pricingParam: query.pricingParam, serialNumber: query.serialNumber, sinceVersion: since
        )
        let userFilter = SimulatorStore.UserAssignmentFilter(
            adamId: query.adamId, pricingParam: query.pricingParam, clientUserId: query.clientUserId, sinceVersion: since
        )
        let deviceCount = query.clientUserId == nil ? try store.countAssignments(location: location.uId, filter) : 0
        let userCount = query.serialNumber == nil ? try store.countUserAssignments(location: location.uId, userFilter) : 0
        let size = deviceCount + userCount
        let window = try PageWindow(size: size, pageIndex: query.pageIndex, pageSize: settings.pageSize)
        var items: [WireAssignment] = []
        if window.offset < deviceCount {
            items = try store.assignments(location: location.uId, filter, offset: window.offset, limit: settings.pageSize)
        }
        if items.count < settings.pageSize, userCount > 0 {
            items += try store.userAssignments(location: location.uId, userFilter, offset: max(0, window.offset - deviceCount),
                                               limit: settings.pageSize - items.count)
        }
        return AssignmentsPage(
            assignments: items, currentPageIndex: window.currentPageIndex, nextPageIndex: window.nextPageIndex,
            totalPages: window.totalPages, size: size, versionId: location.versionId, uId: location.uId,
            tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo
        )
    }

    /// A `versionId` this location answered: `<uId>-v<version>`, not after its current one.
    static func version(of versionId: String, location: SimulatedLocation) throws -> Int {
        let prefix = "\(location.uId)-v"
        guard versionId.hasPrefix(prefix), let version = Int(versionId.dropFirst(prefix.count)),
              version >= 1, version <= location.version else {
            throw ServiceErrorCatalog.error(ServiceErrorCatalog.unknownVersionId, detail: "\(versionId) is not a version of this location")
        }
        return version
    }

    func associate(token: String, _ request: AssociationRequest, type: EventType, now: Date) throws -> EventResponse {
        precondition(type != .revoke, "revoke has its own request")
        let location = try beginCall(token: token, now: now)
        let subjects = try RequestValidation.association(request, type: type, location: location.uId,
                                                         assets: try store.assets(location: location.uId), limits: settings.limits)
        let eventId = try recordEvent(type: type, location: location.uId, assets: request.assets, serialNumbers: subjects.ids,
                                      details: subjects.forUsers ? EventDetails(forUsers: true) : nil)
        return eventResponse(eventId, location: location, now: now)
    }

    func revoke(token: String, _ request: RevokeRequest, now: Date) throws -> EventResponse {
        let location = try beginCall(token: token, now: now)
        let subjects = try RequestValidation.revoke(request, limits: settings.limits)
        let eventId = try recordEvent(type: .revoke, location: location.uId, assets: [], serialNumbers: subjects.ids,
                                      details: subjects.forUsers ? EventDetails(forUsers: true) : nil)
        return eventResponse(eventId, location: location, now: now)
    }

    func eventStatus(token: String, eventId: String, now: Date) throws -> EventStatus {
        let location = try beginCall(token: token, now: now)
        return try pollEvent(eventId: eventId, location: location, now: now)
    }

    private func clientConfig(of location: SimulatedLocation) -> ClientConfig {
        // client/config always carries the date: it is how an engine learns it at all.
        ClientConfig(
            uId: location.uId, locationName: location.locationName, countryISO2ACode: Self.countryISO2ACode,
            defaultPlatform: Self.defaultPlatform, tokenExpirationDate: location.tokenExpirationDate,
            mdmInfo: location.mdmInfo, notificationUrl: location.notificationUrl,
            notificationTypes: location.notificationTypes
        )
    }

    private func eventResponse(_ eventId: String, location: SimulatedLocation, now: Date) -> EventResponse {
        EventResponse(eventId: eventId, uId: location.uId, tokenExpirationDate: location.answeredExpirationDate(now: now),
                      mdmInfo: location.mdmInfo)
    }
}

extension SimulatedAsset {
    /// Supported platforms answered for every asset; the simulator does not vary them.
    static let supportedPlatforms = ["iOS", "macOS"]

    /// An unlimited free asset reads `totalCount` 2147483647, as Apple answers it to a caller
    /// that does not ask with `unlimited`: a number no person should be shown as a count.
    func wire() -> WireAsset {
        WireAsset(
            adamId: adamId, pricingParam: pricingParam, productType: productType,
            totalCount: unlimited ? SimulatorDefaults.unlimitedTotalCount : total, assignedCount: assigned,
            availableCount: unlimited ? SimulatorDefaults.unlimitedTotalCount - assigned : available,
            retiredCount: 0, deviceAssignable: deviceAssignable, revocable: revocable,
            supportedPlatforms: Self.supportedPlatforms
        )
    }

    func wireUnlimited() -> WireUnlimitedAsset {
        precondition(unlimited, "only an unlimited asset is answered without counts")
        return WireUnlimitedAsset(adamId: adamId, pricingParam: pricingParam, productType: productType, assignedCount: assigned,
                                  deviceAssignable: deviceAssignable, revocable: revocable, supportedPlatforms: Self.supportedPlatforms)
    }
}
