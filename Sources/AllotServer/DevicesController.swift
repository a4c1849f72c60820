import Allot
import AllotStore
import AllotCore
import AllotViews
import Hummingbird

/// A tenant's devices: register a batch (JSON), upload a CSV roster, retire, list.
struct DevicesController {

    struct RegisterRequest: Decodable {
        struct Item: Decodable {
            let serialNumber: String
            let name: String?
            let model: String?
            let group: String?
        }
        let devices: [Item]
    }

    struct RetireRequest: Decodable {
        let serialNumbers: [String]
    }

    func addRoutes(to group: RouterGroup<AllotRequestContext>) {
        group.get("devices", use: list)
        group.post("devices", use: register)
        group.post("devices/import", use: importRoster)
        group.post("devices/retire", use: retire)
    }

    @Sendable func list(_ request: Request, context: AllotRequestContext) async throws -> DeviceListView {
        let group = request.uri.queryParameters["group"].map(String.init)
        return DeviceListView(try await context.engine.devices(tenant: try context.requireTenant(), group: group))
    }

    /// Registers (or updates) devices. A bad serial is rejected with its 1-based position in
    /// `devices` as `line`; the others are registered.
    @Sendable func register(_ request: Request, context: AllotRequestContext) async throws -> ImportView {
        let tenant = try context.requireTenant()
        let body = try await request.decodeJSON(RegisterRequest.self)
        guard body.devices.count <= BatchLimits.itemsMax else {
            throw APIError.tooLarge("\(body.devices.count) devices is more than \(BatchLimits.itemsMax) at once; split the list")
        }
        var inputs: [DeviceInput] = []
        var rejected: [(line: Int, reason: String)] = []
        inputs.reserveCapacity(body.devices.count)
        for (index, item) in body.devices.enumerated() {
            guard let serial = SerialNumber(item.serialNumber) else {
                rejected.append((line: index + 1, reason: SerialNumber.problem(with: item.serialNumber)))
                continue
            }
            inputs.append(DeviceInput(serial: serial, name: item.name, model: item.model, group: item.group))
        }
        let report = inputs.isEmpty ? ImportReport() : try await context.engine.registerDevices(tenant: tenant, inputs)
        return ImportView(report, alsoRejected: rejected)
    }

    /// A CSV roster as the body (`serial_number` column required; `name`, `model`, `group` optional).
    @Sendable func importRoster(_ request: Request, context: AllotRequestContext) async throws -> ImportView {
        let tenant = try context.requireTenant()
        let bytes = try await request.bodyBytes()
        guard !bytes.isEmpty else { throw APIError.invalidInput("send the CSV roster as the request body, e.g. curl --data-binary @roster.csv") }
        return ImportView(try await context.engine.importRoster(tenant: tenant, csv: bytes))
    }

    @Sendable func retire(_ request: Request, context: AllotRequestContext) async throws -> RevocationView {
        let tenant = try context.requireTenant()
        let body = try await request.decodeJSON(RetireRequest.self)
        return RevocationView(try await context.engine.retireDevices(tenant: tenant, serials: body.serialNumbers))
    }
}
