import Allot
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot assign` and `allot revoke`: one command shape, the direction passed in (STYLE: no two
/// paths that differ by a sign).
struct AssignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign",
        abstract: "Give an app's licences to devices, from the tenant's merged pool.",
        discussion: BatchOptions.discussion
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var batch: BatchOptions

    func run() async throws { try await batch.run(.assign, global: global) }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Take an app's licences back from devices.",
        discussion: BatchOptions.discussion
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var batch: BatchOptions

    func run() async throws { try await batch.run(.revoke, global: global) }
}

struct BatchOptions: ParsableArguments {
    static let discussion = """
        Choose the devices with exactly one of --serial (repeatable), --roster FILE (a roster CSV, \
        or one serial per line), --group G or --all-devices. Each device gets a result: assigned, \
        already_assigned, no_license, unknown_device, unknown_app, not_device_assignable, revoked, \
        not_assigned, invalid_serial. Exit code 0 when every item succeeded, 3 when the batch \
        committed but some items failed, 1 when nothing was committed (--all-or-nothing with a \
        failure, or --dry-run with a failure).
        """

    @OptionGroup var tenant: TenantOption

    @Option(help: ArgumentHelp("The app: ADAMID or ADAMID:PRICING (STDQ or PLUS).", valueName: "adamid[:pricing]"))
    var app: String

    @Option(name: .customLong("serial"), parsing: .upToNextOption, help: ArgumentHelp("Serial numbers (repeatable).", valueName: "serial"))
    var serials: [String] = []

    @Option(help: ArgumentHelp("A roster CSV with a serial_number column, or a file of one serial per line.", valueName: "file"))
    var roster: String?

    @Option(help: "Every managed device of this group.")
    var group: String?

    @Flag(help: "Every managed device of the tenant.")
    var allDevices = false

    @Flag(help: "Decide and report, change nothing.")
    var dryRun = false

    @Flag(help: "Commit nothing if any item fails.")
    var allOrNothing = false

    @Flag(help: "Commit only; leave the Apple operations for `allot push`.")
    var noPush = false

    @Option(help: ArgumentHelp("Repeating a batch with the same key returns the first answer and changes nothing.", valueName: "key"))
    var idempotencyKey: String?

    func validate() throws {
        guard AssetKey(parsing: app) != nil else { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
        let selectors = [!serials.isEmpty, roster != nil, group != nil, allDevices].count { $0 }
        guard selectors == 1 else {
            throw ValidationError(selectors == 0
                ? "choose the devices with one of --serial, --roster, --group or --all-devices"
                : "use only one of --serial, --roster, --group and --all-devices")
        }
        if dryRun && allOrNothing { throw ValidationError("--dry-run and --all-or-nothing do not go together; a dry run never commits") }
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.count > BatchLimits.idempotencyKeyLengthMax {
            throw ValidationError("--idempotency-key needs 1 to \(BatchLimits.idempotencyKeyLengthMax) characters")
        }
    }

    var mode: BatchMode { dryRun ? .dryRun : allOrNothing ? .allOrNothing : .partial }

    func run(_ direction: BatchDirection, global: GlobalOptions) async throws {
        let asset = AssetKey(parsing: app)!
        let allot = try await global.openEngine()
        let serials = try await selectedSerials(allot, direction: direction)
        let items = serials.map { BatchItem(asset: asset, serial: $0) }
        let verb = direction == .assign ? "assigning" : "revoking"
        let outcome = try await Progress.around("\(verb) \(asset) on \(Text.count(items.count, "device"))") {
            direction == .assign
                ? try await allot.assign(tenant: tenant.tenant, items, mode: mode, idempotencyKey: idempotencyKey)
                : try await allot.revoke(tenant: tenant.tenant, items, mode: mode, idempotencyKey: idempotencyKey)
        }
        let delivery = try await Delivery.afterBatch(outcome, allot: allot, tenant: tenant.tenant, push: !noPush, global: global)
        if global.json {
            try JSONOutput.emit(Extended(BatchView(outcome, asset: asset), "delivery", delivery))
        } else {
            BatchText.render(outcome, asset: asset, delivery: delivery)
        }
        if outcome.failedCount > 0 {
            throw ExitCode(outcome.committed ? ExitStatus.partial : ExitStatus.refused)
        }
    }

    /// The serials the selector names, as typed (the engine validates each one as an item).
    private func selectedSerials(_ allot: Allot, direction: BatchDirection) async throws -> [String] {
        let nothing = direction == .assign ? "nothing was assigned" : "nothing was revoked"
        if !serials.isEmpty {
            // `--serial A,B` is accepted as well as `--serial A B`.
            return serials.flatMap { $0.split(separator: ",").map(String.init) }
        }
        if let roster {
            return try RosterSelection.serials(in: InputFile.read(roster, what: "roster"), path: roster, nothing: nothing)
        }
        let found = try await allot.serials(tenant: tenant.tenant, group: group)
        guard !found.isEmpty else {
            throw CLIError(group.map { "group '\($0)' has no managed devices; \(nothing) (see `allot devices list --tenant \(tenant.tenant)`)" }
                ?? "the tenant has no managed devices; import a roster with `allot devices import`; \(nothing)")
        }
        return found
    }
}

/// `--roster FILE`: a roster CSV (a `serial_number` column), or a plain list of one serial per line.
enum RosterSelection {
    static func serials(in bytes: [UInt8], path: String, nothing: String) throws -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        let firstLine = text.prefix { $0 != "\n" && $0 != "\r" }.lowercased()
        if firstLine.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"\u{FEFF}")) == "serial_number" }) {
            let roster: Roster
            do { roster = try Roster(csv: bytes) } catch { throw CLIError("the roster '\(path)' cannot be read: \(error.message); \(nothing)") }
            if let first = roster.rejected.first {
                throw CLIError("line \(first.line) of the roster '\(path)' \(first.reason.hasPrefix("has") || first.reason.hasPrefix("is") ? first.reason : "is rejected: " + first.reason); fix it and run again, \(nothing)")
            }
            return roster.rows.map(\.serial.value)
        }
        let serials = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !serials.isEmpty else { throw CLIError("the roster '\(path)' holds no serial numbers; \(nothing)") }
        return serials
    }
}

enum BatchText {
    static func render(_ outcome: BatchOutcome, asset: AssetKey, delivery: Delivery) {
        let failed = outcome.items.filter { !$0.result.isSuccess }
        if !failed.isEmpty {
            var table = Table(.init("SERIAL"), .init("RESULT"), .init("REASON"))
            for item in failed.prefix(TextLimits.rowsShown) { table.add(item.serialNumber, item.result.rawValue, item.reason ?? "") }
            Standard.output(table.render())
            if failed.count > TextLimits.rowsShown {
                Standard.output("… and \(Text.count(failed.count - TextLimits.rowsShown)) more failed; --json lists every item.")
            }
        }
        var tokens: [TokenID: Int] = [:]
        for item in outcome.items where item.result == .assigned { tokens[item.tokenId ?? TokenID(0), default: 0] += 1 }
        let counts = ItemResult.allCases.compactMap { result in
            outcome.counts[result.rawValue].map { "\(Text.count($0)) \(result.rawValue)" }
        }
        let fromTokens = tokens.isEmpty ? "" : " (" + tokens.keys.sorted().map { "token \($0): \(Text.count(tokens[$0]!))" }.joined(separator: ", ") + ")"
        let subject = "\(asset) on \(Text.count(outcome.items.count, "device"))"
        let head: String
        switch (outcome.mode, outcome.committed) {
        case (.dryRun, _): head = "Dry run, nothing changed: \(outcome.direction.rawValue) \(subject) would give"
        case (_, false): head = "Refused, nothing changed: \(outcome.direction.rawValue) \(subject) is all-or-nothing and would give"
        case (_, true): head = "Batch \(outcome.batchId.map { "\($0)" } ?? "?"): \(outcome.direction.rawValue) \(subject)"
        }
        Standard.output("\(head): \(counts.joined(separator: ", "))\(fromTokens).")
        if let note = delivery.note { Standard.output(note) }
    }
}
