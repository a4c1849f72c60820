import Foundation

/// How a tenant chooses the token that supplies a new assignment (DESIGN.md, merged pool).
public enum AllocationPolicy: String, Sendable, Codable, CaseIterable, Hashable {
    /// Most free licences, then latest expiry, then lowest id.
    case mostAvailable = "most-available"
    /// Latest expiry, then most free licences, then lowest id.
    case latestExpiry = "latest-expiry"
    /// The admin's order (lowest priority number first), then lowest id.
    case priority

    public static let helpText = "most-available, latest-expiry or priority"
}

/// One usable token's pool of one asset, as the chooser sees it.
public struct PoolCandidate: Sendable, Hashable {
    public let tokenId: TokenID
    public var available: Int
    public let expiresAt: Int64
    public let priority: Int

    public init(tokenId: TokenID, available: Int, expiresAt: Int64, priority: Int) {
        self.tokenId = tokenId
        self.available = available
        self.expiresAt = expiresAt
        self.priority = priority
    }
}

extension AllocationPolicy {
    /// True when `a` should supply a licence before `b`. A strict, total order: deterministic.
    @inline(__always)
    public func prefers(_ a: PoolCandidate, over b: PoolCandidate) -> Bool {
        switch self {
        case .mostAvailable:
            if a.available != b.available { return a.available > b.available }
            if a.expiresAt != b.expiresAt { return a.expiresAt > b.expiresAt }
        case .latestExpiry:
            if a.expiresAt != b.expiresAt { return a.expiresAt > b.expiresAt }
            if a.available != b.available { return a.available > b.available }
        case .priority:
            if a.priority != b.priority { return a.priority < b.priority }
        }
        return a.tokenId < b.tokenId
    }

    /// The index of the candidate that supplies the next licence, or nil when none has one free.
    @inline(__always)
    public func choose(from candidates: [PoolCandidate]) -> Int? {
        var best: Int?
        for index in candidates.indices where candidates[index].available > 0 {
            if let current = best, !prefers(candidates[index], over: candidates[current]) { continue }
            best = index
        }
        return best
    }
}
