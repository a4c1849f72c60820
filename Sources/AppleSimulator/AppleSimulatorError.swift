/// A misuse of the simulator itself (bad seed, unknown location in a control operation, an
/// unreadable state file) — as opposed to an answer of Apple's service, which is thrown as
/// `AppleServiceError`. A struct over a private enum so cases can be added without breaking callers.
public struct AppleSimulatorError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case invalidSeed
        case unknownLocation
        case unknownAsset
        case unknownEvent
        case invalidArgument
        case stateFile
    }

    private let kind: Kind
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func invalidSeed(_ reason: String) -> Self { .init(.invalidSeed, "invalid simulator seed: \(reason)") }
    static func unknownLocation(_ uId: String) -> Self { .init(.unknownLocation, "the simulator has no location \(uId)") }
    static func unknownAsset(_ adamId: String, _ pricingParam: String, location: String) -> Self {
        .init(.unknownAsset, "location \(location) has no asset \(adamId):\(pricingParam)")
    }
    static func unknownEvent(_ eventId: String) -> Self { .init(.unknownEvent, "the simulator has no event \(eventId)") }
    static func invalidArgument(_ reason: String) -> Self { .init(.invalidArgument, reason) }
    static func stateFile(_ reason: String) -> Self { .init(.stateFile, "simulator state file: \(reason)") }

    public var isUnknownLocation: Bool { kind == .unknownLocation }
    public var isInvalidSeed: Bool { kind == .invalidSeed }
}
