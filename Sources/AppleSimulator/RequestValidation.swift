import Foundation
import AppleAppsAndBooks

/// Apple's synchronous refusals of a write, checked as a flat ladder so the same request always
/// gets the same error: the shape (who), then the sizes, then duplicates, then the assets.
/// A refused request is refused whole (HTTP 400) and creates no event.
enum RequestValidation {
    /// The serial numbers of an associate or disassociate that passed every check.
    static func association(_ request: AssociationRequest, type: EventType, location uId: String,
                            assets: [SimulatedAsset], limits: ServiceLimits) throws -> [String] {
        let serials = try deviceSubjects(serialNumbers: request.serialNumbers, clientUserIds: request.clientUserIds)
        guard !request.assets.isEmpty else { throw invalid("no assets") }
        guard request.assets.count <= limits.maxAssets else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyAssets,
                                            detail: "\(request.assets.count) assets, at most \(limits.maxAssets)")
        }
        guard serials.count <= limits.maxSerialNumbers else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySerialNumbers,
                                            detail: "\(serials.count) serial numbers, at most \(limits.maxSerialNumbers)")
        }
        guard Set(request.assets).count == request.assets.count else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.duplicateAssets)
        }
        try checkDistinct(serials)
        for asset in request.assets {
            // Choice: an asset the location does not hold refuses the whole request (9602) rather
            // than failing one item later; asking for it is a bug in the caller, so say so loudly.
            guard let held = assets.first(where: { $0.key == asset }) else {
                throw invalid("location \(uId) has no asset \(asset.adamId):\(asset.pricingParam)")
            }
            if type == .associate, !held.deviceAssignable {
                throw ServiceErrorCatalog.error(AppleErrorNumber.notDeviceAssignable,
                                                detail: "\(asset.adamId):\(asset.pricingParam)")
            }
        }
        return serials
    }

    /// The serial numbers of a revoke that passed every check.
    static func revoke(_ request: RevokeRequest, limits: ServiceLimits) throws -> [String] {
        let serials = try deviceSubjects(serialNumbers: request.serialNumbers, clientUserIds: request.clientUserIds)
        guard serials.count <= limits.maxRevokeSerialNumbers else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManySerialNumbers,
                                            detail: "\(serials.count) serial numbers, at most \(limits.maxRevokeSerialNumbers) to revoke")
        }
        try checkDistinct(serials)
        return serials
    }

    /// Exactly one of serial numbers and client user ids. Only devices are modelled: user
    /// assignment (Apple IDs, registered users) is refused as an invalid argument.
    private static func deviceSubjects(serialNumbers: [String]?, clientUserIds: [String]?) throws -> [String] {
        let serials = serialNumbers ?? []
        let users = clientUserIds ?? []
        guard serials.isEmpty || users.isEmpty else { throw invalid("both serialNumbers and clientUserIds") }
        guard !users.isEmpty || !serials.isEmpty else { throw invalid("neither serialNumbers nor clientUserIds") }
        guard users.isEmpty else { throw invalid("the simulator does not model assignment to users") }
        guard !serials.contains(where: \.isEmpty) else { throw invalid("an empty serial number") }
        return serials
    }

    private static func checkDistinct(_ serials: [String]) throws {
        guard Set(serials).count == serials.count else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.duplicateSerialNumbers)
        }
    }

    private static func invalid(_ detail: String) -> AppleServiceError {
        ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument, detail: detail)
    }

    /// `POST /client/config`: all three fields present and within Apple's lengths, else 9723.
    static func mdmInfo(_ info: MDMInfo) throws {
        let fields: [(name: String, value: String, maxLength: Int)] = [
            ("id", info.id, MDMInfoLimits.idLengthMax),
            ("name", info.name, MDMInfoLimits.nameLengthMax),
            ("metadata", info.metadata, MDMInfoLimits.metadataLengthMax),
        ]
        for field in fields {
            guard !field.value.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.incompleteMDMInfo, detail: "mdmInfo.\(field.name) is empty")
            }
            guard field.value.count <= field.maxLength else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.incompleteMDMInfo,
                                                detail: "mdmInfo.\(field.name) is longer than \(field.maxLength)")
            }
        }
    }
}

/// Apple's limits on `mdmInfo` (APPLE.md, "Limits"), in characters.
enum MDMInfoLimits {
    static let idLengthMax = 100
    static let nameLengthMax = 100
    static let metadataLengthMax = 255
}
