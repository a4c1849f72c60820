import Allot
import AllotCore
import AllotViews
import Foundation

/// What happened to the Apple side of a committed change: pushed now, or left in the outbox.
/// A push that fails does not undo the commit: the outbox keeps the operations and the next
/// push (or `allot serve`) delivers them.
struct Delivery: Encodable {
    /// Whether a push to Apple ran after the commit.
    let pushed: Bool
    let push: PushReport?
    /// Why the push could not finish, when it could not.
    let pushError: String?
    /// For people: what happened with Apple, or what to run next.
    let note: String?

    enum CodingKeys: String, CodingKey { case pushed, push, pushError }

    /// Every field always, `null` when it does not apply: a script reads `.delivery.push.sent`
    /// after checking `.delivery.pushed`, not after guessing whether the key is there. `push` is
    /// the published `push --json` view.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pushed, forKey: .pushed)
        if let push { try container.encode(PushView(push), forKey: .push) } else { try container.encodeNil(forKey: .push) }
        if let pushError { try container.encode(pushError, forKey: .pushError) } else { try container.encodeNil(forKey: .pushError) }
    }

    static let none = Delivery(pushed: false, push: nil, pushError: nil, note: nil)

    /// Pushes the tenant's outbox when `when` holds, Apple is configured, and the caller wants it.
    static func push(allot: Allot, tenant: String, when changed: Bool, wanted: Bool = true, global: GlobalOptions) async throws -> Delivery {
        guard changed else { return .none }
        guard wanted else {
            return Delivery(pushed: false, push: nil, pushError: nil,
                            note: "Apple's side waits in the outbox; `allot push --tenant \(tenant)` delivers it.")
        }
        guard global.appleSpec != nil else {
            return Delivery(pushed: false, push: nil, pushError: nil,
                            note: "No Apple service is configured, so Apple's side waits in the outbox; `allot push --tenant \(tenant) --apple SPEC` delivers it.")
        }
        do {
            let report = try await PushProgressLine.around { progress in try await allot.push(tenant: tenant, progress: progress) }
            return Delivery(pushed: true, push: report, pushError: nil, note: PushText.summary(report, tenant: tenant))
        } catch {
            let reason = (error as? AllotError)?.message ?? "\(error)"
            return Delivery(pushed: false, push: nil, pushError: reason,
                            note: "Committed, but Apple was not told yet (\(reason)); `allot push --tenant \(tenant)` tries again.")
        }
    }

    static func afterBatch(committed: Bool, mode: BatchMode, changed: Int, allot: Allot, tenant: String, push wanted: Bool,
                           global: GlobalOptions) async throws -> Delivery {
        try await push(allot: allot, tenant: tenant, when: committed && mode != .dryRun && changed > 0, wanted: wanted, global: global)
    }
}

enum PushText {
    /// `tenant` nil: a push for every tenant.
    static func summary(_ report: PushReport, tenant: String?) -> String {
        let again = tenant.map { "`allot push --tenant \($0)`" } ?? "`allot push`"
        let tokenList = tenant.map { "`allot token list --tenant \($0)`" } ?? "`allot token list --tenant SLUG`"
        var parts = ["Apple: \(Text.count(report.sent, "request")) sent, \(Text.count(report.completed, "operation")) finished"]
        if !report.released.isEmpty { parts.append("\(Text.count(report.released.count, "licence")) refused by Apple and released (\(Text.list(Array(report.released.prefix(5)))))") }
        if report.retrying > 0 { parts.append("\(Text.count(report.retrying)) to retry") }
        if report.failed > 0 { parts.append("\(Text.count(report.failed)) given up") }
        if !report.unreadableTokens.isEmpty { parts.append("waiting on token \(Text.list(report.unreadableTokens.map(\.description))), whose file this token key cannot open") }
        if !report.pausedTokens.isEmpty { parts.append("paused on token \(Text.list(report.pausedTokens.map(\.description))) (see \(tokenList))") }
        if report.unfinished > 0 { parts.append("\(Text.count(report.unfinished)) still waiting; \(again) collects them") }
        return parts.joined(separator: "; ") + "."
    }
}
