import Allot
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot devices import|list|retire`.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Import a device roster, list devices, retire devices.",
        subcommands: [Import.self, List.self, Retire.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a roster CSV: a header row with serial_number (required), name, model, group (optional).",
            discussion: "Good lines are imported in one transaction; bad lines are reported with their line number (the header is line 1). Exit code 3 when some lines were rejected."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The roster CSV file.", valueName: "file.csv"))
        var file: String

        func run() async throws {
            let bytes = try InputFile.read(file, what: "roster")
            let allot = try await global.openEngine()
            let report = try await Progress.around("importing \(file)") {
                try await allot.importRoster(tenant: tenant.tenant, csv: bytes)
            }
            if global.json {
                try JSONOutput.emit(report)
            } else {
                if !report.rejected.isEmpty {
                    var table = Table(.init("LINE", .right), .init("REJECTED BECAUSE"))
                    for rejection in report.rejected.prefix(TextLimits.rowsShown) {
                        table.add(Text.count(rejection.line), rejection.reason)
                    }
                    Standard.output(table.render())
                    if report.rejected.count > TextLimits.rowsShown {
                        Standard.output("… and \(Text.count(report.rejected.count - TextLimits.rowsShown)) more; --json lists every one.")
                    }
                }
                Standard.output("Imported \(Text.count(report.imported, "new device")), updated \(Text.count(report.updated)), rejected \(Text.count(report.rejected.count, "line")).")
            }
            if !report.rejected.isEmpty { throw ExitCode(ExitStatus.partial) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's devices.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Option(help: "Only the devices of this group.")
        var group: String?

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
            Standard.output(Text.count(devices.count, "device") + (group.map { " in group \($0)" } ?? "") + (retired > 0 ? ", \(Text.count(retired)) retired." : "."))
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire devices: every licence they hold is given back. Lists the devices that need an uninstall."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("Serial numbers.", valueName: "serial"))
        var serials: [String]

        func validate() throws {
            guard !serials.isEmpty else { throw ValidationError("name at least one serial number to retire") }
        }

        func run() async throws {
            let allot = try await global.openEngine()
            let report = try await allot.retireDevices(tenant: tenant.tenant, serials: serials)
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: report.revoked > 0, global: global)
            try RevocationOutput.emit(report, delivery: delivery, json: global.json,
                                      summary: "Retired \(Text.count(Set(serials).count, "device")); \(Text.count(report.revoked, "licence")) given back.")
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
