import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal for a child's standard error, so that what `allot` draws only on a
/// terminal (progress lines) can be read by a test. The master side is drained on a thread of
/// its own from the start: a child writing to a full terminal would block.
final class PseudoTerminal: @unchecked Sendable {
    /// The child's end: give it as `standardError`, then `closeChildEnd()` once it has started.
    let childEnd: FileHandle
    private let master: Int32
    private let lock = NSLock()
    private var bytes = Data()
    private let drained = DispatchSemaphore(value: 0)
    /// How long `text()` waits for the drain to see the child's end close.
    static let drainSecondsMax = 10.0

    /// Linux's ioctls on `/dev/ptmx` (asm-generic/ioctls.h): unlock the pair, read its number.
    /// Glibc's `posix_openpt`, `unlockpt` and `ptsname` are not visible to Swift without
    /// `_XOPEN_SOURCE`; these are what they do.
    static let unlockRequest: UInt = 0x4004_5431   // TIOCSPTLCK
    static let numberRequest: UInt = 0x8004_5430   // TIOCGPTN

    init() throws {
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: CInt = 0
        var number: CInt = 0
        guard master >= 0, ioctl(master, Self.unlockRequest, &unlock) == 0, ioctl(master, Self.numberRequest, &number) == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no pseudo-terminal: errno \(errno)"])
        }
        let name = "/dev/pts/\(number)"
        let child = open(name, O_RDWR | O_NOCTTY)
        guard child >= 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot open \(name)"]) }
        childEnd = FileHandle(fileDescriptor: child, closeOnDealloc: true)
        let master = master
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            // Ends when every child end is closed (read answers EIO) or the master is.
            while true {
                let count = read(master, &buffer, buffer.count)
                if count <= 0 { break }
                lock.withLock { bytes.append(contentsOf: buffer[0..<count]) }
            }
            drained.signal()
        }
    }

    /// Everything the child wrote, once it has exited: closes this process's copy of the child
    /// end, waits (bounded) for the drain, and closes the master.
    func text() -> String {
        try? childEnd.close()
        _ = drained.wait(timeout: .now() + Self.drainSecondsMax)
        close(master)
        return lock.withLock { String(decoding: bytes, as: UTF8.self) }
    }
}
