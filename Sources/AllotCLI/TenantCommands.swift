import Allot
import AllotStore
import AllotCore
import AllotViews
import ArgumentParser

/// `allot tenant create|list|rotate-key|licences-low`.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create and list tenants (the MDM's customers).",
        subcommands: [Create.self, List.self, RotateKey.self, LicencesLow.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant.")
        @Argument(help: ArgumentHelp("Lowercase letters, digits and dashes, e.g. springfield-schools.", valueName: "slug"))
        var slug: String
        @Option(help: "A name for people (default: the slug).")
        var name: String?
        @Option(help: ArgumentHelp("How a new assignment picks its token: \(AllocationPolicy.helpText).", valueName: "policy"))
        var policy: AllocationPolicy = .mostAvailable
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard Ledger.isValidSlug(slug) else {
                throw ValidationError("'\(slug)' is not a valid slug; use 1 to \(Ledger.slugLengthMax) lowercase letters, digits and dashes, e.g. springfield-schools")
            }
        }

        func run() async throws {
            let allot = try await global.openEngine(creatingDatabase: true)
            let (tenant, key) = try await allot.createTenantWithKey(slug: slug, name: name, policy: policy)
            if global.json {
                try JSONOutput.emit(CreatedTenantView(tenant, apiKey: key))
            } else {
                Standard.output("Created tenant \(tenant.slug) (\(tenant.name)), policy \(tenant.policy.rawValue).")
                Standard.output("HTTP API key (shown only now; only its hash is stored): \(key)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenants.")
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let tenants = try await global.openEngine().tenants()
            if global.json {
                try JSONOutput.emit(TenantListView(tenants))
                return
            }
            guard !tenants.isEmpty else {
                Standard.output("No tenants yet; create one with `allot tenant create SLUG`.")
                return
            }
            var table = Table(.init("SLUG"), .init("NAME"), .init("POLICY"))
            for tenant in tenants { table.add(tenant.slug, tenant.name, tenant.policy.rawValue) }
            Standard.output(table.render())
            Standard.output(Text.count(tenants.count, "tenant") + ".")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Make a new HTTP API key for a tenant; it is shown once, and the old one stops working."
        )
        @Argument(help: ArgumentHelp("The tenant's slug.", valueName: "slug"))
        var slug: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let key = try await global.openEngine().rotateAPIKey(tenant: slug)
            if global.json {
                try JSONOutput.emit(["slug": slug, "apiKey": key])
            } else {
                Standard.output("New HTTP API key of \(slug) (shown only now; the old key no longer works): \(key)")
            }
        }
    }
}

extension TenantCommand {
    /// The thresholds of the `licences_low` event: shown, or set.
    struct LicencesLow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "licences-low",
            abstract: "Show or set when the tenant's licences_low event fires: percents of an app's total (default 20,10; none for never).",
            // Apple's spelling, as every new name of the contract.
            aliases: ["licenses-low"]
        )
        @Argument(help: ArgumentHelp("The tenant's slug.", valueName: "slug"))
        var slug: String
        @Argument(help: ArgumentHelp("Distinct whole percents from 1 to 99, e.g. 20,10; or none. Without it, the current ones are shown.", valueName: "percents"))
        var percents: String?
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            if let percents {
                do { _ = try LicenceThresholds(parsing: percents) } catch { throw ValidationError(error.description) }
            }
        }

        func run() async throws {
            let allot = try await global.openEngine()
            if let percents { try await allot.setLicenceThresholds(tenant: slug, try LicenceThresholds(parsing: percents)) }
            let thresholds = try await allot.licenceThresholds(tenant: slug)
            if global.json {
                // `licensesLow` in Apple's spelling, `licencesLow` its first name: the same value.
                try JSONOutput.emit(["slug": slug, "licensesLow": thresholds.description, "licencesLow": thresholds.description])
            } else if thresholds.percents.isEmpty {
                Standard.output("Tenant \(slug) records no licences_low event.")
            } else {
                Standard.output("Tenant \(slug) records licences_low when an app's available licences fall below \(thresholds.percents.map { "\($0)%" }.joined(separator: ", ")) of its total.")
            }
        }
    }
}

extension AllocationPolicy: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
