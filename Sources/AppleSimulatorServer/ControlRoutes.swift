import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Hummingbird
import NIOCore

/// The simulator's control operations (`AppleSimulator+Control.swift`) under a prefix Apple does
/// not use (`/_sim`): the world changing behind Apple's API. Bodies and answers are JSON; a
/// request the simulator refuses answers 400 (404 for an unknown location) with `{"error": …}`.
///
/// | call | body | answer |
/// |---|---|---|
/// | `POST /_sim/claim` | `{location, mdmInfo?}` (`mdmInfo` absent or null: unclaimed) | `{}` |
/// | `POST /_sim/claim-by-configurator` | `{location, version?}` | `{mdmInfo}` |
/// | `POST /_sim/revoke-token` | `{location}` | `{}` |
/// | `POST /_sim/expire-token` | `{location}` | `{}` |
/// | `POST /_sim/renew-token` | `{location, tokensDirectory}` | `{tokenFile}` (the path written) |
/// | `POST /_sim/set-total` | `{location, adamId, pricingParam, total}` | `{}` |
/// | `GET /_sim/assignments[?location=]` | | `[{adamId, pricingParam, serialNumber, locationUid}]` |
/// | `POST /_sim/faults` | `{fault, count}` (`fault` as `SimulatedFault` encodes) | `{}` |
/// | `DELETE /_sim/faults` | | `{}` |
/// | `POST /_sim/pending-polls` | `{polls}` | `{}` |
/// | `POST /_sim/page-size` | `{size}` | `{}` |
/// | `POST /_sim/limits` | `ServiceLimits` | `{}` |
/// | `POST /_sim/fail-event` | `{eventId}` | `{}` |
/// | `POST /_sim/fail-next-events` | `{count}` | `{}` |
/// | `POST /_sim/latency` | `{milliseconds, jitterMilliseconds?}` | `{}` |
/// | `POST /_sim/request-rate` | `{enforced}` (9646 above `maxRequestPerSecond` per token) | `{}` |
/// | `POST /_sim/duplicate-notifications` | `{duplicated}` | `{}` |
/// | `POST /_sim/accept-invitation` | `{location, clientUserId, appleAccount?}` (USER_ASSOCIATED) | `ResponseUser` |
/// | `POST /_sim/subscription-seats` | `{location, adamId, parentAdamId?, renewing, expiring?, periodEnd?, status?}` | `ResponseSubscription` |
/// | `POST /_sim/end-subscription-period` | `{location, adamId?}` | `[ResponseSubscription]` |
struct ControlRoutes: Sendable {
    let simulator: AppleSimulator
    let bytesMax: Int

    struct Location: Codable, Sendable { var location: String }
    struct Claim: Codable, Sendable { var location: String; var mdmInfo: MDMInfo? }
    struct ConfiguratorClaim: Codable, Sendable { var location: String; var version: String? }
    struct ConfiguratorClaimed: Codable, Sendable { var mdmInfo: MDMInfo }
    struct Renew: Codable, Sendable { var location: String; var tokensDirectory: String }
    struct Renewed: Codable, Sendable { var tokenFile: String }
    struct Total: Codable, Sendable { var location: String; var adamId: String; var pricingParam: String; var total: Int }
    struct Faults: Codable, Sendable { var fault: SimulatedFault; var count: Int }
    struct Polls: Codable, Sendable { var polls: Int }
    struct PageSize: Codable, Sendable { var size: Int }
    struct Event: Codable, Sendable { var eventId: String }
    struct Count: Codable, Sendable { var count: Int }
    struct Latency: Codable, Sendable { var milliseconds: Int; var jitterMilliseconds: Int? }
    struct RequestRate: Codable, Sendable { var enforced: Bool }
    struct DuplicateNotifications: Codable, Sendable { var duplicated: Bool }
    struct Done: Codable, Sendable {}
    struct Invitation: Codable, Sendable { var location: String; var clientUserId: String; var appleAccount: String? }
    struct Seats: Codable, Sendable {
        var location: String
        var adamId: Int64
        var parentAdamId: Int64?
        var renewing: Int
        var expiring: Int?
        var periodEnd: String?
        var status: AppleSubscriptionStatus?
    }
    struct PeriodEnd: Codable, Sendable { var location: String; var adamId: Int64? }

    func add(to router: Router<BasicRequestContext>, prefix: String) {
        let simulator = self.simulator
        let bytesMax = self.bytesMax
        func post<Body: Decodable & Sendable, Answer: Encodable & Sendable>(
            _ path: String, _ perform: @escaping @Sendable (Body) async throws -> Answer
        ) {
            router.post("\(prefix)/\(path)") { request, _ in
                await WireResponse.answer {
                    let body: Body = try await Self.decode(request, bytesMax: bytesMax)
                    return try await perform(body)
                }
            }
        }
        post("claim") { (body: Claim) in
            try await simulator.claim(location: body.location, mdmInfo: body.mdmInfo)
            return Done()
        }
        post("claim-by-configurator") { (body: ConfiguratorClaim) in
            let info = AppleSimulator.appleConfiguratorMDMInfo(version: body.version ?? "2.17")
            try await simulator.claim(location: body.location, mdmInfo: info)
            return ConfiguratorClaimed(mdmInfo: info)
        }
        post("revoke-token") { (body: Location) in
            try await simulator.revokeToken(location: body.location)
            return Done()
        }
        post("expire-token") { (body: Location) in
            try await simulator.expireToken(location: body.location)
            return Done()
        }
        post("renew-token") { (body: Renew) in
            let url = try await simulator.renewToken(location: body.location, tokensDirectory: URL(fileURLWithPath: body.tokensDirectory))
            return Renewed(tokenFile: url.path)
        }
        post("set-total") { (body: Total) in
            try await simulator.setTotal(location: body.location, adamId: body.adamId, pricingParam: body.pricingParam, total: body.total)
            return Done()
        }
        post("faults") { (body: Faults) in
            try await simulator.injectFaults(body.fault, count: body.count)
            return Done()
        }
        post("pending-polls") { (body: Polls) in
            try await simulator.setPendingPolls(body.polls)
            return Done()
        }
        post("page-size") { (body: PageSize) in
            try await simulator.setPageSize(body.size)
            return Done()
        }
        post("limits") { (body: ServiceLimits) in
            try await simulator.setLimits(body)
            return Done()
        }
        post("fail-event") { (body: Event) in
            try await simulator.failEvent(eventId: body.eventId)
            return Done()
        }
        post("fail-next-events") { (body: Count) in
            try await simulator.failNextEvents(count: body.count)
            return Done()
        }
        post("latency") { (body: Latency) in
            try await simulator.setLatency(milliseconds: body.milliseconds, jitterMilliseconds: body.jitterMilliseconds ?? 0)
            return Done()
        }
        post("request-rate") { (body: RequestRate) in
            try await simulator.enforceRequestRate(body.enforced)
            return Done()
        }
        post("duplicate-notifications") { (body: DuplicateNotifications) in
            try await simulator.duplicateNotifications(body.duplicated)
            return Done()
        }
        post("accept-invitation") { (body: Invitation) in
            try await simulator.acceptInvitation(location: body.location, clientUserId: body.clientUserId, appleAccount: body.appleAccount)
        }
        post("subscription-seats") { (body: Seats) in
            try await simulator.setSubscriptionSeats(location: body.location, adamId: body.adamId, parentAdamId: body.parentAdamId,
                                                     renewing: body.renewing, expiring: body.expiring ?? 0, periodEnd: body.periodEnd,
                                                     status: body.status)
        }
        post("end-subscription-period") { (body: PeriodEnd) in
            try await simulator.endSubscriptionPeriod(location: body.location, adamId: body.adamId)
        }
        router.delete("\(prefix)/faults") { _, _ in
            await WireResponse.answer {
                try await simulator.clearFaults()
                return Done()
            }
        }
        router.get("\(prefix)/assignments") { request, _ in
            await WireResponse.answer {
                try await simulator.allAssignments(location: request.uri.queryParameters.get("location"))
            }
        }
    }

    static func decode<T: Decodable>(_ request: Request, bytesMax: Int) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bytesMax)
        } catch {
            throw BadRequest(message: "the body is over \(bytesMax) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw BadRequest(message: "the body is not the JSON expected for \(T.self)")
        }
    }
}
