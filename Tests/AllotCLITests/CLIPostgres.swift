import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server for the CLI tests, found as the store tests find theirs
/// (Tests/AllotStoreTests/TestPostgres.swift): `ALLOT_TEST_POSTGRES_URL` when set, else a
/// throw-away cluster when the binaries are installed, else nil with a note printed. Databases
/// are made and dropped with `psql`, so this target needs no module of its own.
struct CLIPostgres: Sendable {
    static let environmentVariable = "ALLOT_TEST_POSTGRES_URL"
    static let binaryFolders = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"]
    static let startSecondsMax = 30

    let host: String
    let port: Int
    let user: String
    let psql: String

    static let server: CLIPostgres? = {
        do {
            guard let bin = binaryFolders.first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/psql") }) else {
                throw CLIPostgresError("no PostgreSQL binaries (psql) were found")
            }
            if let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty {
                guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql", let host = parts.host else {
                    throw CLIPostgresError("\(environmentVariable) is not a postgres:// URL")
                }
                return CLIPostgres(host: host, port: parts.port ?? 5432, user: parts.user ?? "postgres", psql: bin + "/psql")
            }
            return try startCluster(bin)
        } catch {
            FileHandle.standardError.write(Data("note: the PostgreSQL cases of the CLI suites are skipped: \(error); set \(environmentVariable) or install PostgreSQL (apt-get install -y postgresql) to run them\n".utf8))
            return nil
        }
    }()

    func url(_ database: String) -> String { "postgres://\(user)@\(host):\(port)/\(database)" }

    func createDatabase(_ label: String) throws -> String {
        let name = "allot_cli_\(label)_" + UUID().uuidString.prefix(8).lowercased()
        try Self.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "CREATE DATABASE \(name)"], asUser: nil)
        return name
    }

    /// Best effort: the nodes are gone, so FORCE only ends what they left behind.
    func dropDatabase(_ name: String) {
        try? Self.run(psql, ["-h", host, "-p", String(port), "-U", user, "-d", "postgres", "-q", "-c", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"], asUser: nil)
    }

    private static func startCluster(_ bin: String) throws -> CLIPostgres {
        guard FileManager.default.isExecutableFile(atPath: bin + "/initdb") else { throw CLIPostgresError("no initdb beside psql") }
        let root = getuid() == 0
        let user = root ? "postgres" : (ProcessInfo.processInfo.environment["USER"] ?? "postgres")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-cli-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if root { try run("/bin/chown", ["postgres", folder], asUser: nil) }
        let data = folder + "/data"
        try run(bin + "/initdb", ["-D", data, "-U", user, "-A", "trust", "--no-sync"], asUser: root ? "postgres" : nil)
        let port = try freeLoopbackPort()
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        try run(bin + "/pg_ctl", ["-D", data, "-o", options, "-l", folder + "/log", "-w", "-t", String(startSecondsMax), "start"], asUser: root ? "postgres" : nil)
        // A watchdog stops the cluster however this process ends.
        let stop = (root ? "runuser -u postgres -- " : "") + "\(bin)/pg_ctl -D \(data) -m immediate stop"
        try spawn(["/bin/sh", "-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf \(folder)"], wait: false)
        return CLIPostgres(host: "127.0.0.1", port: port, user: user, psql: bin + "/psql")
    }

    static func run(_ tool: String, _ arguments: [String], asUser user: String?) throws {
        try spawn((user.map { ["/usr/sbin/runuser", "-u", $0, "--", tool] } ?? [tool]) + arguments, wait: true)
    }

    /// posix_spawn and waitpid, as TestPostgres does: Foundation's Process can hang while the
    /// runner is still building its plan.
    private static func spawn(_ argv: [String], wait: Bool) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0) }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw CLIPostgresError("cannot start \(argv[0]) (error \(spawned))") }
        guard wait else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status >> 8) & 0xFF
        guard status & 0x7F == 0, exitStatus == 0 else {
            throw CLIPostgresError("\(URL(fileURLWithPath: argv[0]).lastPathComponent) \(argv.dropFirst().prefix(2).joined(separator: " ")) failed with status \(exitStatus)")
        }
    }

    private static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw CLIPostgresError("cannot open a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw CLIPostgresError("cannot bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct CLIPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
