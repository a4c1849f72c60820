import Allot
import AllotStore
import AllotViews
import Hummingbird

extension NotificationReceiptView: ResponseEncodable {}

/// The receiver of Apple's notifications (issue 12, point 2): `POST /apple/notifications/{token}`,
/// one path per token, authenticated by the token's own bearer (not an API key). It answers
/// fast: the notification is checked and queued in the ledger, and the work is done after the
/// answer by `processNotifications`, so Apple's short timeout never sees a slow sync.
struct NotificationsController {
    let engine: Allot

    func addRoutes(to router: Router<AllotRequestContext>) {
        router.post("\(Allot.notificationPathPrefix)/{token}", use: receive)
    }

    @Sendable func receive(_ request: Request, context: AllotRequestContext) async throws -> NotificationReceiptView {
        // An unknown or malformed token id gets the same 401 as a wrong bearer: a caller without
        // the bearer learns nothing about which tokens exist.
        guard let token = context.parameters.get("token").flatMap(Int64.init) else { throw Self.unauthorized }
        // The bearer first: a caller without it gets 401 before a byte of its body is read.
        guard try await engine.isNotificationBearer(token: token, authorization: request.headers[.authorization]) else {
            throw Self.unauthorized
        }
        let body = try await request.bodyBytes(limit: Ledger.notificationBodyBytesMax)
        switch try await engine.acceptNotification(token: token, authorization: request.headers[.authorization], body: body) {
        case .accepted:
            let engine = engine
            Task { try? await engine.processNotifications() }
            return NotificationReceiptView(duplicate: false)
        case .duplicate:
            return NotificationReceiptView(duplicate: true)
        case .unauthorized:
            throw Self.unauthorized
        case .invalid(let sentence):
            throw APIError.invalidInput(sentence)
        case .countOutOfRange(let sentence):
            // The token's sync was queued in its place: work on it now, after the answer.
            let engine = engine
            Task { try? await engine.processNotifications() }
            throw APIError(status: .badRequest, code: "count_out_of_range", message: sentence)
        }
    }

    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized",
                                       message: "a notification needs the bearer this server gave Apple for the token: send `Authorization: Bearer TOKEN`")
}
