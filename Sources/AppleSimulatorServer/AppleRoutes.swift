import AppleAppsAndBooks
import AppleSimulator
import Foundation
import Hummingbird
import NIOCore

/// Apple's paths (APPLE.md, "Endpoints") in front of the simulator: Apple's JSON in and out, and
/// Apple's errors as Apple sends them: its HTTP status (200 included), the body
/// `{"errorNumber": …, "errorMessage": …}` and `Retry-After` when there is one.
struct AppleRoutes: Sendable {
    let simulator: AppleSimulator
    let bytesMax: Int

    func add(to router: Router<BasicRequestContext>, prefix: String) {
        let simulator = self.simulator
        let bytesMax = self.bytesMax
        router.get("\(prefix)/service/config") { _, _ in
            await WireResponse.answer { try await simulator.serviceConfig() }
        }
        router.get("\(prefix)/client/config") { request, _ in
            await WireResponse.answer { try await simulator.clientConfig(token: bearer(request)) }
        }
        router.post("\(prefix)/client/config") { request, _ in
            await WireResponse.answer {
                let body: ClientConfigRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.updateClientConfig(token: bearer(request), body)
            }
        }
        router.get("\(prefix)/assets") { request, _ in
            await WireResponse.answer {
                let query = request.uri.queryParameters
                let assets = AssetsQuery(pageIndex: try pageIndex(query), adamId: query.get("adamId"),
                                         pricingParam: query.get("pricingParam"), unlimited: query.get("unlimited").map { $0 == "true" })
                return try await simulator.assets(token: bearer(request), query: assets)
            }
        }
        router.get("\(prefix)/assignments") { request, _ in
            await WireResponse.answer {
                let query = request.uri.queryParameters
                let assignments = AssignmentsQuery(pageIndex: try pageIndex(query), adamId: query.get("adamId"),
                                                   pricingParam: query.get("pricingParam"), serialNumber: query.get("serialNumber"),
                                                   sinceVersionId: query.get("sinceVersionId"), clientUserId: query.get("clientUserId"))
                return try await simulator.assignments(token: bearer(request), query: assignments)
            }
        }
        router.post("\(prefix)/assets/associate") { request, _ in
            await WireResponse.answer {
                let body: AssociationRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.associate(token: bearer(request), body)
            }
        }
        router.post("\(prefix)/assets/disassociate") { request, _ in
            await WireResponse.answer {
                let body: AssociationRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.disassociate(token: bearer(request), body)
            }
        }
        router.post("\(prefix)/assets/revoke") { request, _ in
            await WireResponse.answer {
                let body: RevokeRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.revoke(token: bearer(request), body)
            }
        }
        addUsersAndSubscriptions(to: router, prefix: prefix)
        router.get("\(prefix)/status") { request, _ in
            await WireResponse.answer {
                guard let eventId = request.uri.queryParameters.get("eventId"), !eventId.isEmpty else {
                    throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: eventId is required",
                                            httpStatus: 400)
                }
                return try await simulator.eventStatus(token: bearer(request), eventId: eventId)
            }
        }
    }
}

extension AppleRoutes {
    /// Apple's user and subscription paths (Apple's "Managing users", "Managing subscriptions").
    func addUsersAndSubscriptions(to router: Router<BasicRequestContext>, prefix: String) {
        let simulator = self.simulator
        let bytesMax = self.bytesMax
        router.get("\(prefix)/users") { request, _ in
            await WireResponse.answer {
                let query = request.uri.queryParameters
                let users = UsersQuery(pageIndex: try pageIndex(query), clientUserId: query.get("clientUserId"),
                                       sinceVersionId: query.get("sinceVersionId"), includeRetired: try flag(query, "includeRetired"))
                return try await simulator.users(token: bearer(request), query: users)
            }
        }
        let userPaths: [(String, @Sendable (String, ManageUsersRequest) async throws -> EventResponse)] = [
            ("create", { try await simulator.createUsers(token: $0, $1) }),
            ("update", { try await simulator.updateUsers(token: $0, $1) }),
            ("retire", { try await simulator.retireUsers(token: $0, $1) }),
        ]
        for (name, call) in userPaths {
            router.post("\(prefix)/users/\(name)") { request, _ in
                await WireResponse.answer {
                    let body: ManageUsersRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                    return try await call(bearer(request), body)
                }
            }
        }
        router.post("\(prefix)/subscriptions/enable") { request, _ in
            await WireResponse.answer { try await simulator.enableSubscriptions(token: bearer(request)) }
        }
        router.post("\(prefix)/subscriptions/disable") { request, _ in
            await WireResponse.answer { try await simulator.disableSubscriptions(token: bearer(request)) }
        }
        router.get("\(prefix)/subscriptions") { request, _ in
            await WireResponse.answer {
                let query = request.uri.queryParameters
                let subscriptions = SubscriptionsQuery(cursor: query.get("cursor"), adamId: try adamId(query, "adamId"),
                                                       parentAdamId: try adamId(query, "parentAdamId"))
                return try await simulator.subscriptions(token: bearer(request), query: subscriptions)
            }
        }
        router.get("\(prefix)/subscriptions/assignments") { request, _ in
            await WireResponse.answer {
                let query = request.uri.queryParameters
                let assignments = SubscriptionAssignmentsQuery(cursor: query.get("cursor"), adamId: try adamId(query, "adamId"),
                                                               parentAdamId: try adamId(query, "parentAdamId"),
                                                               clientUserId: query.get("clientUserId"))
                return try await simulator.subscriptionAssignments(token: bearer(request), query: assignments)
            }
        }
        router.post("\(prefix)/subscriptions/associate") { request, _ in
            await WireResponse.answer {
                let body: ManageSubscriptionsRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.associateSubscriptions(token: bearer(request), body)
            }
        }
        router.post("\(prefix)/subscriptions/disassociate") { request, _ in
            await WireResponse.answer {
                let body: ManageSubscriptionsRequest = try await WireResponse.decode(request, bytesMax: bytesMax)
                return try await simulator.disassociateSubscriptions(token: bearer(request), body)
            }
        }
    }
}

private func flag(_ query: Parameters, _ name: String) throws -> Bool? {
    guard let text = query.get(name) else { return nil }
    switch text.lowercased() {
    case "true": return true
    case "false": return false
    default:
        throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: \(name)", httpStatus: 400)
    }
}

private func adamId(_ query: Parameters, _ name: String) throws -> Int64? {
    guard let text = query.get(name) else { return nil }
    guard let value = Int64(text) else {
        throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: \(name)", httpStatus: 400)
    }
    return value
}

/// The token from `Authorization: Bearer <token>`; "" when there is none, which the simulator
/// answers with 9722 as Apple does.
private func bearer(_ request: Request) -> String {
    guard let value = request.headers[.authorization] else { return "" }
    let parts = value.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { return "" }
    return String(parts[1])
}

private func pageIndex(_ query: Parameters) throws -> Int {
    guard let text = query.get("pageIndex") else { return 0 }
    guard let index = Int(text), index >= 0 else {
        throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: pageIndex",
                                httpStatus: 400)
    }
    return index
}

/// JSON in and out, and errors turned into Apple's error answers.
enum WireResponse {
    static func answer(_ body: () async throws -> some Encodable) async -> Response {
        do {
            return try await json(body(), status: .ok)
        } catch let error as AppleServiceError {
            return appleError(error)
        } catch let error as AppleSimulatorError {
            // A misuse of the simulator itself (an unknown location in a control call): not an
            // Apple answer, so no Apple error number.
            return plainError(status: error.isUnknownLocation ? .notFound : .badRequest, message: error.description)
        } catch let error as BadRequest {
            return plainError(status: .badRequest, message: error.message)
        } catch {
            return plainError(status: .internalServerError, message: "\(type(of: error))")
        }
    }

    static func appleError(_ error: AppleServiceError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        let body = WireError(errorNumber: error.errorNumber, errorMessage: error.message)
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(status: HTTPResponse.Status(code: error.httpStatus), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func plainError(status: HTTPResponse.Status, message: String) -> Response {
        (try? json(["error": message], status: status)) ?? Response(status: status)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A request body as `T`; Apple answers a body it cannot read with 9602.
    static func decode<T: Decodable>(_ request: Request, bytesMax: Int) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bytesMax)
        } catch {
            throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: body over \(bytesMax) bytes",
                                    httpStatus: 400)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw AppleServiceError(errorNumber: AppleErrorNumber.invalidArgument, message: "Invalid argument: the body is not the JSON expected",
                                    httpStatus: 400)
        }
    }
}

/// A control request the server cannot read.
struct BadRequest: Error {
    var message: String
}
