import AllotStore

/// A device as published (`devices list`, `GET /v1/tenants/{slug}/devices`).
public struct DeviceView: Encodable, Sendable {
    public let serialNumber: String
    @AlwaysPresent public var name: String?
    @AlwaysPresent public var model: String?
    @AlwaysPresent public var group: String?
    public let retired: Bool

    public init(_ device: Device) {
        serialNumber = device.serialNumber
        name = device.name
        model = device.model
        group = device.group
        retired = device.retired
    }
}

public struct DeviceListView: Encodable, Sendable {
    public let devices: [DeviceView]
    public init(_ devices: [Device]) { self.devices = devices.map(DeviceView.init) }
}

/// What a registration or roster import did; `line` is the line in the file (header = 1) or
/// the 1-based position in a JSON list.
public struct ImportView: Encodable, Sendable {
    public struct Rejection: Encodable, Sendable {
        public let line: Int
        public let reason: String
    }
    public let imported: Int
    public let updated: Int
    public let rejected: [Rejection]

    public init(_ report: ImportReport, alsoRejected: [(line: Int, reason: String)] = []) {
        imported = report.imported
        updated = report.updated
        rejected = report.rejected.map { Rejection(line: $0.line, reason: $0.reason) } + alsoRejected.map { Rejection(line: $0.line, reason: $0.reason) }
    }
}

/// Licences taken back (`token remove`, `devices retire`): the serials need an uninstall.
public struct RevocationView: Encodable, Sendable {
    public let revoked: Int
    public let devices: [String]
    public init(_ report: RevocationReport) {
        revoked = report.revoked
        devices = report.devices
    }
}
