import AppleAppsAndBooks
import Foundation

/// The bodies of associate, disassociate and revoke, written straight to bytes. Foundation's
/// JSONEncoder spent (perf, release) a fifth of a fleet push's CPU on these 1,000-serial
/// arrays; the shapes are fixed and small, so a direct writer is exact and cheap. Fields that
/// are nil are left out, as JSONEncoder leaves them out.
enum RequestBodyJSON {
    static func association(_ request: AssociationRequest) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(64 + 16 * ((request.serialNumbers?.count ?? 0) + (request.clientUserIds?.count ?? 0)))
        out += Array("{\"assets\":[".utf8)
        for (index, asset) in request.assets.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array("{\"adamId\":".utf8)
            string(asset.adamId, into: &out)
            out += Array(",\"pricingParam\":".utf8)
            string(asset.pricingParam, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        field("serialNumbers", request.serialNumbers, into: &out)
        field("clientUserIds", request.clientUserIds, into: &out)
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    static func revoke(_ request: RevokeRequest) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(32 + 16 * ((request.serialNumbers?.count ?? 0) + (request.clientUserIds?.count ?? 0)))
        out.append(UInt8(ascii: "{"))
        field("serialNumbers", request.serialNumbers, into: &out, first: true)
        field("clientUserIds", request.clientUserIds, into: &out, first: request.serialNumbers == nil)
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    /// `,"name":["a","b"]`, or nothing when the list is nil.
    private static func field(_ name: String, _ values: [String]?, into out: inout [UInt8], first: Bool = false) {
        guard let values else { return }
        if !first { out.append(UInt8(ascii: ",")) }
        string(name, into: &out)
        out += Array(":[".utf8)
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            string(value, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped, the rest
    /// as its UTF-8 bytes.
    static func string(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // A serial has nothing to escape: its bytes go in one copy, not one append each (the
        // appends were 3% of delivery's CPU, perf, release, 1,000 tokens).
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigit(byte >> 4), hexDigit(byte & 0xF)]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The lowercase hexadecimal digit of a value below 16. Computed, not looked up in an
    /// array made per string: that array was one allocation per serial, 1,000 a request.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
