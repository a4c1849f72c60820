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
        discussion: BatchOptions.discussion(.assign)
    )
    @OptionGroup var batch: BatchOptions
    @OptionGroup var rows: RowLimitOptions

    @Flag(help: "Devices (or people) that find no free licence wait in the app's queue (result queued) and get one, in order, when licences appear (`allot queue list`).")
    var queue = false
    @OptionGroup(title: "Global options") var global: GlobalOptions

    func run() async throws { try await batch.run(.assign, queue: queue, rows: rows, global: global) }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Take an app's licences back from devices.",
        discussion: BatchOptions.discussion(.revoke)
    )
    @OptionGroup var batch: BatchOptions
    @OptionGroup var rows: RowLimitOptions
    @OptionGroup(title: "Global options") var global: GlobalOptions

    // No --queue: a revoke never waits for a licence, so the option is assign's alone (a
    // `revoke --queue` is refused by the parser, and the hint names `allot assign`).
    func run() async throws { try await batch.run(.revoke, queue: false, rows: rows, global: global) }
}

struct BatchOptions: ParsableArguments {
    static func discussion(_ direction: BatchDirection) -> String {
        let results = direction.possibleResults.reversed().map(\.rawValue).joined(separator: ", ")
        return """
            Choose the devices with exactly one of --serial (repeatable), --roster FILE (a roster CSV, \
            or one serial per line; - for standard input), --group G or --all-devices. Each device gets a result: \
            \(results). Or choose people instead with --user (repeatable) or --user-group G: \
            they draw on the same merged pool, each person holding at most one licence of the app \
            whatever the locations they are registered at (results add unknown_user and \
            invalid_user_id; books go to people only). Any number of devices: they go in chunks of --chunk-size (each chunk commits whole; \
            --all-or-nothing and --dry-run decide every chunk in one transaction); Ctrl-C stops between chunks. \
            Exit code 0 when every item succeeded, 3 when the batch committed but some items failed, 1 when \
            nothing was committed (--all-or-nothing with a failure, or --dry-run with a failure), 130 when \
            stopped by Ctrl-C.
            """
    }

    @OptionGroup var tenant: TenantOption

    @Option(help: ArgumentHelp("The app: ADAMID or ADAMID:PRICING (STDQ or PLUS).", valueName: "adamid[:pricing]"))
    var app: String

    @Option(name: .customLong("serial"), parsing: .upToNextOption, help: ArgumentHelp("Serial numbers (repeatable).", valueName: "serial"))
    var serials: [String] = []

    @Option(help: ArgumentHelp("A roster CSV with a serial_number column, or a file of one serial per line; - reads standard input.", valueName: "file"))
    var roster: String?

    @Option(help: "Every managed device of this group.")
    var group: String?

    @Flag(help: "Every managed device of the tenant.")
    var allDevices = false

    @Option(name: .customLong("user"), parsing: .upToNextOption, help: ArgumentHelp("People, by the roster's user id (repeatable), instead of devices.", valueName: "user-id"))
    var users: [String] = []

    @Option(help: ArgumentHelp("Every managed person of this group (`allot users list --group`), instead of devices.", valueName: "group"))
    var userGroup: String?

    @Flag(help: "Decide and report, change nothing.")
    var dryRun = false

    @Flag(help: "Commit nothing if any item fails.")
    var allOrNothing = false

    @Flag(help: "Commit only; leave the Apple operations for `allot push`.")
    var noPush = false

    @Option(help: ArgumentHelp("Repeating a batch with the same key returns the first answer and changes nothing; the key is bound to that batch (another batch with it is refused).", valueName: "key"))
    var idempotencyKey: String?

    @Option(help: ArgumentHelp("Devices per chunk: each chunk commits whole as one batch (all-or-nothing and dry-run run every chunk in one transaction).", valueName: "n"))
    var chunkSize = RollOutLimits.chunkItemsDefault

    func validate() throws {
        guard AssetKey(parsing: app) != nil else { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
        let selectors = [!serials.isEmpty, roster != nil, group != nil, allDevices, !users.isEmpty, userGroup != nil].count { $0 }
        guard selectors == 1 else {
            throw ValidationError(selectors == 0
                ? "choose the devices with one of --serial, --roster, --group or --all-devices, or people with --user or --user-group"
                : "use only one of --serial, --roster, --group, --all-devices, --user and --user-group")
        }
        if dryRun && allOrNothing { throw ValidationError("--dry-run and --all-or-nothing do not go together; a dry run never commits") }
        guard (1...RollOutLimits.chunkItemsMax).contains(chunkSize) else {
            throw ValidationError("--chunk-size takes 1 to \(RollOutLimits.chunkItemsMax) devices")
        }
        if let idempotencyKey, idempotencyKey.isEmpty || idempotencyKey.count > BatchLimits.idempotencyKeyLengthMax {
            throw ValidationError("--idempotency-key needs 1 to \(BatchLimits.idempotencyKeyLengthMax) characters")
        }
    }

    var mode: BatchMode { dryRun ? .dryRun : allOrNothing ? .allOrNothing : .partial }

    func run(_ direction: BatchDirection, queue: Bool, rows: RowLimitOptions, global: GlobalOptions) async throws {
        let asset = AssetKey(parsing: app)!
        let allot = try await global.openEngine()
        if !users.isEmpty || userGroup != nil {
            try await runUsers(direction, asset: asset, allot: allot, queue: queue, rows: rows, global: global)
            return
        }
        let selection = try selectedDevices(direction: direction)
        let verb = direction == .assign ? "assigning" : "revoking"
        let interruption = Interruption.install()
        let drawing = RollOutProgressLine(label: "\(verb) \(asset)")
        let outcome = try await allot.rollOut(tenant: tenant.tenant, direction: direction, asset: asset, devices: selection,
                                              mode: mode, idempotencyKey: idempotencyKey, queue: queue, chunkItems: chunkSize,
                                              stop: { interruption.requested }, progress: { drawing.draw($0) })
        drawing.finish()
        interruption.remove()
        let delivery = try await Delivery.afterBatch(committed: outcome.committed, mode: outcome.mode, changed: outcome.tally.changed,
                                                     allot: allot, tenant: tenant.tenant, push: !noPush && !outcome.interrupted, global: global)
        if global.json {
            try JSONOutput.emit(Extended(RollOutView(outcome, asset: asset), "delivery", delivery))
        } else {
            BatchText.render(outcome, asset: asset, delivery: delivery, rows: rows)
        }
        if outcome.interrupted { throw ExitCode(ExitStatus.interrupted) }
        if outcome.failedCount > 0 {
            throw ExitCode(outcome.committed ? ExitStatus.partial : ExitStatus.refused)
        }
    }

    /// `--user` / `--user-group`: one batch of people (at most `BatchLimits.itemsMax`), with the
    /// device batch's modes, answer, exit codes and delivery.
    private func runUsers(_ direction: BatchDirection, asset: AssetKey, allot: Allot, queue: Bool, rows: RowLimitOptions,
                          global: GlobalOptions) async throws {
        let selection: UserSelection = userGroup.map { .group($0) } ?? .users(users.flatMap { $0.split(separator: ",").map(String.init) })
        let outcome = try await Progress.around("\(direction == .assign ? "assigning" : "revoking") \(asset)") {
            try await allot.userBatch(tenant: tenant.tenant, direction: direction, asset: asset, selection, mode: mode,
                                      idempotencyKey: idempotencyKey, queue: queue)
        }
        let changed = (outcome.counts[ItemResult.assigned.rawValue] ?? 0) + (outcome.counts[ItemResult.revoked.rawValue] ?? 0)
        let delivery = try await Delivery.afterBatch(committed: outcome.committed, mode: outcome.mode, changed: changed,
                                                     allot: allot, tenant: tenant.tenant, push: !noPush, global: global)
        if global.json {
            try JSONOutput.emit(Extended(UserBatchView(outcome, asset: asset), "delivery", delivery))
        } else {
            UserBatchText.render(outcome, asset: asset, delivery: delivery, rows: rows)
        }
        if outcome.failedCount > 0 {
            throw ExitCode(outcome.committed ? ExitStatus.partial : ExitStatus.refused)
        }
    }

    /// The devices the selector names; serials as typed (the engine validates each one as an item).
    private func selectedDevices(direction: BatchDirection) throws -> DeviceSelection {
        let nothing = direction == .assign ? "nothing was assigned" : "nothing was revoked"
        if !serials.isEmpty {
            // `--serial A,B` is accepted as well as `--serial A B`.
            return .serials(serials.flatMap { $0.split(separator: ",").map(String.init) })
        }
        if let roster {
            return .serials(try RosterSelection.serials(in: InputFile.read(roster, what: "roster"), path: roster, nothing: nothing))
        }
        if let group { return .group(group) }
        return .allDevices
    }
}

/// `--roster FILE`: a roster CSV (a `serial_number` column), or a plain list of one serial per line.
enum RosterSelection {
    static func serials(in bytes: [UInt8], path: String, nothing: String) throws -> [String] {
        let shown = path == "-" ? "from standard input" : "'\(Text.printable(path))'"
        guard InputFile.isText(bytes) else {
            throw CLIError("the roster \(shown) is not text (it holds NUL bytes or bytes that are not UTF-8); give a roster CSV or one serial per line, \(nothing)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let firstLine = text.prefix { $0 != "\n" && $0 != "\r" }
        if firstLine.split(separator: Roster.delimiter(ofHeader: firstLine)).contains(where: { Roster.serialColumnNames.contains(Roster.columnName(String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))) }) {
            let roster: Roster
            do { roster = try Roster(csv: bytes) } catch { throw CLIError("the roster \(shown) cannot be read: \(error.message); \(nothing)") }
            if let first = roster.rejected.first {
                throw CLIError("line \(first.line) of the roster \(shown) \(first.reason.hasPrefix("has") || first.reason.hasPrefix("is") || first.reason.hasPrefix("holds") ? first.reason : "is rejected: " + first.reason); fix it and run again, \(nothing)")
            }
            return roster.rows.map(\.serial.value)
        }
        let serials = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !serials.isEmpty else { throw CLIError("the roster \(shown) holds no serial numbers; \(nothing)") }
        return serials
    }
}

enum BatchText {
    static func render(_ outcome: RollOutOutcome, asset: AssetKey, delivery: Delivery, rows: RowLimitOptions) {
        let failed = outcome.items.filter { !$0.result.isSuccess }
        if !failed.isEmpty {
            // A roll-out of over 100,000 devices keeps at most `itemsListedMax` failed items:
            // `--all` shows those, and the line under the table still counts every failure.
            let shown = rows.shown(of: failed.count)
            var table = Table(.init("SERIAL"), .init("RESULT"), .init("REASON"))
            for item in failed.prefix(shown) { table.add(item.serialNumber, item.result.rawValue, item.reason ?? "") }
            Standard.output(table.render())
            if outcome.failedCount > shown {
                let json = "--json lists \(outcome.tally.listsEveryItem ? "every item" : "the failed items (up to \(Text.count(BatchTally.itemsListedMax)))")"
                Standard.output(RowLimit.rest(outcome.failedCount - shown, " failed", seeAll: shown < failed.count ? "--all lists them, \(json)" : json))
            }
        }
        var tokens: [TokenID: Int] = [:]
        for item in outcome.items where item.result == .assigned { tokens[item.tokenId ?? TokenID(0), default: 0] += 1 }
        let counts = ItemResult.allCases.compactMap { result in
            outcome.counts[result.rawValue].map { "\(Text.count($0)) \(result.rawValue)" }
        }
        // A roll-out that lists only failures cannot break its assignments down by token.
        let fromTokens = tokens.isEmpty || !outcome.tally.listsEveryItem ? "" : " (" + tokens.keys.sorted().map { "token \($0): \(Text.count(tokens[$0]!))" }.joined(separator: ", ") + ")"
        let subject = "\(asset) on \(Text.count(outcome.tally.total, "device"))"
        let batches = outcome.batchIds.count > 1
            ? "Batches \(outcome.batchIds.first!)–\(outcome.batchIds.last!) (\(Text.count(outcome.chunks, "chunk")))"
            : "Batch \(outcome.batchId.map { "\($0)" } ?? "?")"
        let head: String
        switch (outcome.mode, outcome.committed) {
        case (.dryRun, _): head = "Dry run, nothing changed: \(outcome.direction.rawValue) \(subject) would give"
        case (_, false) where outcome.interrupted: head = "Interrupted, nothing changed: \(outcome.direction.rawValue) \(subject) was stopped before it committed, after deciding"
        case (_, false): head = "Refused, nothing changed: \(outcome.direction.rawValue) \(subject) is all-or-nothing and would give"
        case (_, true): head = "\(batches): \(outcome.direction.rawValue) \(subject)"
        }
        Standard.output("\(head): \(counts.joined(separator: ", "))\(fromTokens).")
        if outcome.interrupted && outcome.committed {
            Standard.output("Interrupted: \(Text.count(outcome.tally.decided, "device")) of \(Text.count(outcome.tally.total)) committed in \(Text.count(outcome.batchIds.count, "batch", "batches")); the rest did not run. Run the same command again to finish (what is done answers \(outcome.direction == .assign ? "already_assigned" : "not_assigned")).")
        }
        if let note = delivery.note { Standard.output(note) }
    }
}

enum UserBatchText {
    static func render(_ outcome: UserBatchOutcome, asset: AssetKey, delivery: Delivery, rows: RowLimitOptions) {
        let failed = outcome.items.filter { !$0.result.isSuccess }
        if !failed.isEmpty {
            let shown = rows.shown(of: failed.count)
            var table = Table(.init("USER"), .init("RESULT"), .init("REASON"))
            for item in failed.prefix(shown) { table.add(Text.printable(item.userId), item.result.rawValue, item.reason ?? "") }
            Standard.output(table.render())
            if failed.count > shown { Standard.output(RowLimit.rest(failed.count - shown, " failed", seeAll: "--all lists them, --json lists every item")) }
        }
        var tokens: [TokenID: Int] = [:]
        for item in outcome.items where item.result == .assigned { tokens[item.tokenId ?? TokenID(0), default: 0] += 1 }
        let counts = ItemResult.allCases.compactMap { result in
            outcome.counts[result.rawValue].map { "\(Text.count($0)) \(result.rawValue)" }
        }
        let fromTokens = tokens.isEmpty ? "" : " (" + tokens.keys.sorted().map { "token \($0): \(Text.count(tokens[$0]!))" }.joined(separator: ", ") + ")"
        let subject = "\(asset) for \(Text.count(outcome.items.count, "user"))"
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
