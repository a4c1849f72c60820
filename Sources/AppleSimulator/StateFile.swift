import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The simulator's state on disk. CLI invocations are separate processes sharing one file, so
/// every call is a transaction: take an exclusive lock, read the file, change, write it back
/// atomically (temporary file + rename), release. Always re-reading is slower than caching but
/// cannot serve state another process has already changed.
struct StateFile: Sendable {
    let url: URL
    /// `flock` on a side file, not on the state file: the rename replaces the state file's inode,
    /// and a lock held on the old inode would no longer exclude anyone.
    var lockURL: URL { url.appendingPathExtension("lock") }

    func transaction<T>(_ body: (inout SimulatorState) throws -> T) throws -> T {
        let descriptor = open(lockURL.path, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else { throw AppleSimulatorError.stateFile("cannot open lock file \(lockURL.path) (errno \(errno))") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw AppleSimulatorError.stateFile("cannot lock \(lockURL.path) (errno \(errno))") }
        defer { flock(descriptor, LOCK_UN) }

        var state = try load()
        let before = state
        // Consumed faults and settled events must be saved even when the call then throws.
        let result = Result { try body(&state) }
        if state != before { try save(state) }
        return try result.get()
    }

    /// Writes a brand-new state (`sim init`), replacing whatever was there.
    func create(_ state: SimulatorState) throws {
        let descriptor = open(lockURL.path, O_CREAT | O_RDWR, 0o600)
        guard descriptor >= 0 else { throw AppleSimulatorError.stateFile("cannot open lock file \(lockURL.path) (errno \(errno))") }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw AppleSimulatorError.stateFile("cannot lock \(lockURL.path) (errno \(errno))") }
        defer { flock(descriptor, LOCK_UN) }
        try save(state)
    }

    func load() throws -> SimulatorState {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AppleSimulatorError.stateFile("cannot read \(url.path): run `allot sim init` first (\(error.localizedDescription))")
        }
        let state: SimulatorState
        do {
            state = try Self.decoder.decode(SimulatorState.self, from: data)
        } catch {
            throw AppleSimulatorError.stateFile("\(url.path) is not a simulator state (\(error))")
        }
        guard state.formatVersion == SimulatorState.currentFormatVersion else {
            throw AppleSimulatorError.stateFile("\(url.path) has format \(state.formatVersion), expected \(SimulatorState.currentFormatVersion)")
        }
        return state
    }

    private func save(_ state: SimulatorState) throws {
        let data = try Self.encoder.encode(state)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
        } catch {
            throw AppleSimulatorError.stateFile("cannot write \(temporary.path) (\(error.localizedDescription))")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw AppleSimulatorError.stateFile("cannot rename \(temporary.path) to \(url.path) (errno \(code))")
        }
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
