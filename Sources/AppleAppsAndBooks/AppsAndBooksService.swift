/// Apple's Apps and Books service (`https://vpp.itunes.apple.com/mdm/v2`), one method per call.
///
/// Every call but `serviceConfig` is made with one location's content token: the whole Base64
/// string found in the `.vpptoken` file, sent as `Authorization: Bearer <token>`.
/// Implementations: the HTTP client (Apple, or a served simulator) and `AppleSimulator`. Users and
/// subscriptions have protocols of their own beside this one (`AppleUsersService`,
/// `AppleSubscriptionsService`); `AppleFullService` is all three.
///
/// Errors: a call that Apple answers with an error number throws `AppleServiceError`, whatever
/// the HTTP status (Apple sometimes answers 200 with an error body).
public protocol AppsAndBooksService: Sendable {
    /// `GET /service/config` (no token): live limits and error codes.
    func serviceConfig() async throws -> ServiceConfig

    /// `GET /client/config`: the location behind the token and who manages it (`mdmInfo`).
    func clientConfig(token: String) async throws -> ClientConfig

    /// `POST /client/config`: claim the location for a server by writing its `mdmInfo`.
    func updateClientConfig(token: String, _ request: ClientConfigRequest) async throws -> ClientConfig

    /// `GET /assets?pageIndex=N`: one page of the location's assets with their counts.
    func assets(token: String, query: AssetsQuery) async throws -> AssetsPage

    /// `GET /assignments?pageIndex=N`: one page of the location's assignments.
    func assignments(token: String, query: AssignmentsQuery) async throws -> AssignmentsPage

    /// `POST /assets/associate`: asynchronous; the answer carries the `eventId` to poll.
    func associate(token: String, _ request: AssociationRequest) async throws -> EventResponse

    /// `POST /assets/disassociate`: asynchronous, like `associate`.
    func disassociate(token: String, _ request: AssociationRequest) async throws -> EventResponse

    /// `POST /assets/revoke`: removes every revocable asset of the serials; asynchronous.
    func revoke(token: String, _ request: RevokeRequest) async throws -> EventResponse

    /// `GET /status?eventId=…`: the state of an asynchronous event.
    func eventStatus(token: String, eventId: String) async throws -> EventStatus
}
