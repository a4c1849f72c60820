import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The simulator's state on disk: one SQLite file, shared safely by every process that opens it
/// (`allot sim serve`, CLI `sim` commands, in-process simulators): WAL, a busy timeout, and
/// every call one `BEGIN IMMEDIATE` transaction.
enum StateFile {
    /// The first bytes of every SQLite database file.
    static let sqliteHeader = Array("SQLite format 3\u{0}".utf8)

    /// Opens an existing state; a missing file, a JSON state of the old format or another
    /// database each get one sentence saying what to do.
    static func open(_ url: URL) throws -> SimulatorConnection {
        let header: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            header = Array(try handle.read(upToCount: sqliteHeader.count) ?? Data())
        } catch {
            throw AppleSimulatorError.stateFile("cannot read \(url.path): run `allot sim init` first")
        }
        guard header == sqliteHeader else {
            if header.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) == UInt8(ascii: "{") {
                throw AppleSimulatorError.stateFile("\(url.path) is in the old JSON format; re-run `allot sim init` to create it again")
            }
            throw AppleSimulatorError.stateFile("\(url.path) is not a simulator state; re-run `allot sim init` to create one")
        }
        let connection = try SimulatorConnection(path: url.path, create: false)
        let marker = try? connection.queryFirst("SELECT format, format_version FROM simulator WHERE id = 1") { ($0.string(0), $0.int(1)) }
        guard let marker, marker.0 == SimulatorSchema.format else {
            throw AppleSimulatorError.stateFile("\(url.path) is an SQLite file but not a simulator state; re-run `allot sim init` to create one")
        }
        guard marker.1 == SimulatorSchema.formatVersion else {
            throw AppleSimulatorError.stateFile("\(url.path) has format \(marker.1), this allot reads \(SimulatorSchema.formatVersion); re-run `allot sim init`")
        }
        return connection
    }

    /// A brand-new state (`sim init`), replacing whatever was at `url`; `fill` writes the
    /// seed's rows inside the creating transaction, so a bad seed leaves no half-made file.
    static func create(_ url: URL, fill: (SimulatorConnection) throws -> Void) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).new")
        removeDatabase(temporary)
        do {
            let connection = try SimulatorConnection(path: temporary.path, create: true)
            try connection.execute("BEGIN IMMEDIATE")
            try connection.execute(SimulatorSchema.create)
            try fill(connection)
            try connection.execute("COMMIT")
            // One file to move: fold the WAL into the database before the rename.
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        } catch {
            removeDatabase(temporary)
            throw error
        }
        removeDatabase(url)
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            removeDatabase(temporary)
            throw AppleSimulatorError.stateFile("cannot rename \(temporary.path) to \(url.path) (errno \(code))")
        }
        removeDatabase(temporary)
    }

    /// The database and its WAL and shared-memory siblings.
    private static func removeDatabase(_ url: URL) {
        for suffix in ["", "-wal", "-shm"] { unlink(url.path + suffix) }
    }
}
