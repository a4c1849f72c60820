import Foundation

/// Where a webhook posts its events: an absolute `http` or `https` URL with a host. Checked
/// once, when the webhook is registered, so the sender never meets a URL it cannot use.
public struct WebhookURL: Sendable, Hashable {
    public let text: String

    /// Characters of a URL (browsers and proxies handle about 2,000 reliably).
    public static let lengthMax = 2_048

    public init(parsing raw: String) throws(AllotError) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            throw .invalidInput("the webhook URL is empty; give the http:// or https:// address that should receive the events")
        }
        guard text.count <= Self.lengthMax else {
            throw .invalidInput("the webhook URL is longer than \(Self.lengthMax) characters; shorten it")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .invalidInput("the webhook URL '\(text.printableExcerpt)' is not a URL; give one like https://mdm.example.com/allot-events")
        }
        guard scheme == "http" || scheme == "https" else {
            throw .invalidInput("the webhook URL '\(text.printableExcerpt)' is not http or https; give one like https://mdm.example.com/allot-events")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidInput("the webhook URL '\(text.printableExcerpt)' has no host; give one like https://mdm.example.com/allot-events")
        }
        // A password in the URL would be shown by every `webhooks list`; the signature is what
        // proves to the receiver that the event comes from allot.
        guard components.user == nil, components.password == nil else {
            throw .invalidInput("the webhook URL carries a user name or password; remove it and check the X-Allot-Signature header instead")
        }
        guard components.fragment == nil else {
            throw .invalidInput("the webhook URL '\(text.printableExcerpt)' has a #fragment, which is never sent; remove it")
        }
        self.text = text
    }
}
