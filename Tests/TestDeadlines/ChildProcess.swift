import Foundation

/// A child process started with `posix_spawn` and reaped with `waitpid`, for a test's thread
/// of its own (`OffThePool`). Foundation's `Process.run` crashed the test process (SIGSEGV in
/// its copying) when called from such threads, and its `waitUntilExit` runs a run loop that
/// races its own termination handler; the C calls do neither.
public enum ChildProcess {
    /// How the child ended.
    public enum Ending: Equatable, Sendable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signalled(Int32)
        /// It was still running after the bound, and was stopped (SIGTERM, then SIGKILL) and reaped.
        case stoppedAfterBound
    }

    /// Runs `executable ARGUMENTS…` in `directory` with exactly `environment`, its standard
    /// streams from and to files, and waits (blocking this thread) at most `secondsMax`.
    /// `standardError` nil: into the same file as standard output, in the order written.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String], directory: String,
                           standardInput: String = "/dev/null", standardOutput: String, standardError: String?,
                           secondsMax: Double) throws -> Ending {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        guard let addChangeDirectory = spawnChangesDirectory, addChangeDirectory(&actions, directory) == 0 else {
            throw ChildProcessError("cannot start \(executable) in \(directory): this C library has no posix_spawn_file_actions_addchdir_np")
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        return wait(pid, secondsMax: secondsMax)
    }

    /// Polls (10 ms) until the child ends or the bound passes; stops and reaps one still running.
    private static func wait(_ pid: pid_t, secondsMax: Double) -> Ending {
        let deadline = Date().addingTimeInterval(secondsMax)
        while Date() < deadline {
            if let ending = reaped(pid) { return ending }
            usleep(10_000)
        }
        kill(pid, SIGTERM)
        let grace = Date().addingTimeInterval(5)
        while Date() < grace {
            if reaped(pid) != nil { return .stoppedAfterBound }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return .stoppedAfterBound
    }

    private static func reaped(_ pid: pid_t) -> Ending? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand: the C macros are not imported.
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }
}

/// glibc's `posix_spawn_file_actions_addchdir_np` (2.29 and later), looked up at run time:
/// Swift's Glibc module does not import it.
private typealias AddChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
private let spawnChangesDirectory: AddChangeDirectory? =
    dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChangeDirectory.self) }

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
