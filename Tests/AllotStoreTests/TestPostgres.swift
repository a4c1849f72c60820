import AllotStore
import Foundation
import Testing

/// The two engines every ledger suite runs on, with the same assertions.
enum TestBackend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL when `TestPostgres` found one (else its cases are skipped,
    /// and the reason printed once).
    static let all: [TestBackend] = TestPostgres.server != nil ? [.sqlite, .postgres] : [.sqlite]
    var testDescription: String { rawValue }
}

/// A PostgreSQL server for the tests: `ALLOT_TEST_POSTGRES_URL` when set (CI's `.ci/run` sets
/// it), else a throw-away cluster started once for this test process when the PostgreSQL
/// binaries are installed, stopped when the process exits. Every test gets a fresh database.
enum TestPostgres {
    static let environmentVariable = "ALLOT_TEST_POSTGRES_URL"
    /// Where initdb and pg_ctl are looked for (Debian's layout first).
    static let binaryFolders = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"]
    /// How long a started cluster may take to accept connections.
    static let startSecondsMax = 30

    /// The server's location (its `postgres` database), or nil with the reason printed.
    static let server: PostgresLocation? = {
        do {
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                guard case .postgres(let location) = try LedgerLocation(parsing: url) else {
                    throw TestPostgresError("\(environmentVariable) is not a postgres:// URL")
                }
                return location
            }
            return try ThrowAwayCluster.start()
        } catch {
            FileHandle.standardError.write(Data("note: the PostgreSQL cases of the ledger suites are skipped: \(error); set \(environmentVariable) or install PostgreSQL (apt-get install -y postgresql) to run them\n".utf8))
            return nil
        }
    }()

    /// A new, empty database on the server, for one test.
    static func freshDatabase(_ label: String) throws -> PostgresLocation {
        guard let server else { throw TestPostgresError("no PostgreSQL server for the tests") }
        let name = "allot_" + label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30) + "_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try PostgresLedgerDatabase(server)
        try admin.execute("CREATE DATABASE \(name)")
        return server.with(database: name)
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A cluster in a temporary folder on a free loopback port, as the `postgres` user when this
/// process is root (the server refuses to run as root).
private enum ThrowAwayCluster {
    static func start() throws -> PostgresLocation {
        guard let bin = TestPostgres.binaryFolders.first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }) else {
            throw TestPostgresError("no PostgreSQL binaries (initdb) were found")
        }
        let root = getuid() == 0
        let user = root ? "postgres" : (ProcessInfo.processInfo.environment["USER"] ?? "postgres")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-test-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if root { try run("/bin/chown", ["postgres", folder], asUser: nil) }
        let data = folder + "/data"
        try run(bin + "/initdb", ["-D", data, "-U", user, "-A", "trust", "--no-sync"], asUser: root ? "postgres" : nil)
        let port = try freeLoopbackPort()
        // fsync off: a throw-away cluster needs no durability, and the tests' many small
        // databases and commits would otherwise wait on the disk.
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
        try run(bin + "/pg_ctl", ["-D", data, "-o", options, "-l", folder + "/log", "-w", "-t", String(TestPostgres.startSecondsMax), "start"],
                asUser: root ? "postgres" : nil)
        // A watchdog, not atexit: it stops the cluster however this process ends (a crash, a
        // signal, a runner that skips exit handlers). Bounded by this process's life.
        let stop = (root ? "runuser -u postgres -- " : "") + "\(bin)/pg_ctl -D \(data) -m immediate stop"
        try spawnDetached(["/bin/sh", "-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf \(folder)"])
        return PostgresLocation(host: "127.0.0.1", port: port, user: user, database: "postgres")
    }

    /// Runs a tool and waits for it. posix_spawn and waitpid, not Foundation's Process: its
    /// waitUntilExit can hang when called while the test runner is still building its plan.
    static func run(_ tool: String, _ arguments: [String], asUser user: String?) throws {
        let argv = (user.map { ["/usr/sbin/runuser", "-u", $0, "--", tool] } ?? [tool]) + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw TestPostgresError("cannot start \(argv[0]) (error \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WEXITSTATUS by hand: the C macro is not imported.
        let exitStatus = (status >> 8) & 0xFF
        guard status & 0x7F == 0, exitStatus == 0 else {
            throw TestPostgresError("\(URL(fileURLWithPath: tool).lastPathComponent) failed with status \(exitStatus)")
        }
    }

    /// Starts a process and lets it run on its own.
    static func spawnDetached(_ argv: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0) }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw TestPostgresError("cannot start \(argv[0]) (error \(spawned))") }
    }

    /// A port the kernel just gave out and took back: free for the server to bind next.
    static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestPostgresError("cannot open a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw TestPostgresError("cannot bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
