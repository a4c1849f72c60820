/// One device licence as the simulator holds it, with the location it was drawn from: what
/// `allot sim assignments` prints, so tests can compare Apple's truth with the engine's ledger.
public struct SimulatorAssignment: Sendable, Hashable, Codable {
    public var adamId: String
    public var pricingParam: String
    public var serialNumber: String
    public var locationUid: String

    public init(adamId: String, pricingParam: String, serialNumber: String, locationUid: String) {
        self.adamId = adamId
        self.pricingParam = pricingParam
        self.serialNumber = serialNumber
        self.locationUid = locationUid
    }
}
