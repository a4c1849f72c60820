import AppleAppsAndBooks
import Foundation

// Apple's calls, one method each, on the state value. `AppleSimulator` wraps each in a
// transaction on the state file.

extension SimulatorState {
    static let countryISO2ACode = "US"
    static let defaultPlatform = "volumestore"
    static let notificationTypes = ["ASSET_MANAGEMENT", "ASSET_COUNT"]
    static let baseURL = "https://vpp.itunes.apple.com/mdm/v2"

    mutating func serviceConfig() throws -> ServiceConfig {
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
            ],
            notificationTypes: Self.notificationTypes
        )
    }

    mutating func clientConfig(token: String, now: Date) throws -> ClientConfig {
        let index = try beginCall(token: token, now: now)
        return clientConfig(of: locations[index])
    }

    mutating func updateClientConfig(token: String, _ request: ClientConfigRequest, now: Date) throws -> ClientConfig {
        let index = try beginCall(token: token, now: now)
        try RequestValidation.mdmInfo(request.mdmInfo)
        locations[index].mdmInfo = request.mdmInfo
        locations[index].notificationUrl = request.notificationUrl
        locations[index].notificationTypes = request.notificationTypes
        locations[index].version = nextSequence()
        return clientConfig(of: locations[index])
    }

    mutating func assets(token: String, query: AssetsQuery, now: Date) throws -> AssetsPage {
        let index = try beginCall(token: token, now: now)
        let location = locations[index]
        let matching = location.assets.filter { asset in
            (query.adamId.map { $0 == asset.adamId } ?? true) && (query.pricingParam.map { $0 == asset.pricingParam } ?? true)
        }
        let page = try Page(of: matching, pageIndex: query.pageIndex, pageSize: settings.pageSize)
        return AssetsPage(
            assets: page.items.map { location.wireAsset($0) }, currentPageIndex: page.currentPageIndex,
            nextPageIndex: page.nextPageIndex, totalPages: page.totalPages, size: page.size,
            versionId: location.versionId, uId: location.uId,
            tokenExpirationDate: location.tokenExpirationDate, mdmInfo: location.mdmInfo
        )
    }

    /// `sinceVersionId` is accepted and ignored: the whole (filtered) list is answered.
    mutating func assignments(token: String, query: AssignmentsQuery, now: Date) throws -> AssignmentsPage {
        let index = try beginCall(token: token, now: now)
        let location = locations[index]
        let matching = location.assignments.filter { assignment in
            (query.adamId.map { $0 == assignment.adamId } ?? true)
                && (query.pricingParam.map { $0 == assignment.pricingParam } ?? true)
                && (query.serialNumber.map { $0 == assignment.serialNumber } ?? true)
        }
        let page = try Page(of: matching, pageIndex: query.pageIndex, pageSize: settings.pageSize)
        return AssignmentsPage(
            assignments: page.items.map {
                WireAssignment(adamId: $0.adamId, pricingParam: $0.pricingParam, serialNumber: $0.serialNumber)
            },
            currentPageIndex: page.currentPageIndex, nextPageIndex: page.nextPageIndex,
            totalPages: page.totalPages, size: page.size, versionId: location.versionId, uId: location.uId,
            tokenExpirationDate: location.tokenExpirationDate, mdmInfo: location.mdmInfo
        )
    }

    mutating func associate(token: String, _ request: AssociationRequest, type: EventType, now: Date) throws -> EventResponse {
        precondition(type != .revoke, "revoke has its own request")
        let index = try beginCall(token: token, now: now)
        let serials = try RequestValidation.association(request, type: type, location: locations[index], limits: settings.limits)
        let eventId = recordEvent(type: type, locationIndex: index, assets: request.assets, serialNumbers: serials)
        return eventResponse(eventId, location: locations[index])
    }

    mutating func revoke(token: String, _ request: RevokeRequest, now: Date) throws -> EventResponse {
        let index = try beginCall(token: token, now: now)
        let serials = try RequestValidation.revoke(request, limits: settings.limits)
        let eventId = recordEvent(type: .revoke, locationIndex: index, assets: [], serialNumbers: serials)
        return eventResponse(eventId, location: locations[index])
    }

    mutating func eventStatus(token: String, eventId: String, now: Date) throws -> EventStatus {
        let index = try beginCall(token: token, now: now)
        return try pollEvent(eventId: eventId, locationIndex: index)
    }

    private func clientConfig(of location: SimulatedLocation) -> ClientConfig {
        ClientConfig(
            uId: location.uId, locationName: location.locationName, countryISO2ACode: Self.countryISO2ACode,
            defaultPlatform: Self.defaultPlatform, tokenExpirationDate: location.tokenExpirationDate,
            mdmInfo: location.mdmInfo, notificationUrl: location.notificationUrl,
            notificationTypes: location.notificationTypes
        )
    }

    private func eventResponse(_ eventId: String, location: SimulatedLocation) -> EventResponse {
        EventResponse(eventId: eventId, uId: location.uId, tokenExpirationDate: location.tokenExpirationDate,
                      mdmInfo: location.mdmInfo)
    }
}

extension SimulatedLocation {
    /// Supported platforms answered for every asset; the simulator does not vary them.
    static let supportedPlatforms = ["iOS", "macOS"]

    func wireAsset(_ asset: SimulatedAsset) -> WireAsset {
        let assigned = assignedCount(asset.key)
        // `total` may have been set below what is held (a refund, a transfer): nothing is then
        // available, and the engine is expected to notice the over-allocation.
        return WireAsset(
            adamId: asset.adamId, pricingParam: asset.pricingParam, productType: asset.productType,
            totalCount: asset.total, assignedCount: assigned, availableCount: max(0, asset.total - assigned),
            retiredCount: 0, deviceAssignable: asset.deviceAssignable, revocable: asset.revocable,
            supportedPlatforms: Self.supportedPlatforms
        )
    }
}
