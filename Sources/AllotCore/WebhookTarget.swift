import Foundation

// Where a webhook may post (issue 28, point 3). A tenant chooses the URL, and `allot serve`
// posts to it from inside the operator's network: without these rules a tenant key can make
// the server post to itself (its own admin routes), to a cloud's metadata service
// (169.254.169.254) or to any private host, and read the answers' status back as a port
// scanner. The rules are one pure decision, taken twice:
//
// - at registration, on what is known without DNS (the scheme, a literal address, a known
//   metadata name), so a tenant hears at once what is wrong;
// - at send time, on every address the host resolves to, right before the post, and the post
//   goes to the address that was checked (the sender pins it), so a name that resolves to a
//   public address at registration and to 127.0.0.1 later (DNS rebinding) is still refused.
//
// An address is refused when any of the host's addresses is: a receiver with one private
// address among public ones is one DNS answer away from reaching inside.

/// An IP address as its bytes: 4 for IPv4, 16 for IPv6. Parsed without `inet_pton`, in every
/// spelling the C resolver accepts for IPv4 (`inet_aton`: `127.1`, `2130706433`, `0x7f000001`,
/// `0177.0.0.1`), since that is what a connection to such a host would reach.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init(v4 value: UInt32) {
        bytes = [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// An address literal as a URL's host carries it (IPv6 with or without brackets), or nil
    /// when the text is a host name. A zone (`fe80::1%eth0`) is not an address a webhook may
    /// name: nil, and the name is then refused as unresolvable.
    public init?(parsing raw: String) {
        var text = raw
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.contains(":") {
            guard let bytes = Self.parseV6(text) else { return nil }
            self.init(bytes: bytes)
        } else {
            guard let value = Self.parseV4(text) else { return nil }
            self.init(v4: value)
        }
    }

    public var isV4: Bool { bytes.count == 4 }

    public var v4Value: UInt32? {
        guard isV4 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The IPv4 address an IPv6 one stands for, where the packets end up at that IPv4 address:
    /// mapped (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`), compatible (`::a.b.c.d`),
    /// NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
    public var embeddedV4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let zeros10 = bytes[0..<10].allSatisfy { $0 == 0 }
        if zeros10, bytes[10] == 0xff, bytes[11] == 0xff { return IPAddress(bytes: Array(bytes[12..<16])) }
        if bytes[0..<8].allSatisfy({ $0 == 0 }), bytes[8] == 0xff, bytes[9] == 0xff, bytes[10] == 0, bytes[11] == 0 {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        // `::` and `::1` are IPv6's own unspecified and loopback addresses, not compatible ones.
        if bytes[0..<12].allSatisfy({ $0 == 0 }), bytes[12..<16].contains(where: { $0 != 0 }), bytes[12..<15].contains(where: { $0 != 0 }) {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if bytes[0..<12].elementsEqual([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) { return IPAddress(bytes: Array(bytes[12..<16])) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }

    /// The address's kind, by the IANA special-purpose registries (RFC 6890 and its updates).
    public var range: AddressRange {
        if let embedded = embeddedV4 { return embedded.range }
        if let value = v4Value { return Self.rangeV4(value) }
        if bytes.allSatisfy({ $0 == 0 }) { return .unspecified }
        if bytes[0..<15].allSatisfy({ $0 == 0 }), bytes[15] == 1 { return .loopback }
        if bytes[0] == 0xff { return .multicast }
        if bytes[0] == 0xfe, bytes[1] & 0xc0 == 0x80 { return .linkLocal }
        // fc00::/7 unique local; fec0::/10 site-local (deprecated, still routed inside sites).
        if bytes[0] & 0xfe == 0xfc { return .privateUse }
        if bytes[0] == 0xfe, bytes[1] & 0xc0 == 0xc0 { return .privateUse }
        // 2001:db8::/32 documentation; 100::/64 discard.
        if bytes[0..<4].elementsEqual([0x20, 0x01, 0x0d, 0xb8]) { return .reserved }
        if bytes[0] == 0x01, bytes[1..<8].allSatisfy({ $0 == 0 }) { return .reserved }
        return .global
    }

    static func rangeV4(_ value: UInt32) -> AddressRange {
        func within(_ base: UInt32, _ prefix: Int) -> Bool { value & AddressBlock.mask32(prefix) == base }
        if within(0x0000_0000, 8) { return .unspecified }            // 0.0.0.0/8 "this network": Linux connects it to itself
        if within(0x7f00_0000, 8) { return .loopback }               // 127.0.0.0/8
        if within(0x0a00_0000, 8) || within(0xac10_0000, 12) || within(0xc0a8_0000, 16) { return .privateUse } // RFC 1918
        if within(0x6440_0000, 10) { return .privateUse }            // 100.64.0.0/10 carrier-grade NAT
        if within(0xa9fe_0000, 16) { return .linkLocal }             // 169.254.0.0/16, cloud metadata
        if within(0xe000_0000, 4) || value == 0xffff_ffff { return .multicast } // multicast, limited broadcast
        if within(0xf000_0000, 4) { return .reserved }               // 240.0.0.0/4
        if within(0xc000_0000, 24) || within(0xc000_0200, 24) || within(0xc612_0000, 15)
            || within(0xc633_6400, 24) || within(0xcb00_7100, 24) { return .reserved } // IETF, documentation, benchmarking
        return .global
    }

    /// `inet_aton`'s forms: one to four parts split by dots, each decimal, `0x` hex or
    /// `0`-prefixed octal; the last part fills the bytes the others left.
    static func parseV4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let (digits, radix): (Substring, Int) =
                if part.lowercased().hasPrefix("0x") { (part.dropFirst(2), 16) }
                else if part.hasPrefix("0"), part.count > 1 { (part.dropFirst(), 8) }
                else { (part, 10) }
            guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }), let value = UInt64(digits, radix: radix) else { return nil }
            values.append(value)
        }
        var result: UInt32 = 0
        for (index, value) in values.dropLast().enumerated() {
            guard value <= 0xff else { return nil }
            result |= UInt32(value) << (24 - 8 * index)
        }
        let lastBits = 32 - 8 * (values.count - 1)
        guard let last = values.last, last < (UInt64(1) << lastBits) else { return nil }
        return result | UInt32(last)
    }

    /// RFC 4291 text: eight groups of up to four hex digits, one `::` at most, an IPv4 tail.
    static func parseV6(_ text: String) -> [UInt8]? {
        guard text.count <= 45, !text.contains("%") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    // The tail in strict dotted decimal, as RFC 4291 writes it.
                    let octets = piece.split(separator: ".", omittingEmptySubsequences: false)
                    guard octets.count == 4 else { return nil }
                    var bytes: [UInt16] = []
                    for octet in octets {
                        guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt16(octet), value <= 255 else { return nil }
                        bytes.append(value)
                    }
                    result += [bytes[0] << 8 | bytes[1], bytes[2] << 8 | bytes[3]]
                } else {
                    guard !piece.isEmpty, piece.count <= 4, piece.allSatisfy({ $0.isASCII && $0.isHexDigit }), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// Dotted decimal, or IPv6 as eight hex groups (a connector accepts either).
    public var description: String {
        if isV4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// The kinds of address the rules tell apart.
public enum AddressRange: String, Sendable, Hashable {
    case unspecified, loopback, privateUse, linkLocal, multicast, reserved, global
}

/// A block of addresses, `10.20.0.0/16` or `fd00::/8`; a bare address is a block of one.
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    public let base: IPAddress
    public let prefix: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let base = IPAddress(parsing: String(parts[0])) else { return nil }
        let bits = base.bytes.count * 8
        guard let prefix = parts.count == 2 ? Int(parts[1]) : bits, (0...bits).contains(prefix) else { return nil }
        self.base = base
        self.prefix = prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefix
        for (mine, theirs) in zip(base.bytes, address.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            guard mine & mask == theirs & mask else { return false }
            remaining -= 8
        }
        return true
    }

    static func mask32(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix) }

    public var description: String { "\(base)/\(prefix)" }
}

/// What an operator allows beyond the defaults (`allot serve --webhook-allow-http`,
/// `--webhook-allow`). The defaults refuse everything inside.
public struct WebhookTargetPolicy: Sendable, Hashable {
    /// `http` receivers, for development: events and their signatures travel in clear text.
    public var allowHTTP: Bool
    /// Address blocks a receiver may be in although they are private, loopback or link-local
    /// (an on-premises receiver).
    public var allowedBlocks: [AddressBlock]
    /// Host names whose addresses are not checked (lowercase, no trailing dot): the operator
    /// vouches for that name's DNS.
    public var allowedHosts: Set<String>

    public init(allowHTTP: Bool = false, allowedBlocks: [AddressBlock] = [], allowedHosts: Set<String> = []) {
        self.allowHTTP = allowHTTP
        self.allowedBlocks = allowedBlocks
        self.allowedHosts = allowedHosts
    }

    /// Entries of the allow-list, each a block (`10.20.0.0/16`, `127.0.0.1`) or a host name.
    public mutating func allow(_ entry: String) throws(AllotError) {
        let text = entry.trimmingCharacters(in: .whitespaces).lowercased()
        if let block = AddressBlock(parsing: text) {
            allowedBlocks.append(block)
            return
        }
        let host = WebhookTarget.normalizedHost(text)
        guard !host.isEmpty, !host.contains("/"), host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
            throw .invalidInput("'\(entry.printableExcerpt)' is neither an address block like 10.20.0.0/16 nor a host name")
        }
        allowedHosts.insert(host)
    }
}

/// This server as a target: the addresses of its interfaces and the port it listens on.
public struct ServerEndpoints: Sendable, Hashable {
    public var addresses: Set<IPAddress>
    public var port: Int?

    public init(addresses: Set<IPAddress> = [], port: Int? = nil) {
        self.addresses = addresses
        self.port = port
    }
}

/// Why a target was refused. The raw values are stable: they appear in `lastError`.
public enum WebhookTargetRule: String, Sendable, Hashable, CaseIterable {
    case httpsRequired = "https_required"
    case metadataHost = "metadata_host"
    case unresolved
    case unspecified
    case multicast
    case thisServer = "this_server"
    case loopback
    case privateRange = "private_range"
    case linkLocal = "link_local"
    case reserved

    /// What is wrong, as a clause about the host (never its resolved addresses: they would tell
    /// a tenant what an inside name resolves to).
    public var reason: String {
        switch self {
        case .httpsRequired: "is not https: events and their signatures would travel in clear text"
        case .metadataHost: "is a cloud metadata service, which hands out the server's credentials"
        case .unresolved: "does not resolve to any address"
        case .unspecified: "is an unspecified address (0.0.0.0 or ::), which reaches this machine"
        case .multicast: "is a multicast or broadcast address"
        case .thisServer: "is this server itself"
        case .loopback: "is a loopback address, which reaches this machine"
        case .privateRange: "is in a private network range (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)"
        case .linkLocal: "is link-local (169.254/16, fe80::/10), where cloud metadata services live"
        case .reserved: "is in a reserved or documentation range"
        }
    }

    /// How to put it right.
    public var remedy: String {
        switch self {
        case .httpsRequired: "use https (http receivers are for development, and the server's operator must allow them)"
        case .metadataHost, .unspecified, .multicast, .thisServer, .unresolved: "give a receiver's public https address"
        case .loopback, .privateRange, .linkLocal, .reserved:
            "give a public https address, or ask the server's operator to allow this receiver (an on-premises allow-list)"
        }
    }
}

public enum WebhookTargetDecision: Sendable, Hashable {
    case allowed
    /// The rule, and the address that broke it (nil for rules about the URL or the name).
    case refused(WebhookTargetRule, address: IPAddress?)
}

/// A webhook URL taken apart for the rules.
public struct WebhookTarget: Sendable, Hashable {
    public let scheme: String
    /// Lowercase, without brackets or a trailing dot.
    public let host: String
    public let port: Int

    /// Names of cloud metadata services (GCP, AWS, Azure, Alibaba, Oracle). Their addresses are
    /// link-local and refused anyway; the names are refused before DNS is asked.
    public static let metadataHosts: Set<String> = [
        "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
        "metadata.azure.com", "metadata.tencentyun.com", "metadata.oraclecloud.com",
    ]

    public init(_ url: WebhookURL) {
        let components = URLComponents(string: url.text)
        scheme = components?.scheme?.lowercased() ?? ""
        host = Self.normalizedHost(components?.host ?? "")
        port = components?.port ?? (scheme == "https" ? 443 : 80)
    }

    static func normalizedHost(_ raw: String) -> String {
        var host = raw.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// The host as an address literal, in any spelling a resolver would accept.
    public var literalAddress: IPAddress? { IPAddress(parsing: host) }

    /// What registration can decide without DNS: the scheme, a metadata name, `localhost`, a
    /// literal address. Nil when only the addresses the name resolves to can tell.
    public func decideWithoutDNS(policy: WebhookTargetPolicy) -> WebhookTargetDecision? {
        if let early = decideName(policy: policy) { return early }
        if let literal = literalAddress { return decide(resolved: [literal], policy: policy, server: ServerEndpoints()) }
        // The resolver answers `localhost` and its subdomains itself (RFC 6761), with loopback.
        if host == "localhost" || host.hasSuffix(".localhost") {
            return decide(resolved: [IPAddress(v4: 0x7f00_0001)], policy: policy, server: ServerEndpoints())
        }
        return nil
    }

    /// The decision before a post: every address the host resolved to must pass.
    public func decide(resolved: [IPAddress], policy: WebhookTargetPolicy, server: ServerEndpoints) -> WebhookTargetDecision {
        if let early = decideName(policy: policy) { return early }
        guard !resolved.isEmpty else { return .refused(.unresolved, address: nil) }
        for address in resolved {
            if let rule = refusal(of: address, policy: policy, server: server) { return .refused(rule, address: address) }
        }
        return .allowed
    }

    private func decideName(policy: WebhookTargetPolicy) -> WebhookTargetDecision? {
        if scheme != "https", !(scheme == "http" && policy.allowHTTP) { return .refused(.httpsRequired, address: nil) }
        if Self.metadataHosts.contains(host) { return .refused(.metadataHost, address: nil) }
        return nil
    }

    /// The rules for one address, in a fixed order: what no allow-list can open first
    /// (unspecified, multicast, this server's own port), then the allow-list, then the ranges.
    private func refusal(of address: IPAddress, policy: WebhookTargetPolicy, server: ServerEndpoints) -> WebhookTargetRule? {
        let effective = address.embeddedV4 ?? address
        let range = effective.range
        if range == .unspecified { return .unspecified }
        if range == .multicast { return .multicast }
        let isOwn = server.addresses.contains(effective) || server.addresses.contains(address)
        if let serverPort = server.port, port == serverPort, isOwn || range == .loopback { return .thisServer }
        let allowed = policy.allowedHosts.contains(host)
            || policy.allowedBlocks.contains { $0.contains(address) || $0.contains(effective) }
        if allowed { return nil }
        switch range {
        case .loopback: return .loopback
        case .privateUse: return .privateRange
        case .linkLocal: return .linkLocal
        case .reserved: return .reserved
        case .unspecified: return .unspecified
        case .multicast: return .multicast
        case .global: return isOwn ? .thisServer : nil
        }
    }

    /// One sentence for the tenant: the host, the rule, the remedy. No resolved address.
    public func sentence(_ rule: WebhookTargetRule) -> String {
        if rule == .httpsRequired { return "the webhook URL \(rule.reason) (rule \(rule.rawValue)); \(rule.remedy)" }
        return "the webhook's host '\(host.printableExcerpt)' \(rule.reason) (rule \(rule.rawValue)); \(rule.remedy)"
    }
}
