import AllotCore
import AppleAppsAndBooks
import AppleServiceFactory
import AppleSimulator
import AppleSimulatorServer
import ArgumentParser
import Foundation

/// `allot sim …`: drive the built-in simulator of Apple's service. Its state lives in one file
/// that the engine reads through `--apple sim:PATH`, so a change made here is what Apple says on
/// the engine's next call.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "The built-in simulator of Apple's Apps and Books service: create locations, act as another server, change counts.",
        subcommands: [Init.self, Claim.self, RevokeToken.self, ExpireToken.self, SetTotal.self, RenewToken.self, Assignments.self,
                      AcceptInvitation.self, SubscriptionSeats.self, EndPeriod.self, Serve.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a simulated Apple from a seed, and write DIR/<uId>.vpptoken for every location."
        )
        @Option(help: ArgumentHelp("The seed: locations with their assets and counts.", valueName: "seed.json"))
        var seed: String
        @OptionGroup var state: SimStateOption
        @Option(help: ArgumentHelp("Where to write the token files.", valueName: "dir"))
        var tokensDir: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let bytes = try InputFile.read(seed, what: "seed")
            let simulator = try AppleSimulator.initialize(seed: Data(bytes), statePath: URL(fileURLWithPath: state.state),
                                                          tokensDirectory: URL(fileURLWithPath: tokensDir))
            _ = simulator
            let files = try FileManager.default.contentsOfDirectory(atPath: tokensDir).filter { $0.hasSuffix(".vpptoken") }.sorted()
            if global.json {
                try JSONOutput.emit(SimInitJSON(state: state.state, tokenFiles: files.map { (tokensDir as NSString).appendingPathComponent($0) }))
                return
            }
            Standard.output("Simulated Apple at \(state.state) with \(Text.count(files.count, "location")); token files: \(files.map { (tokensDir as NSString).appendingPathComponent($0) }.joined(separator: " ")).")
            Standard.output("Use it with --apple sim:\(state.state) (or export ALLOT_APPLE=sim:\(state.state)).")
        }
    }

    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Another server (or Apple Configurator) takes a location by writing its mdmInfo."
        )
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: "The other server's name, e.g. \"Apple Configurator 2\".")
        var name: String
        @Option(help: "The other server's mdmInfo id (default: a new UUID).")
        var id: String?
        @Option(help: "The other server's mdmInfo metadata, e.g. its version.")
        var metadata = "2.17"
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard !name.isEmpty, name.count <= 100 else { throw ValidationError("--name needs 1 to 100 characters (Apple's limit)") }
            if let id, id.isEmpty || id.count > 100 { throw ValidationError("--id needs 1 to 100 characters (Apple's limit)") }
            guard metadata.count <= 255 else { throw ValidationError("--metadata is at most 255 characters (Apple's limit)") }
        }

        func run() async throws {
            let info = MDMInfo(id: id ?? UUID().uuidString, name: name, metadata: metadata)
            try await SimulatorFile.open(state.state).claim(location: location.location, mdmInfo: info)
            try SimText.done(global, ["location": location.location, "ownerName": name],
                             "\(name) now manages location \(location.location); the engine sees it on its next call to Apple.")
        }
    }

    struct RevokeToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-token", abstract: "Apple revokes a location's token (9625 from now on).")
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            try await SimulatorFile.open(state.state).revokeToken(location: location.location)
            try SimText.done(global, ["location": location.location, "tokenStatus": "revoked"],
                             "Location \(location.location)'s token is revoked: Apple answers 9625 until a renewed file is uploaded.")
        }
    }

    struct ExpireToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "expire-token", abstract: "A location's token expires now (9621 from now on).")
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            try await SimulatorFile.open(state.state).expireToken(location: location.location)
            try SimText.done(global, ["location": location.location, "tokenStatus": "expired"],
                             "Location \(location.location)'s token has expired: Apple answers 9621 until a renewed file is uploaded.")
        }
    }

    struct SetTotal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-total", abstract: "Change how many licences of an app a location owns (a purchase, a refund, a transfer).")
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: ArgumentHelp("The app: ADAMID or ADAMID:PRICING.", valueName: "adamid[:pricing]"))
        var app: String
        @Option(help: "The new total.")
        var total: Int
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard AssetKey(parsing: app) != nil else { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
            guard total >= 0 else { throw ValidationError("--total cannot be negative") }
        }

        func run() async throws {
            let asset = AssetKey(parsing: app)!
            let simulator = try SimulatorFile.open(state.state)
            try await simulator.setTotal(location: location.location, adamId: asset.adamId,
                                         pricingParam: asset.pricingParam.rawValue, total: total)
            // The ASSET_COUNT notification, if the location has a receiver, leaves before the
            // process does; the wait is bounded, shown on a terminal, and its outcome said.
            let bound = Int(AppleSimulator.notificationsWaitSecondsMax.rounded(.up))
            let notified = try await Progress.around("notifying the location's receiver (at most \(bound) s)") { await simulator.finishNotifications() }
            let facts: JSONFacts = ["location": .string(location.location), "adamId": .string(asset.adamId),
                                    "pricingParam": .string(asset.pricingParam.rawValue), "total": .number(Double(total))]
            try global.json ? JSONOutput.emit(facts) : Standard.output(
                             "Location \(location.location) now owns \(Text.count(total, "licence")) of \(asset); `allot sync` shows the engine what changed.")
            SimText.undelivered(notified)
        }
    }

    struct RenewToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew-token",
            abstract: "A fresh token file for the same location, as the portal hands out; the old file stops working."
        )
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: ArgumentHelp("Where to write the new token file.", valueName: "dir"))
        var tokensDir: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let file = try await SimulatorFile.open(state.state).renewToken(location: location.location, tokensDirectory: URL(fileURLWithPath: tokensDir))
            try SimText.done(global, ["location": location.location, "tokenFile": file.path],
                             "Wrote a fresh token for location \(location.location) to \(file.path); the old file stops working. Upload it with `allot token renew`.")
        }
    }

    struct Assignments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apple's truth: every device assignment, of one location or all.")
        @OptionGroup var state: SimStateOption
        @Option(help: ArgumentHelp("Only this location.", valueName: "uid"))
        var location: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let assignments = try await SimulatorFile.open(state.state).allAssignments(location: location)
                .sorted { ($0.locationUid, $0.adamId, $0.pricingParam, $0.serialNumber) < ($1.locationUid, $1.adamId, $1.pricingParam, $1.serialNumber) }
            if global.json {
                try JSONOutput.emit(["assignments": assignments])
                return
            }
            var counts: [String: Int] = [:]
            for assignment in assignments { counts["\(assignment.locationUid) \(assignment.adamId):\(assignment.pricingParam)", default: 0] += 1 }
            var table = Table(.init("LOCATION"), .init("APP"), .init("DEVICES", .right))
            for key in counts.keys.sorted() {
                let parts = key.split(separator: " ")
                table.add(String(parts[0]), String(parts[1]), Text.count(counts[key]!))
            }
            if !counts.isEmpty { Standard.output(table.render()) }
            Standard.output("Apple holds \(Text.count(assignments.count, "assignment"))" + (location.map { " at location \($0)" } ?? "") + "; --json lists each one.")
        }
    }

    struct AcceptInvitation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept-invitation",
            abstract: "A person accepts a registered user's invitation: the user becomes Associated (USER_ASSOCIATED)."
        )
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: ArgumentHelp("The user's clientUserId at the location.", valueName: "id"))
        var user: String
        @Option(help: ArgumentHelp("The Apple Account the person signs in with (default: one made from the id).", valueName: "email"))
        var appleAccount: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let simulator = try SimulatorFile.open(state.state)
            let accepted = try await simulator.acceptInvitation(location: location.location, clientUserId: user, appleAccount: appleAccount)
            let bound = Int(AppleSimulator.notificationsWaitSecondsMax.rounded(.up))
            let notified = try await Progress.around("notifying the location's receiver (at most \(bound) s)") { await simulator.finishNotifications() }
            try SimText.done(global, ["location": location.location, "clientUserId": user, "status": accepted.status ?? ""],
                             "User \(user) of location \(location.location) accepted the invitation and is now Associated.")
            SimText.undelivered(notified)
        }
    }

    struct SubscriptionSeats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "subscription-seats",
            abstract: "Set how many seats of a subscription a location owns (a purchase or a refund; SUBSCRIPTION_COUNT)."
        )
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: ArgumentHelp("The subscription's Adam ID.", valueName: "n"))
        var adamId: Int64
        @Option(help: ArgumentHelp("The app the subscription belongs to.", valueName: "n"))
        var parentAdamId: Int64?
        @Option(help: "Seats that renew at the end of the period.")
        var renewing: Int
        @Option(help: "Seats that end with the period.")
        var expiring: Int = 0
        @Option(help: ArgumentHelp("The end of the current billing period (default: kept, or a month from now).", valueName: "YYYY-MM-DD"))
        var periodEnd: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard renewing >= 0, expiring >= 0 else { throw ValidationError("--renewing and --expiring cannot be negative") }
        }

        func run() async throws {
            let simulator = try SimulatorFile.open(state.state)
            let subscription = try await simulator.setSubscriptionSeats(location: location.location, adamId: adamId, parentAdamId: parentAdamId,
                                                                        renewing: renewing, expiring: expiring, periodEnd: periodEnd)
            let bound = Int(AppleSimulator.notificationsWaitSecondsMax.rounded(.up))
            let notified = try await Progress.around("notifying the location's receiver (at most \(bound) s)") { await simulator.finishNotifications() }
            try SimText.done(global, ["location": location.location, "adamId": String(adamId), "renewing": String(renewing),
                                      "expiring": String(expiring), "periodEnd": subscription.periodEndDate ?? ""],
                             "Location \(location.location) now owns \(Text.count(renewing, "renewing seat")) and \(Text.count(expiring, "expiring seat")) of subscription \(adamId), the period ending \(subscription.periodEndDate ?? "?").")
            SimText.undelivered(notified)
        }
    }

    struct EndPeriod: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "end-period",
            abstract: "A subscription's billing period ends now: deferred and non-renewing seats end, expiring seats go."
        )
        @OptionGroup var state: SimStateOption
        @OptionGroup var location: SimLocationOption
        @Option(help: ArgumentHelp("Only this subscription (default: every one of the location).", valueName: "n"))
        var adamId: Int64?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let simulator = try SimulatorFile.open(state.state)
            let ended = try await simulator.endSubscriptionPeriod(location: location.location, adamId: adamId)
            let bound = Int(AppleSimulator.notificationsWaitSecondsMax.rounded(.up))
            let notified = try await Progress.around("notifying the location's receiver (at most \(bound) s)") { await simulator.finishNotifications() }
            if global.json {
                try JSONOutput.emit(EndedPeriods(location: location.location, subscriptions: ended))
            } else {
                Standard.output("The billing period of \(Text.count(ended.count, "subscription")) of location \(location.location) ended; --json shows each one's seats now.")
            }
            SimText.undelivered(notified)
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the simulator over loopback HTTP.")
        @OptionGroup var state: SimStateOption
        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"
        @Option(help: "The port to listen on (0: any free port).")
        var port = 8081
        @Option(help: ArgumentHelp("Delay every answer of Apple's paths by this much, like a distant Apple (kept in the state).", valueName: "ms"))
        var latencyMs: Int?
        @Option(help: ArgumentHelp("Vary the delay by up to this much either way (with --latency-ms).", valueName: "ms"))
        var jitterMs: Int?
        @Flag(name: .customLong("no-enforce-request-rate"),
              help: "Answer every call, however fast: Apple's maxRequestPerSecond per token (9646, HTTP 429) is not enforced (kept in the state). For load tests of clients that pace themselves elsewhere; by default the simulator enforces it, as Apple does.")
        var noEnforceRequestRate = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        /// The simulator's bound on its delay (`SimulatorDefaults.latencyMillisecondsMax`).
        static let latencyMillisecondsMax = 60_000

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
            if let latencyMs, !(0...Self.latencyMillisecondsMax).contains(latencyMs) {
                throw ValidationError("--latency-ms must be 0 to \(Self.latencyMillisecondsMax)")
            }
            if let jitterMs {
                guard let latencyMs else { throw ValidationError("--jitter-ms needs --latency-ms") }
                guard (0...latencyMs).contains(jitterMs) else { throw ValidationError("--jitter-ms must be 0 to --latency-ms (\(latencyMs))") }
            }
        }

        func run() async throws {
            _ = try SimulatorFile.open(state.state)
            let json = global.json
            let statePath = state.state
            // Runs until SIGINT or SIGTERM; the base URL is printed once the port is bound.
            try await serveSimulator(statePath: statePath, host: host, port: port,
                                     latencyMilliseconds: latencyMs, jitterMilliseconds: jitterMs ?? 0,
                                     enforceRequestRate: noEnforceRequestRate ? false : nil) { baseURL in
                if json {
                    try? JSONOutput.emit(["baseUrl": baseURL, "state": statePath])
                } else {
                    Standard.output("Simulated Apple (state \(statePath)) at \(baseURL)")
                    Standard.output("Point allot at it with --apple \(baseURL); Ctrl-C stops it.")
                }
            }
        }
    }
}

struct SimStateOption: ParsableArguments {
    @Option(help: ArgumentHelp("The simulator's state file.", valueName: "sim.json"))
    var state: String
}

struct SimLocationOption: ParsableArguments {
    @Option(help: ArgumentHelp("The location's uId.", valueName: "uid"))
    var location: String
}

/// Opening a simulator's state file, with the advice to create one when it is missing.
enum SimulatorFile {
    static func open(_ path: String) throws -> AppleSimulator { try openSimulatorState(path) }
}

/// `sim end-period --json`: each subscription as Apple now answers it.
struct EndedPeriods: Encodable {
    let location: String
    let subscriptions: [ResponseSubscription]
}

struct SimInitJSON: Encodable {
    let state: String
    let tokenFiles: [String]
}

enum SimText {
    /// Notifications the simulator gave up on, or left queued, on stderr: the command's answer
    /// (stdout, or its JSON) is the change itself, which happened either way.
    static func undelivered(_ report: NotificationDeliveryReport) {
        for dropped in report.dropped {
            Standard.error("The notification to \(Text.printable(dropped.url)) was not delivered: \(dropped.lastFailure) (\(Text.count(dropped.tries, "try", "tries"))); the engine learns the change at its next sync.")
        }
        if report.stillQueued > 0 {
            Standard.error("\(Text.count(report.stillQueued, "notification")) still queued in the simulator's state; the next simulator process to run sends \(report.stillQueued == 1 ? "it" : "them").")
        }
    }

    /// A control operation done: its facts as JSON, or a sentence.
    static func done(_ global: GlobalOptions, _ facts: [String: String], _ sentence: String) throws {
        if global.json { try JSONOutput.emit(facts) } else { Standard.output(sentence) }
    }
}
