import Allot
import AllotCore
import AllotStore

/// The engine's refusals name no command (they are read over HTTP too); on the command line
/// the advice adds the command that fixes the problem.
enum CLIAdvice {
    /// The tenants of the ledger, read by `learn(about:)` when a refusal names a tenant that
    /// does not exist, so that the advice can offer the nearest one.
    nonisolated(unsafe) static var existingTenants: [String] = []

    /// Reads what the advice for this error needs from the ledger the command opened (at most
    /// one query, and only for an unknown tenant); a failure leaves the advice as it was.
    static func learn(about error: any Error) async {
        guard let refusal = error as? AllotError, case .unknownTenant? = refusal.subject,
              let allot = GlobalOptions.openedEngine else { return }
        existingTenants = (try? await allot.tenants().map(\.slug)) ?? []
    }

    static func message(for refusal: AllotError) -> String {
        // The tenant the command line names, for hints that repeat it; SLUG when there is none.
        let tenant = CommandLineWords.tenant(in: CommandLine.arguments.dropFirst()).flatMap { Ledger.isValidSlug($0) ? $0 : nil } ?? "SLUG"
        switch refusal.subject {
        case .unknownTenant(let slug)?:
            let create = "`allot tenant create \(Ledger.isValidSlug(slug) ? slug : "SLUG")`"
            if let near = CommandLineWords.nearest(slug, among: existingTenants.filter { $0 != slug }) {
                return "there is no tenant '\(Text.printable(slug))' (did you mean \(near)?); create it first with \(create)"
            }
            return "\(refusal.message) with \(create)"
        case .unknownToken?:
            return "\(refusal.message) (`allot token list --tenant \(tenant)`)"
        case .locationHeldByThisTenant(let token)?:
            return "\(refusal.message) (`allot token renew --tenant \(tenant) \(token) FILE`)"
        case .locationManagedElsewhere?:
            return "\(refusal.message) (`allot token add --takeover`)"
        case .unknownApp?:
            return "\(refusal.message) (`allot apps --tenant \(tenant)`, `allot sync --tenant \(tenant)`)"
        case .retireShareExceeded(let retiring, let percent)?:
            return "\(refusal.message) with --max-retire \(retiring) (or --max-retire \(percent)%)"
        case .unknownGroup?:
            return "\(refusal.message) (`allot devices list --tenant \(tenant)` shows each device's group)"
        case .queueFull?:
            return "\(refusal.message) (`allot queue cancel --tenant \(tenant) --app APP SERIAL…`)"
        case .noAppleService?:
            return "this needs Apple's service; pass --apple sim:PATH for the simulator or --apple https://vpp.itunes.apple.com/mdm/v2 (or set ALLOT_APPLE)"
        case nil:
            return refusal.message
        }
    }
}
