import Allot
import AllotCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system resolver and the machine's interfaces, as `IPAddress`es: the I/O shell around
/// `WebhookTarget`'s decision.
public enum HostResolver {
    /// Every address `getaddrinfo` gives for `host`, or none when it fails or takes longer
    /// than `WebhookLimits.resolveTimeoutSeconds` (a target that does not resolve is refused).
    /// The lookup blocks, so it runs on a thread of its own, never on the cooperative pool.
    public static func addresses(of host: String) async -> [IPAddress] {
        let once = Once()
        return await withCheckedContinuation { continuation in
            once.set(continuation)
            Thread.detachNewThread { once.resume(lookup(host)) }
            Task {
                try? await Task.sleep(for: .seconds(WebhookLimits.resolveTimeoutSeconds))
                once.resume([])
            }
        }
    }

    /// Resumes a continuation with the first answer, whichever comes first.
    private final class Once: Sendable {
        let state = Mutex<CheckedContinuation<[IPAddress], Never>?>(nil)
        func set(_ continuation: CheckedContinuation<[IPAddress], Never>) { state.withLock { $0 = continuation } }
        func resume(_ value: [IPAddress]) { state.withLock { $0.take() }?.resume(returning: value) }
    }

    static func lookup(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor, addresses.count < WebhookLimits.resolvedAddressesMax {
            if let address = info.pointee.ai_addr.flatMap(address(of:)), !addresses.contains(address) { addresses.append(address) }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// The addresses of this machine's interfaces (loopback included).
    public static func interfaceAddresses() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(first) }
        var addresses: Set<IPAddress> = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        // Bounded by the kernel's list; the count guards against a corrupt one.
        while let interface = cursor, addresses.count < 4_096 {
            if let address = interface.pointee.ifa_addr.flatMap(address(of:)) { addresses.insert(address) }
            cursor = interface.pointee.ifa_next
        }
        return addresses
    }

    /// The bytes of an IPv4 or IPv6 socket address, in network order as they lie in memory.
    static func address(of socketAddress: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { IPAddress(bytes: Array($0)) }
            }
        case AF_INET6:
            return socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(bytes: Array($0)) }
            }
        default:
            return nil
        }
    }
}
