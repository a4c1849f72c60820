import AllotCore
import AllotStore

/// The engine's refusals name no command (they are read over HTTP too); on the command line
/// the advice adds the command that fixes the problem.
enum CLIAdvice {
    static func message(for refusal: AllotError) -> String {
        switch refusal.subject {
        case .unknownTenant(let slug)?:
            "\(refusal.message) with `allot tenant create \(Ledger.isValidSlug(slug) ? slug : "SLUG")`"
        case .unknownToken?:
            "\(refusal.message) (`allot token list --tenant SLUG`)"
        case .locationHeldByThisTenant(let token)?:
            "\(refusal.message) (`allot token renew --tenant SLUG \(token) FILE`)"
        case .locationManagedElsewhere?:
            "\(refusal.message) (`allot token add --takeover`)"
        case .noAppleService?:
            "this needs Apple's service; pass --apple sim:PATH for the simulator or --apple https://vpp.itunes.apple.com/mdm/v2 (or set ALLOT_APPLE)"
        case nil:
            refusal.message
        }
    }
}
