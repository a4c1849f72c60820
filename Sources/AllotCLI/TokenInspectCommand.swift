import Allot
import AllotCore
import AllotViews
import ArgumentParser

extension TokenCommand {
    /// `allot token inspect FILE`: look before you upload. Reads the file and asks Apple; the
    /// ledger, Apple's `mdmInfo` and the file stay as they were.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a .vpptoken file is and what adding (or renewing) it would do, changing nothing.",
            discussion: "Exit code 0 whatever adding would do; `token add --dry-run` and `token renew --dry-run` exit 1 when the real command would be refused."
        )
        @Option(help: ArgumentHelp("The tenant to add the file to (or whose token --renewing names); without one, the file is judged against every tenant of the ledger.", valueName: "slug"))
        var tenant: String?
        @Argument(help: ArgumentHelp("The .vpptoken file.", valueName: "file"))
        var file: String
        @Option(help: ArgumentHelp("Say what renewing this token (id or location uId) with the file would do, instead of adding it.", valueName: "token"))
        var renewing: String?
        @Flag(help: "Say what adding with --takeover would do.")
        var takeover = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            if let tenant { try TenantOption.validate(tenant) }
            if renewing != nil && tenant == nil { throw ValidationError("--renewing needs --tenant: a token is renewed within the tenant that holds it") }
        }

        func run() async throws {
            _ = try await TokenInspection.report(file: file, tenant: tenant, renewing: renewing, takeover: takeover, global: global)
        }
    }
}

extension TokenInspection {
    /// Inspects the file, prints the report, and returns it (the dry runs exit 1 on a refusal).
    static func report(file: String, tenant: String?, renewing: String?, takeover: Bool, global: GlobalOptions) async throws -> TokenInspection {
        let contents = try TokenFileInput.read(file)
        let allot = try await global.openEngine()
        let inspection = try await allot.inspectTokenFile(tenant: tenant, fileContents: contents, renewing: renewing, takeover: takeover)
        if global.json {
            try JSONOutput.emit(TokenInspectionView(inspection))
        } else {
            Standard.output(InspectionText.lines(inspection, tenant: tenant).joined(separator: "\n"))
        }
        return inspection
    }

    var isRefused: Bool { if case .refused = verdict { true } else { false } }
}

enum InspectionText {
    /// `tenant`: nil when the file is judged against the whole ledger.
    static func lines(_ inspection: TokenInspection, tenant: String?) -> [String] {
        let now = Moments.now
        let days = TokenExpiry.daysLeft(expiresAt: inspection.expiresAt, now: now)
        let expiry = TokenExpiry.isExpiringSoon(expiresAt: inspection.expiresAt, now: now)
            ? "expires \(Text.date(inspection.expiresAt)), in \(Text.count(days, "day")): renew it soon"
            : "expires \(Text.date(inspection.expiresAt)) (\(Text.count(days, "day")) left)"
        let manager = switch inspection.manager {
        case .nobody: "nobody (unclaimed)"
        case .thisTenant: tenant.map { "this tenant (\($0))" } ?? "a tenant of this server"
        case .anotherServer(let name): "\(name), another server"
        }
        let action = switch inspection.verdict {
        case .wouldAdd: "Adding it would claim the location for \(tenant ?? "the tenant") and sync its licences."
        case .wouldTakeOver(let from): "Adding it would take the location over from \(from), then claim it for \(tenant ?? "the tenant") and sync its licences."
        case .wouldRenew(let token): "Renewing token \(token) with it would keep every assignment and return the token to active."
        case .refused(let refusal): "\(inspection.operation == .add ? "Adding" : "Renewing") it would be refused: \(CLIAdvice.message(for: refusal))."
        }
        return [
            "Location \(inspection.locationName) (\(inspection.locationUid)) of \(inspection.orgName); the file \(expiry).",
            "Managed by: \(manager).",
            "Holds \(Text.count(inspection.apps, "app")) with \(Text.count(inspection.licences, "licence")), \(Text.count(inspection.licencesInUse)) in use.",
            action,
            "Nothing was changed.",
        ]
    }
}
