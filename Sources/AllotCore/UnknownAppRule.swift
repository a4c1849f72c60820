/// When a batch is refused because of its app, before anything is decided or written.
///
/// An app that no token of the tenant has (a mistyped id, another tenant's app, a purchase not
/// yet synced) is a mistake in the request, not something that happened to its devices:
/// committing it as a batch of `unknown_app` items (200,000 of them for `--all-devices` on a
/// large tenant) writes a batch row, its events and an exit code that says "partly done" for
/// a command that could do nothing. So a batch whose every app is unknown is refused whole,
/// with nothing written. A batch that names several apps (the HTTP API's `items`), some of
/// which the tenant has, still runs: its items of an unknown app answer `unknown_app`, as any
/// failed item of a partial batch does, and the others are decided as usual.
public enum UnknownAppRule {
    /// Apps named in one refusal, at most: a longer list is cut and counted.
    public static let appsNamedMax = 5

    /// The refusal of a batch naming the apps `requested`, of which the tenant's tokens have
    /// `known`; nil when the batch goes on (it names no app, or at least one known one).
    /// `existing`, the tenant's apps, gives the nearest of them to a mistyped id as a
    /// suggestion (`NearestName`): read only once the batch is refused.
    public static func refusal(requested: Set<AssetKey>, known: Set<AssetKey>, direction: BatchDirection,
                               existing: [AssetKey] = []) -> AllotError? {
        guard !requested.isEmpty, requested.isDisjoint(with: known) else { return nil }
        let unknown = requested.sorted()
        let named = unknown.prefix(appsNamedMax).map(\.description).joined(separator: ", ")
        let more = unknown.count > appsNamedMax ? " and \(unknown.count - appsNamedMax) more" : ""
        let subject = unknown.count == 1 ? "app \(named) is" : "apps \(named)\(more) are"
        let nothing = direction == .assign ? "nothing was assigned" : "nothing was revoked"
        let suggestions = suggestions(for: Array(unknown.prefix(appsNamedMax)), existing: existing)
        let meant = suggestions.isEmpty ? "" : " (did you mean \(suggestions.joined(separator: " or "))?)"
        // Names no command or route: the CLI and the HTTP API each add how to list the apps.
        return AllotError(.unknownApp,
                          "\(subject) in none of this tenant's tokens\(meant), so \(nothing); check the id against the tenant's apps, and sync first if it was bought since the last sync",
                          subject: .unknownApp(unknown))
    }

    /// The tenant's apps nearest to the unknown ones, each once, in the order of the unknown.
    static func suggestions(for unknown: [AssetKey], existing: [AssetKey]) -> [String] {
        let names = existing.sorted().map(\.description)
        var found: [String] = []
        for app in unknown {
            if let near = NearestName.nearest(app.description, among: names), !found.contains(near) { found.append(near) }
        }
        return found
    }
}
