import Allot
import ArgumentParser
import Foundation

/// `allot demo`: the whole story on a fresh machine, in a temporary folder, with the built-in
/// simulator. Every step runs a real `allot` command in this process and prints it first, so
/// what the demo shows is what an admin would type.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole story in a temporary folder with the built-in simulator: pools, a roster, batches, Apple Configurator, take-over, renewal, removal."
    )

    @Flag(help: "Keep the temporary folder afterwards, to go on exploring with the same database and simulator.")
    var keep = false

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-demo-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: folder) } }
        try Data(DemoWorld.seed.utf8).write(to: folder.appendingPathComponent("seed.json"))
        try Data(DemoWorld.roster(devices: DemoWorld.deviceCount).utf8).write(to: folder.appendingPathComponent("roster.csv"))
        // The commands below are printed as typed in that folder, with these two variables set.
        guard FileManager.default.changeCurrentDirectoryPath(folder.path) else {
            throw CLIError("cannot enter the temporary folder \(folder.path); check that the temporary directory is writable")
        }
        setenv("ALLOT_DB", "allot.sqlite", 1)
        setenv("ALLOT_APPLE", "sim:sim.json", 1)
        unsetenv(SecretBox.environmentVariable)

        var demo = DemoScript()
        demo.say("""
            allot demo: Springfield Schools buys app licences at two Apple locations and manages \
            1,000 iPads. Everything runs in \(folder.path), against the built-in simulator of \
            Apple's Apps and Books service, with ALLOT_DB=allot.sqlite and ALLOT_APPLE=sim:sim.json.
            """)

        try await demo.step("A simulated Apple with two locations that both bought the same app",
                            "Main Campus owns 600 licences of app 361309726, North Campus 300. Apple hands each location a content token file.",
                            ["sim", "init", "--seed", "seed.json", "--state", "sim.json", "--tokens-dir", "tokens"])
        try await demo.step("A tenant", "The MDM's customer. Its new licences come from the token with the most free (policy most-available).",
                            ["tenant", "create", "springfield", "--name", "Springfield Schools"])
        try await demo.step("Both tokens uploaded", "Each upload asks Apple who manages the location, claims it for this server and reads its licences.",
                            ["token", "add", "--tenant", "springfield", "tokens/1001.vpptoken"],
                            ["token", "add", "--tenant", "springfield", "tokens/1002.vpptoken"])
        try await demo.step("One merged pool", "The app appears once: 900 licences, with the share of each token beneath.",
                            ["apps", "--tenant", "springfield"])
        try await demo.step("A roster of 1,000 devices", "A CSV with serial_number, name, model and group, as an MDM exports it.",
                            ["devices", "import", "--tenant", "springfield", "roster.csv"])
        try await demo.step("Assign the app to every device", """
            One batch, one transaction: both tokens supply licences until the pool runs out; the 100 \
            devices left over get no_license. Exit code 3 says the batch committed but some items failed. \
            Apple is then told, 1,000 serials per request.
            """, ["assign", "--tenant", "springfield", "--app", "361309726", "--all-devices"], expecting: ExitStatus.partial)
        try await demo.step("Apple Configurator takes North Campus", """
            Someone signs Apple Configurator 2 into North Campus on a Mac. Apple has no error for this: \
            the sync notices another mdmInfo, stops using the token and takes its licences out of the pool.
            """, ["sim", "claim", "--state", "sim.json", "--location", "1002", "--name", "Apple Configurator 2"],
                            ["sync", "--tenant", "springfield"], ["apps", "--tenant", "springfield"])
        try await demo.step("Take it back", "An explicit, recorded take-over writes our mdmInfo again and re-reads Apple's assignments.",
                            ["token", "takeover", "--tenant", "springfield", "1002"], ["apps", "--tenant", "springfield"])
        try await demo.step("Renew Main Campus", """
            The admin downloads a fresh file for the same location; the old one stops working at once. \
            The renewal must name the same location, and keeps every assignment.
            """, ["sim", "renew-token", "--state", "sim.json", "--location", "1001", "--tokens-dir", "tokens"],
                            ["token", "renew", "--tenant", "springfield", "1001", "tokens/1001.vpptoken"], ["token", "list", "--tenant", "springfield"])
        try await demo.step("Remove North Campus", """
            Its 300 licences are revoked here at once and at Apple through the outbox; the devices that \
            had the app are listed so the MDM can send them an uninstall command.
            """, ["token", "remove", "--tenant", "springfield", "1002"], ["apps", "--tenant", "springfield"])
        try await demo.step("The event log", "Every batch and every state change, newest first.",
                            ["events", "--tenant", "springfield", "--limit", "12"])

        demo.say(keep
            ? "Done. The folder stays: cd \(folder.path) && export ALLOT_DB=allot.sqlite ALLOT_APPLE=sim:sim.json, then try `allot --help`."
            : "Done; the temporary folder is removed (run `allot demo --keep` to keep it). The README walks through the same story with examples/.")
    }
}

/// Prints the steps of the demo and runs their commands.
struct DemoScript {
    private var number = 0

    func say(_ text: String) { Standard.output(text + "\n") }

    /// One step: a title, why it matters, then each command as typed and its output.
    mutating func step(_ title: String, _ explanation: String, _ commands: [String]..., expecting expected: Int32 = ExitStatus.done) async throws {
        number += 1
        Standard.output("── \(number). \(title)")
        Standard.output(explanation)
        for (index, arguments) in commands.enumerated() {
            Standard.output("\n$ allot " + arguments.map(Self.quoted).joined(separator: " "))
            let code = await Self.run(arguments)
            let wanted = index == 0 ? expected : ExitStatus.done
            if code != ExitStatus.done { Standard.output("(exit code \(code))") }
            guard code == wanted else {
                throw CLIError("the demo's step \(number) (\(title)) ended with exit code \(code) instead of \(wanted); please report it with the output above")
            }
        }
        Standard.output("")
    }

    /// Runs one `allot` command in this process, as `main` would.
    private static func run(_ arguments: [String]) async -> Int32 {
        do {
            var command = try await AllotCommand.asyncParseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return ExitStatus.done
        } catch {
            return ExitStatus.report(error)
        }
    }

    private static func quoted(_ argument: String) -> String {
        argument.contains(" ") ? "\"\(argument)\"" : argument
    }
}
