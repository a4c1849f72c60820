import AllotCore
import AllotStore
import Crypto
import Foundation

/// API keys of the HTTP API. A key is 32 random bytes, base64url, prefixed `allot_` so a leaked
/// one is recognisable in a scan; only its SHA-256 is stored. A hash of a random 256-bit key
/// needs no salt or slow hash: there is no dictionary to guess from.
public enum APIKey {
    public static let prefix = "allot_"
    /// Longer keys are refused before hashing: a bound on work per request.
    public static let lengthMax = 128

    /// A fresh random key.
    public static func generate() -> String { prefix + randomBase64URL(byteCount: 32) }

    /// `byteCount` random bytes as base64url without padding: secrets that travel in headers.
    static func randomBase64URL(byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The stored form: lowercase hex SHA-256 of the key's UTF-8 bytes.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two hashes in time independent of where they differ.
    public static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Whether a presented key is worth hashing at all.
    public static func isPlausible(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= lengthMax
    }
}

extension Allot {
    /// Gives a tenant a new API key and returns it: the only time it is ever seen. The previous
    /// key stops working at once.
    public func rotateAPIKey(tenant slug: String) throws -> String {
        let tenant = try tenant(slug)
        let key = APIKey.generate()
        try ledger.setAPIKeyHash(tenant: tenant.id, APIKey.hash(key))
        return key
    }

    /// Creates a tenant and its first API key.
    public func createTenantWithKey(slug: String, name: String? = nil, policy: AllocationPolicy = .mostAvailable) throws -> (tenant: Tenant, apiKey: String) {
        let tenant = try createTenant(slug: slug, name: name, policy: policy)
        let key = APIKey.generate()
        try ledger.setAPIKeyHash(tenant: tenant.id, APIKey.hash(key), rotation: false)
        return (tenant, key)
    }

    /// Whether `key` is the API key of tenant `slug`. False for an unknown tenant or a tenant
    /// that has no key yet.
    public func authenticate(tenant slug: String, key: String) throws -> Bool {
        guard APIKey.isPlausible(key), let tenant = try ledger.tenant(slug: slug),
              let stored = try ledger.apiKeyHash(tenant: tenant.id) else { return false }
        return APIKey.constantTimeEqual(stored, APIKey.hash(key))
    }

    /// The tenant whose API key this is, if any. Looking up by hash leaks nothing an attacker
    /// can use: they cannot choose the preimage of a hash that matches.
    public func tenantSlug(forKey key: String) throws -> String? {
        guard APIKey.isPlausible(key) else { return nil }
        return try ledger.tenantSlug(apiKeyHash: APIKey.hash(key))
    }
}

extension Allot {
    /// The database file, to keep companions (the admin key's hash) beside it.
    public nonisolated var databaseFile: String { databasePath }

    /// Whether Apple's service (or the simulator) is configured.
    public nonisolated var hasAppleService: Bool { apple != nil }
}
