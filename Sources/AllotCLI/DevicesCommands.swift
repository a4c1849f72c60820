import Allot
import AllotStore
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot devices import|list|retire`.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Import a device roster, list devices, show what a device holds, retire devices.",
        subcommands: [Import.self, List.self, Show.self, Retire.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a roster CSV: a header row with serial_number (required), name, model, group (optional).",
            discussion: "Good lines are imported in one transaction; bad lines are reported with their line number (the header is line 1). Exit code 3 when some lines were rejected."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The roster CSV file; - reads standard input.", valueName: "file.csv"))
        var file: String
        @Flag(help: "The file is the whole fleet: retire the tenant's managed devices it does not list (their licences come back; lists the devices that need an uninstall). One transaction; a rejected line refuses it.")
        var retireMissing = false
        @Flag(help: "With --retire-missing: say what would be imported and retired, change nothing.")
        var dryRun = false
        @Option(help: ArgumentHelp("With --retire-missing: the most devices it may retire, N or P% of the managed devices (default 10%).", valueName: "n|p%"))
        var maxRetire: String?
        @OptionGroup var rows: RowLimitOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            if !retireMissing && (dryRun || maxRetire != nil) {
                throw ValidationError("--dry-run and --max-retire go with --retire-missing")
            }
            if let maxRetire, RetireAllowance(parsing: maxRetire) == nil {
                throw ValidationError("--max-retire '\(maxRetire)' is not an allowance; \(RetireAllowance.formatHelp)")
            }
        }

        func run() async throws {
            let bytes = try InputFile.read(file, what: "roster")
            let allot = try await global.openEngine()
            if retireMissing {
                try await syncRoster(bytes, allot: allot)
                return
            }
            let report = try await Progress.around("importing \(Text.printable(file))") {
                try await allot.importRoster(tenant: tenant.tenant, csv: bytes)
            }
            if global.json {
                try JSONOutput.emit(report)
            } else {
                if !report.rejected.isEmpty {
                    let shown = rows.shown(of: report.rejected.count)
                    var table = Table(.init("LINE", .right), .init("REJECTED BECAUSE"))
                    for rejection in report.rejected.prefix(shown) {
                        table.add(Text.count(rejection.line), rejection.reason)
                    }
                    Standard.output(table.render())
                    if report.rejected.count > shown {
                        Standard.output(RowLimit.rest(report.rejected.count - shown))
                    }
                }
                Standard.output("Imported \(Text.count(report.imported, "new device")), updated \(Text.count(report.updated)), rejected \(Text.count(report.rejected.count, "line")).")
            }
            if !report.rejected.isEmpty { throw ExitCode(ExitStatus.partial) }
        }

        /// `--retire-missing`: the import and the retirement of the devices the file leaves out.
        private func syncRoster(_ bytes: [UInt8], allot: Allot) async throws {
            let allowance = maxRetire.flatMap(RetireAllowance.init(parsing:)) ?? .standard
            let report = try await Progress.around("importing \(Text.printable(file))") {
                try await allot.syncRoster(tenant: tenant.tenant, csv: bytes, allowance: allowance, dryRun: dryRun)
            }
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: !dryRun && report.revocation.revoked > 0, global: global)
            if global.json {
                try JSONOutput.emit(Extended(Extended(ImportView(report.imported), "retireMissing", RetireMissingView(report)), "delivery", delivery))
                return
            }
            let imported = report.imported
            if report.dryRun {
                Standard.output("Dry run, nothing changed: would import \(Text.count(imported.imported, "new device")), update \(Text.count(imported.updated)), "
                                + "and retire \(Text.count(report.retired.count, "device")) absent from the file"
                                + (report.retired.isEmpty ? "." : ": " + report.retired.prefix(TextLimits.serialsShown).joined(separator: " ")
                                    + (report.retired.count > TextLimits.serialsShown ? " … (--json lists all)." : ".")))
                if report.revocation.revoked > 0 {
                    Standard.output("\(Text.count(report.revocation.revoked, "licence")) would come back from \(Text.count(report.revocation.devices.count, "device")).")
                }
                return
            }
            try RevocationOutput.emit(report.revocation, delivery: delivery, json: false,
                                      summary: "Imported \(Text.count(imported.imported, "new device")), updated \(Text.count(imported.updated)); "
                                          + "retired \(Text.count(report.retired.count, "device")) absent from the file, \(Text.count(report.revocation.revoked, "licence")) given back.")
        }
    }

    /// `retireMissing` in the JSON of `devices import --retire-missing`.
    struct RetireMissingView: Encodable, Sendable {
        let dryRun: Bool
        /// Devices retired (or, dry, that would be) because the file does not list them.
        let retired: [String]
        let revoked: Int
        /// Devices that lost an app: they need an uninstall.
        let devices: [String]

        init(_ report: RosterSyncReport) {
            dryRun = report.dryRun
            retired = report.retired
            revoked = report.revocation.revoked
            devices = report.revocation.devices
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's devices.")
        @OptionGroup var tenant: TenantOption
        @Option(help: "Only the devices of this group.")
        var group: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let devices = try await global.openEngine().devices(tenant: tenant.tenant, group: group)
            if global.json {
                try JSONOutput.emit(DeviceListView(devices))
                return
            }
            var table = Table(.init("SERIAL"), .init("NAME"), .init("MODEL"), .init("GROUP"), .init("STATE"))
            for device in devices {
                table.add(device.serialNumber, device.name ?? "-", device.model ?? "-", device.group ?? "-", device.retired ? "retired" : "managed")
            }
            if !devices.isEmpty { Standard.output(table.render()) }
            let retired = devices.count { $0.retired }
            Standard.output(Text.count(devices.count, "device") + (group.map { " in group \(Text.printable($0))" } ?? "") + (retired > 0 ? ", \(Text.count(retired)) retired." : "."))
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire devices: every licence they hold is given back. Lists the devices that need an uninstall."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("Serial numbers.", valueName: "serial"))
        var serials: [String] = []
        @Option(help: ArgumentHelp("A roster CSV (its serial number column) or a file of one serial per line; - reads standard input.", valueName: "file"))
        var roster: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard serials.isEmpty != (roster == nil) else {
                throw ValidationError(roster == nil ? "name at least one serial number to retire, or give --roster FILE"
                                                    : "give either serial numbers or --roster, not both")
            }
        }

        func run() async throws {
            let serials = try roster.map { try RosterSelection.serials(in: InputFile.read($0, what: "roster"), path: $0, nothing: "nothing was retired") }
                ?? self.serials
            let allot = try await global.openEngine()
            let report = try await allot.retireDevices(tenant: tenant.tenant, serials: serials)
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: report.revoked > 0, global: global)
            try RevocationOutput.emit(report, delivery: delivery, json: global.json,
                                      summary: "Retired \(Text.count(Set(serials).count, "device")); \(Text.count(report.revoked, "licence")) given back.")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a device and the licences it holds.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The device's serial number.", valueName: "serial"))
        var serial: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        struct ShowJSON: Encodable {
            struct Licence: Encodable {
                let adamId: String
                let pricingParam: String
                let tokenId: Int64
                let locationUid: String
                let confirmed: Bool
            }
            let device: DeviceView
            let licences: [Licence]

            enum CodingKeys: String, CodingKey { case licenses, licences }

            /// The device's fields (as in `devices list`), then its licences: `licenses` in
            /// Apple's spelling, `licences` the same list under its first name.
            func encode(to encoder: any Encoder) throws {
                try device.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(licences, forKey: .licenses)
                try container.encode(licences, forKey: .licences)
            }
        }

        func run() async throws {
            let found = try await global.openEngine().device(tenant: tenant.tenant, serial: serial)
            if global.json {
                try JSONOutput.emit(ShowJSON(device: DeviceView(found.device), licences: found.holdings.map {
                    ShowJSON.Licence(adamId: $0.adamId, pricingParam: $0.pricingParam, tokenId: $0.tokenId.rawValue, locationUid: $0.locationUid, confirmed: $0.confirmed)
                }))
                return
            }
            let device = found.device
            Standard.output("\(device.serialNumber): \(Text.printable(device.name ?? "no name")), \(Text.printable(device.model ?? "no model")), group \(Text.printable(device.group ?? "-")), \(device.retired ? "retired" : "managed").")
            var table = Table(.init("APP"), .init("TOKEN", .right), .init("LOCATION"), .init("APPLE"))
            for holding in found.holdings {
                table.add("\(holding.adamId):\(holding.pricingParam)", "\(holding.tokenId)", holding.locationUid, holding.confirmed ? "confirmed" : "pending")
            }
            if !found.holdings.isEmpty { Standard.output(table.render()) }
            Standard.output("Holds \(Text.count(found.holdings.count, "licence")).")
        }
    }
}

/// `{revoked, devices[]}`: shared by `devices retire` and `token remove`.
enum RevocationOutput {
    static func emit(_ report: RevocationReport, delivery: Delivery, json: Bool, summary: String) throws {
        if json {
            try JSONOutput.emit(Extended(RevocationView(report), "delivery", delivery))
            return
        }
        if !report.devices.isEmpty {
            Standard.output("Send an uninstall to \(Text.count(report.devices.count, "device")): " + report.devices.prefix(TextLimits.serialsShown).joined(separator: " ")
                            + (report.devices.count > TextLimits.serialsShown ? " … (--json lists all)" : ""))
        }
        Standard.output(summary)
        if let note = delivery.note { Standard.output(note) }
    }
}
