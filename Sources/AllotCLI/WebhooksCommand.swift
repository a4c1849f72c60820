import Allot
import AllotViews
import ArgumentParser

/// `allot webhooks add|list|remove`: URLs that receive a tenant's events, signed (issue 12).
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "URLs that receive the tenant's events as signed JSON posts (sent by `allot serve`).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a URL for the tenant's events from now on; its signing secret is shown once."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("An https:// URL, e.g. https://mdm.example.com/allot-events (http:// and inside addresses only as the flags below allow, like `allot serve`).", valueName: "url"))
        var url: String
        @OptionGroup var targets: WebhookTargetOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            var settings = EngineSettings()
            settings.webhookTargets = try targets.policy()
            let (webhook, secret) = try await global.openEngine(settings: settings).addWebhook(tenant: tenant.tenant, url: url)
            if global.json {
                try JSONOutput.emit(CreatedWebhookView(webhook, secret: secret))
            } else {
                Standard.output("Webhook \(webhook.id) posts the events of \(tenant.tenant) to \(Text.printable(webhook.url)) while `allot serve` runs.")
                Standard.output("Signing secret (shown only now): \(secret)")
                Standard.output("Each post carries \(WebhookHeaders.signature): sha256=<hex HMAC-SHA256 of the body under this secret>.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tenant's webhooks and how far each has delivered.")
        @OptionGroup var tenant: TenantOption
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let webhooks = try await global.openEngine().webhooks(tenant: tenant.tenant)
            if global.json {
                try JSONOutput.emit(WebhookListView(webhooks))
                return
            }
            guard !webhooks.isEmpty else {
                Standard.output("No webhooks; add one with `allot webhooks add --tenant \(tenant.tenant) URL`.")
                return
            }
            var table = Table(.init("ID", .right), .init("URL"), .init("PENDING", .right), .init("FAILED TRIES", .right), .init("LAST ERROR"))
            for webhook in webhooks {
                table.add("\(webhook.id)", Text.printable(webhook.url), Text.count(webhook.pendingEvents), "\(webhook.failedAttempts)",
                          webhook.lastError.map(Text.printable) ?? "-")
            }
            Standard.output(table.render())
            Standard.output(Text.count(webhooks.count, "webhook") + ".")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop posting to a webhook.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The webhook's id (see `webhooks list`).", valueName: "id"))
        var id: Int64
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let webhook = try await global.openEngine().removeWebhook(tenant: tenant.tenant, id: id)
            if global.json {
                try JSONOutput.emit(RemovedWebhookView(webhook))
            } else {
                Standard.output("Removed webhook \(webhook.id) (\(Text.printable(webhook.url))); \(Text.count(webhook.pendingEvents, "event")) it had not delivered stay in the log.")
            }
        }
    }
}
