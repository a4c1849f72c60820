import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster for a test process, shared by the store and CLI suites: in a
/// temporary folder on a free loopback port, as the `postgres` user when this process is root
/// (the server refuses to run as root), stopped by a watchdog when the process ends.
public enum ThrowAwayPostgres {
    /// Where the PostgreSQL binaries are looked for (Debian's layout first).
    public static let binaryFolders = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"]
    /// How long a started cluster may take to accept connections.
    public static let startSecondsMax = 30

    /// The first folder holding `tool` (initdb, psql…), or nil when PostgreSQL is not installed.
    public static func binaries(with tool: String) -> String? {
        binaryFolders.first { FileManager.default.isExecutableFile(atPath: $0 + "/" + tool) }
    }

    /// Starts a cluster with the binaries in `bin`; returns its port and the user to connect as.
    public static func start(binaries bin: String, label: String, connectionsMax: Int) throws -> (port: Int, user: String) {
        guard FileManager.default.isExecutableFile(atPath: bin + "/initdb") else { throw ThrowAwayPostgresError("no PostgreSQL binaries (initdb) were found") }
        let root = getuid() == 0
        let user = root ? "postgres" : (ProcessInfo.processInfo.environment["USER"] ?? "postgres")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-\(label)-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if root { try run("/bin/chown", ["postgres", folder], asUser: nil) }
        let data = folder + "/data"
        try run(bin + "/initdb", ["-D", data, "-U", user, "-A", "trust", "--no-sync"], asUser: root ? "postgres" : nil)
        let port = try freeLoopbackPort()
        // fsync off: a throw-away cluster needs no durability, and the tests' many small
        // databases and commits would otherwise wait on the disk.
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=\(connectionsMax)"
        try run(bin + "/pg_ctl", ["-D", data, "-o", options, "-l", folder + "/log", "-w", "-t", String(startSecondsMax), "start"],
                asUser: root ? "postgres" : nil)
        // A watchdog, not atexit: it stops the cluster however this process ends (a crash, a
        // signal, a runner that skips exit handlers). Bounded by this process's life.
        let stop = (root ? "runuser -u postgres -- " : "") + "\(bin)/pg_ctl -D \(data) -m immediate stop"
        try spawn(["/bin/sh", "-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf \(folder)"], wait: false)
        return (port, user)
    }

    /// Runs a tool (as `user`, through runuser, when given) and waits for it.
    public static func run(_ tool: String, _ arguments: [String], asUser user: String?) throws {
        try spawn((user.map { ["/usr/sbin/runuser", "-u", $0, "--", tool] } ?? [tool]) + arguments, wait: true)
    }

    /// posix_spawn and waitpid, not Foundation's Process: its waitUntilExit can hang when called
    /// while the test runner is still building its plan.
    private static func spawn(_ argv: [String], wait: Bool) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0) }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw ThrowAwayPostgresError("cannot start \(argv[0]) (error \(spawned))") }
        guard wait else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WEXITSTATUS by hand: the C macro is not imported.
        let exitStatus = (status >> 8) & 0xFF
        guard status & 0x7F == 0, exitStatus == 0 else {
            throw ThrowAwayPostgresError("\(URL(fileURLWithPath: argv[0]).lastPathComponent) \(argv.dropFirst().prefix(2).joined(separator: " ")) failed with status \(exitStatus)")
        }
    }

    /// A port the kernel just gave out and took back: free for the server to bind next.
    private static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ThrowAwayPostgresError("cannot open a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw ThrowAwayPostgresError("cannot bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct ThrowAwayPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
