// `allot-bench --rollout [N]`: `allot assign --all-devices` end to end on a tenant of N devices
// (default 1,000,000): the built `allot` binary run as a child process, as an admin runs it,
// timed from start to exit, its peak resident memory read from the kernel (wait4's rusage).
import BenchmarkSupport
import Foundation

enum RollOutBench {
    struct Result {
        let devices: Int
        let seconds: Double
        let peakResidentMiB: Double
        let assigned: Int
        let batches: Int
    }

    static func run(devices: Int, directory: String) throws -> Result {
        let path = (directory as NSString).appendingPathComponent("rollout.sqlite")
        log("rollout: building a tenant of \(format(Double(devices))) devices in \(path)")
        let fixture = try Fixture(path: path, shape: Shape(tokens: 3, apps: 10, devices: devices))
        let slug = fixture.tenant.slug
        let app = fixture.assets[0].description
        fixture.close()
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("allot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            fatalError("no allot binary beside allot-bench at \(binary); build the package first (swift build -c release)")
        }
        let output = (directory as NSString).appendingPathComponent("rollout.json")
        let arguments = [binary, "assign", "--db", path, "--tenant", slug, "--app", app, "--all-devices", "--no-push", "--json"]
        log("rollout: \(arguments.dropFirst().joined(separator: " "))")
        let start = Date()
        let (status, usage) = try spawn(arguments, stdout: output)
        let seconds = Date().timeIntervalSince(start)
        precondition(status == 0, "allot assign exited with \(status)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as! [String: Any]
        let counts = json["counts"] as! [String: Int]
        let batches = (json["batchIds"] as! [Any]).count
        removeDatabase(path)
        // Linux reports ru_maxrss in KiB.
        return Result(devices: devices, seconds: seconds, peakResidentMiB: Double(usage.ru_maxrss) / 1024,
                      assigned: counts["assigned"] ?? 0, batches: batches)
    }

    /// Runs a child with stdout to a file; its exit status and resource usage.
    private static func spawn(_ arguments: [String], stdout path: String) throws -> (Int32, rusage) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard code == 0 else { fatalError("posix_spawn failed: \(code)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exited, usage)
    }

    static func report(_ result: Result) {
        print("| benchmark | value | unit |")
        print("| --- | ---: | --- |")
        print("| rollout: `allot assign --all-devices --no-push --json`, \(format(Double(result.devices))) devices, end to end | \(format(Double(result.assigned) / result.seconds)) | allocations/s |")
        print("| rollout: wall time | \(String(format: "%.1f", result.seconds)) | s |")
        print("| rollout: peak resident memory of the allot process | \(String(format: "%.0f", result.peakResidentMiB)) | MiB |")
        print("| rollout: batches committed (chunks of 10,000) | \(format(Double(result.batches))) | batches |")
        precondition(result.assigned == result.devices, "the roll-out assigned \(result.assigned) of \(result.devices)")
    }
}
