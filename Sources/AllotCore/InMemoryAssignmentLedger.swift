/// The planner's ledger held in memory: for measuring planning without I/O and for checking the
/// SQLite ledger against a simple model. Same answers as the SQLite one, by construction of
/// the protocol.
public struct InMemoryAssignmentLedger: AssignmentLedger, Sendable {
    public var devices: [SerialNumber: DeviceRef]
    /// The token each (asset, device) pair drew on.
    public var assignments: [AssignmentKey: TokenID]

    public struct AssignmentKey: Hashable, Sendable {
        public let asset: AssetID
        public let device: DeviceID
        public init(asset: AssetID, device: DeviceID) {
            self.asset = asset
            self.device = device
        }
    }

    public init(devices: [SerialNumber: DeviceRef] = [:], assignments: [AssignmentKey: TokenID] = [:]) {
        self.devices = devices
        self.assignments = assignments
    }

    public mutating func device(serial: SerialNumber) -> DeviceRef? { devices[serial] }

    public mutating func insertAssignment(asset: AssetID, device: DeviceID, token: TokenID) -> Bool {
        let key = AssignmentKey(asset: asset, device: device)
        guard assignments[key] == nil else { return false }
        assignments[key] = token
        return true
    }

    public mutating func holds(asset: AssetID, device: DeviceID) -> Bool {
        assignments[AssignmentKey(asset: asset, device: device)] != nil
    }

    public mutating func deleteAssignment(asset: AssetID, device: DeviceID) -> TokenID? {
        assignments.removeValue(forKey: AssignmentKey(asset: asset, device: device))
    }
}
