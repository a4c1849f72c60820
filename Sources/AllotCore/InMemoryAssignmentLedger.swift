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

        /// One word into the hasher instead of two (`==` still compares both).
        @inline(__always)
        public func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(bitPattern: device.rawValue) ^ (UInt64(bitPattern: asset.rawValue) &* 0x9E37_79B9_7F4A_7C15))
        }
    }

    public init(devices: [SerialNumber: DeviceRef] = [:], assignments: [AssignmentKey: TokenID] = [:]) {
        self.devices = devices
        self.assignments = assignments
    }

    public mutating func device(serial: SerialNumber) -> DeviceRef? { devices[serial] }

    public mutating func insertAssignment(asset: AssetID, device: DeviceID, token: TokenID) -> Bool {
        // One lookup: insert, and put the earlier token back in the rare case there was one.
        let key = AssignmentKey(asset: asset, device: device)
        guard let earlier = assignments.updateValue(token, forKey: key) else { return true }
        assignments[key] = earlier
        return false
    }

    public mutating func holds(asset: AssetID, device: DeviceID) -> Bool {
        assignments[AssignmentKey(asset: asset, device: device)] != nil
    }

    public mutating func deleteAssignment(asset: AssetID, device: DeviceID) -> TokenID? {
        assignments.removeValue(forKey: AssignmentKey(asset: asset, device: device))
    }
}
