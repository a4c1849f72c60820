// `allot-bench --fleet-push-floor TOKENS[,TOKENS…]` (issue 11, point 4): the least work a fleet
// push makes Apple's side do on this machine, with no allot, no HTTP and no JSON at all.
//
// The fleet push ends when Apple holds every assignment, and Apple's stand-in holds each one as
// a row of its `assignments` table. So at the least, the simulator must write TOKENS x 1,000
// rows under its two indexes, one transaction per token (a call's event applies in one
// transaction). This writes exactly those rows, with a prepared statement bound row by row,
// into the simulator's own state file (its schema and pragmas: `AppleSimulator.initialize` made
// it) and again into an in-memory copy of that table (the same DDL, read back from the file), so
// the disk's share is apart. Its CPU, spread over every core, bounds the ratio the fleet push
// can reach here from above: allot's own work, the calls and the poll come on top.
import AppleSimulator
import BenchmarkSupport
import CSQLite
import Foundation

enum FleetPushFloor {
    struct Run {
        let tokens: Int
        /// Writing the rows into the simulator's state file: process CPU and wall time.
        let fileCPUSeconds: Double
        let fileSeconds: Double
        /// The same rows into an in-memory database with the same table and indexes.
        let memoryCPUSeconds: Double
        /// Apple's limit per token, as the simulator states it.
        let maxRequestPerSecond: Int
        var rows: Int { tokens * FleetPush.assignmentsPerToken }
        /// Apple's allowed minimum for the fleet push of this size, whose tokens make two calls
        /// each (an associate and its poll), as `FleetPush.Run` counts it.
        var allowedSeconds: Double { FleetPush.allowedSeconds(busiestTokenCalls: 2, maxRequestPerSecond: maxRequestPerSecond) }
        /// The best ratio with one state file: SQLite takes one writer at a time, so its rows'
        /// CPU is wall time.
        var bestRatioOneWriter: Double { allowedSeconds / max(allowedSeconds, memoryCPUSeconds) }
        /// The best ratio this machine allows at all: the rows' CPU spread over every core (as if
        /// Apple's state were split into one file per core).
        var bestRatio: Double { allowedSeconds / max(allowedSeconds, memoryCPUSeconds / Double(cores)) }
        var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
    }

    static func run(tokens: Int, directory: String) throws -> Run {
        let folder = URL(fileURLWithPath: "\(directory)/floor-\(tokens)")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let statePath = folder.appendingPathComponent("sim.sqlite")
        let simulator = try AppleSimulator.initialize(seed: Data(FleetPush.seed(tokens: tokens).utf8), statePath: statePath,
                                                      tokensDirectory: folder.appendingPathComponent("tokens"))
        let maxRequestPerSecond = blocking("--fleet-push-floor") { try await simulator.serviceConfig().limits.maxRequestPerSecond }

        let file = RawConnection(path: statePath.path)
        defer { file.close() }
        let schema = assignmentsSchema(file)
        let locations = (1...tokens).map(FleetPush.uId)
        // Made before the clock starts: the simulator receives its serials, it does not format them.
        let serials = (0..<tokens * FleetPush.assignmentsPerToken).map(FleetPush.serial)
        let (fileCPU, fileWall) = measure { writeAssignments(file, locations: locations, serials: serials) }

        let memory = RawConnection(path: ":memory:")
        defer { memory.close() }
        memory.exec(schema)
        let (memoryCPU, _) = measure { writeAssignments(memory, locations: locations, serials: serials) }
        return Run(tokens: tokens, fileCPUSeconds: fileCPU, fileSeconds: fileWall, memoryCPUSeconds: memoryCPU,
                   maxRequestPerSecond: maxRequestPerSecond)
    }

    /// The simulator's `assignments` table and its indexes, as its state file declares them.
    static func assignmentsSchema(_ connection: RawConnection) -> String {
        let statement = connection.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'assignments' AND sql IS NOT NULL ORDER BY type DESC")
        defer { sqlite3_finalize(statement) }
        var parts: [String] = []
        while sqlite3_step(statement) == SQLITE_ROW { parts.append(String(cString: sqlite3_column_text(statement, 0))) }
        precondition(parts.count == 3, "the simulator's assignments table no longer has two indexes: update the floor's description")
        return parts.joined(separator: ";\n") + ";"
    }

    /// One transaction per location, each the location's 1,000 assignments of the fleet's app;
    /// `serials` holds every location's, in order. Checks that they are all there afterwards.
    static func writeAssignments(_ connection: RawConnection, locations: [String], serials: [String]) {
        let insert = connection.prepare("INSERT INTO assignments (location, adam_id, pricing_param, serial, version) VALUES (?1, ?2, 'STDQ', ?3, ?4)")
        defer { sqlite3_finalize(insert) }
        for (index, location) in locations.enumerated() {
            connection.exec("BEGIN IMMEDIATE")
            sqlite3_bind_text(insert, 1, location, -1, rawTransient)
            sqlite3_bind_text(insert, 2, FleetPush.app.adamId, -1, rawTransient)
            sqlite3_bind_int64(insert, 4, Int64(index + 1))
            for offset in 0..<FleetPush.assignmentsPerToken {
                sqlite3_bind_text(insert, 3, serials[index * FleetPush.assignmentsPerToken + offset], -1, rawTransient)
                RawConnection.run(insert)
            }
            connection.exec("COMMIT")
        }
        precondition(connection.int("SELECT count(*) FROM assignments") == Int64(serials.count), "the floor wrote the wrong number of rows")
    }

    /// This process's CPU (user + system) and the wall time of `work`.
    static func measure(_ work: () -> Void) -> (cpu: Double, wall: Double) {
        let cpu = FleetPush.processCPUSeconds()
        let start = Date()
        work()
        return (FleetPush.processCPUSeconds() - cpu, Date().timeIntervalSince(start))
    }

    static func report(_ runs: [Run]) {
        print("")
        print("Fleet push floor: only the rows Apple's stand-in must write (\(format(Double(FleetPush.assignmentsPerToken)))"
            + " assignments a token, one transaction a token), on \(runs.first?.cores ?? 0) cores")
        print("")
        print("| tokens | rows | Apple's allowed minimum | state file: CPU | state file: wall | in memory: CPU | best ratio, one state file | best ratio, every core |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in runs {
            print("| \(format(Double(run.tokens))) | \(format(Double(run.rows))) | \(String(format: "%.2f s", run.allowedSeconds)) "
                + "| \(String(format: "%.2f s", run.fileCPUSeconds)) | \(String(format: "%.2f s", run.fileSeconds)) "
                + "| \(String(format: "%.2f s", run.memoryCPUSeconds)) | \(ratio(run.bestRatioOneWriter)) | \(ratio(run.bestRatio)) |")
        }
        print("")
        print("Best ratio: Apple's allowed minimum over the in-memory rows' CPU (1.00× when that fits in the minimum): as it is, for one "
            + "state file, whose writes SQLite takes one at a time; spread over every core, as if Apple's state were split in one file per core. "
            + "It leaves out everything else a push does (allot's ledger, the calls, JSON, the poll), so the fleet push here cannot do better.")
    }
}
