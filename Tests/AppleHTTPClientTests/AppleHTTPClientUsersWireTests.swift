import AppleAppsAndBooks
import AppleHTTPClient
import Foundation
import TestDeadlines
import Testing

/// The client's user and subscription calls against Apple's documented answers (Apple's
/// "Managing users", "Managing subscriptions", "Using paginated endpoints") on loopback.
@Suite(.timeLimit(.minutes(5))) struct AppleHTTPClientUsersWireTests {
    /// Apple's example answer of `GET /users`.
    static let usersExample = """
        {"currentPageIndex": 0, "size": 3, "tokenExpirationDate": "2030-11-08T22:33:22+0000", "totalPages": 1,
         "uId": "2049025000431439",
         "users": [
           {"clientUserId": "client-101", "email": "client-101@apple.com", "inviteCode": "46bc93ea3acd41e0a4919c02db0d7d3a", "status": "Registered"},
           {"clientUserId": "client-102", "email": "client-102@apple.com", "inviteCode": "d2ab1319ff6448f89bb1b0e010cf68e0", "status": "Registered"},
           {"clientUserId": "client-103", "email": "client-1031@apple.com", "status": "Retired"}],
         "versionId": "021f10a0-7035-11eb-9f67-bd1df52e1e13"}
        """
    /// Apple's example answer of `GET /subscriptions`.
    static let subscriptionsExample = """
        {"subscriptions": [{"parentAdamId": 54321, "adamId": 12345, "status": "ACTIVE", "periodEndDate": "2027-01-15",
           "counts": {"assigned": {"renewing": 80, "expiring": 20}, "available": {"renewing": 15, "expiring": 5},
                      "total": {"renewing": 100, "expiring": 20}}}],
         "nextCursor": "NjY5MjY0ODEtZTA4ZC00MmRhLTkxYjItMzdmMDI1MTVkYjQy", "uId": "2049025000431439",
         "tokenExpirationDate": "2030-11-08T22:33:22+0000", "versionId": "3b4b51d3-07f0-5711-bf45-b48df0fec669"}
        """
    static let assignmentsExample = """
        {"assignments": [{"adamId": 12345, "clientUserId": "user-1", "renewing": true}, {"adamId": 12345, "clientUserId": "user-2", "renewing": false}],
         "uId": "2049025000431439", "tokenExpirationDate": "2030-11-08T22:33:22+0000", "versionId": "ab290ee7-02c1-5ba7-aa0a-652bd6e595bc"}
        """
    static let managementExample = #"{"mdmInfo": null, "subscriptionManagement": true, "tokenExpirationDate": "2030-11-08T22:33:22+0000", "uId": "2049025000431439"}"#
    static let eventExample = #"{"eventId": "1039246b-97f5-4bdc-b3b6-78362dbf7652", "tokenExpirationDate": "2030-11-08T22:33:22+0000", "uId": "2049025000431439"}"#

    static func answer(_ seen: RecordedApple.Seen) -> RecordedApple.Answer {
        switch seen.path {
        case "/users": .init(body: usersExample)
        case "/subscriptions": .init(body: subscriptionsExample)
        case "/subscriptions/assignments": .init(body: assignmentsExample)
        case "/subscriptions/enable", "/subscriptions/disable": .init(body: managementExample)
        default: .init(body: eventExample)
        }
    }

    @Test func usersAreCreatedUpdatedRetiredAndReadInApplesShapes() async throws {
        let apple = RecordedApple(Self.answer)
        let (created, page) = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            let created = try await client.createUsers(token: Recorded.token, ManageUsersRequest(users: [
                RequestUser(clientUserId: "client-1", email: "client-1@apple.com"),
                RequestUser(clientUserId: "client-2", managedAppleId: "client-2@managed.example"),
            ]))
            _ = try await client.updateUsers(token: Recorded.token, ManageUsersRequest(users: [RequestUser(clientUserId: "client-3", email: "c3@apple.com")]))
            _ = try await client.retireUsers(token: Recorded.token, .retiring(["client-4"]))
            let page = try await client.users(token: Recorded.token, query: UsersQuery(pageIndex: 1, clientUserId: "client-101",
                                                                                      sinceVersionId: "v1", includeRetired: true))
            return (created, page)
        }
        #expect(created.eventId == "1039246b-97f5-4bdc-b3b6-78362dbf7652")
        #expect(page.users.map(\.userStatus) == [.registered, .registered, .retired])
        #expect(page.users.first?.inviteCode == "46bc93ea3acd41e0a4919c02db0d7d3a")
        #expect(page.nextPageIndex == nil)
        #expect(page.versionId == "021f10a0-7035-11eb-9f67-bd1df52e1e13")

        let requests = apple.requests
        #expect(requests.map(\.path) == ["/users/create", "/users/update", "/users/retire", "/users"])
        #expect(requests.map(\.method) == ["POST", "POST", "POST", "GET"])
        #expect(requests.allSatisfy { $0.authorization == "Bearer \(Recorded.token)" })
        let create = try JSONSerialization.jsonObject(with: Data(requests[0].body.utf8)) as? [String: Any]
        let users = try #require(create?["users"] as? [[String: Any]])
        #expect(users[0]["clientUserId"] as? String == "client-1")
        #expect(users[0]["email"] as? String == "client-1@apple.com")
        #expect(users[0]["managedAppleId"] == nil)
        #expect(users[1]["managedAppleId"] as? String == "client-2@managed.example")
        #expect(requests[2].body == #"{"users":[{"clientUserId":"client-4"}]}"#)
        #expect(requests[3].query == "pageIndex=1&clientUserId=client-101&sinceVersionId=v1&includeRetired=true")
    }

    @Test func subscriptionCallsSendNumbersAndCursors() async throws {
        let apple = RecordedApple(Self.answer)
        let (enabled, subscriptions, assignments) = try await apple.serve { baseURL in
            let client = AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
            let enabled = try await client.enableSubscriptions(token: Recorded.token)
            _ = try await client.disableSubscriptions(token: Recorded.token)
            let subscriptions = try await client.subscriptions(token: Recorded.token, query: SubscriptionsQuery(parentAdamId: 54321))
            let assignments = try await client.subscriptionAssignments(token: Recorded.token, query: SubscriptionAssignmentsQuery(
                cursor: subscriptions.nextCursor, adamId: 12345, clientUserId: "user 1"))
            _ = try await client.associateSubscriptions(token: Recorded.token, ManageSubscriptionsRequest(adamIds: [12345], clientUserIds: ["user-1"], renewing: false))
            _ = try await client.disassociateSubscriptions(token: Recorded.token, ManageSubscriptionsRequest(adamIds: [12345], clientUserIds: ["user-1"], deferred: true))
            return (enabled, subscriptions, assignments)
        }
        #expect(enabled.subscriptionManagement == true)
        #expect(enabled.mdmInfo == nil)
        let subscription = try #require(subscriptions.subscriptions.first)
        #expect(subscription.adamId == 12345)
        #expect(subscription.parentAdamId == 54321)
        #expect(subscription.subscriptionStatus == .active)
        let counts = try #require(subscription.counts)
        #expect(counts.assigned == .init(renewing: 80, expiring: 20))
        // Apple's invariant holds in Apple's own example.
        #expect(counts.assigned!.sum + counts.available!.sum == counts.total!.sum)
        #expect(subscriptions.nextCursor == "NjY5MjY0ODEtZTA4ZC00MmRhLTkxYjItMzdmMDI1MTVkYjQy")
        #expect(assignments.assignments.map(\.renewing) == [true, false])
        #expect(assignments.nextCursor == nil)

        let requests = apple.requests
        #expect(requests.map(\.path) == ["/subscriptions/enable", "/subscriptions/disable", "/subscriptions", "/subscriptions/assignments",
                                         "/subscriptions/associate", "/subscriptions/disassociate"])
        // Enable and disable take no body.
        #expect(requests[0].method == "POST" && requests[0].body.isEmpty)
        #expect(requests[2].query == "parentAdamId=54321")
        #expect(requests[3].query == "cursor=NjY5MjY0ODEtZTA4ZC00MmRhLTkxYjItMzdmMDI1MTVkYjQy&adamId=12345&clientUserId=user%201")
        let associate = try #require(try JSONSerialization.jsonObject(with: Data(requests[4].body.utf8)) as? [String: Any])
        #expect(associate["adamIds"] as? [Int] == [12345])
        #expect(associate["renewing"] as? Bool == false)
        #expect(associate["deferred"] == nil)
        let disassociate = try #require(try JSONSerialization.jsonObject(with: Data(requests[5].body.utf8)) as? [String: Any])
        #expect(disassociate["deferred"] as? Bool == true)
    }

    @Test func assignmentsOfOneUserAreAskedByClientUserId() async throws {
        let apple = RecordedApple { _ in .init(body: """
            {"assignments": [{"adamId": "1234", "pricingParam": "STDQ", "clientUserId": "user1"}],
             "currentPageIndex": 0, "size": 1, "totalPages": 1, "versionId": "v"}
            """) }
        let page = try await apple.serve { baseURL in
            try await AppleHTTPClient(baseURL: baseURL, timeout: TestDeadlines.duration(5))
                .assignments(token: Recorded.token, query: AssignmentsQuery(clientUserId: "user1"))
        }
        #expect(page.assignments.first?.clientUserId == "user1")
        #expect(page.assignments.first?.serialNumber == nil)
        #expect(apple.requests.first?.query == "pageIndex=0&clientUserId=user1")
    }

    @Test func applesDocumentedNotificationsAndFailuresDecode() throws {
        let count = #"{"notification": {"parentAdamId": 54321, "adamId": 12345, "counts": {"available": {"renewing": 15, "expiring": 5}, "total": {"renewing": 100, "expiring": 20}}}, "notificationId": "4a7801be", "notificationType": "SUBSCRIPTION_COUNT", "uId": "2049025000431439"}"#
        let body = try JSONDecoder().decode(AppleNotification<SubscriptionCountBody>.self, from: Data(count.utf8)).notification
        #expect(body.adamId == 12345)
        #expect(body.counts.assigned == nil)
        #expect(body.counts.total == .init(renewing: 100, expiring: 20))

        let associated = #"{"notification": {"associatedUsers": [{"clientUserId": "client-100", "email": "client-100@apple.com", "idHash": "leSKk3IaE2vk2KLmv2k3/200D3=", "inviteCode": "f551b37da07146628e8dcbe0111f0364", "status": "Associated"}]}, "notificationId": "90b83144", "notificationType": "USER_ASSOCIATED", "uId": "2049025000431439"}"#
        let users = try JSONDecoder().decode(AppleNotification<UserAssociatedBody>.self, from: Data(associated.utf8)).notification
        #expect(users.associatedUsers.first?.userStatus == .associated)
        #expect(AppleUserNotificationType(rawValue: "USER_ASSOCIATED") == .userAssociated)

        let management = #"{"notification": {"assignments": [{"adamId": 12345, "clientUserId": "vpp-user", "renewing": true}], "eventId": "c3f990d3", "result": "SUCCESS", "type": "ASSOCIATE"}, "notificationId": "7b3c92a1", "notificationType": "SUBSCRIPTION_MANAGEMENT", "uId": "2049025000431439"}"#
        let seats = try JSONDecoder().decode(AppleNotification<SubscriptionManagementBody>.self, from: Data(management.utf8)).notification
        #expect(seats.assignments?.first?.clientUserId == "vpp-user")

        let status = #"{"eventStatus": "FAILED", "eventType": "ASSOCIATE", "failures": [{"errorInfo": {"clientUserIds": ["user102", "user101"]}, "errorNumber": 9609, "errorMessage": "Unable to find registered user."}], "numCompleted": 0, "numRequested": 2}"#
        let failed = try JSONDecoder().decode(EventStatus.self, from: Data(status.utf8))
        #expect(failed.failures?.first?.errorInfo?.clientUserIds == ["user102", "user101"])
        #expect(AppleServiceError(errorNumber: 9609, message: "", httpStatus: 200).classification == .itemRefused)

        // 9616's other users, in the legacy API's spelling.
        let legacy = #"{"clientUserIds": ["u2"], "regUsersAlreadyAssigned": [{"itsIdHash": "XXX2CVvZar9YZnpqJxV0SHOUCU=", "clientUserIdStr": "u1", "userId": 999, "status": "Associated"}]}"#
        let info = try JSONDecoder().decode(EventFailureInfo.self, from: Data(legacy.utf8))
        #expect(info.regUsersAlreadyAssigned?.first?.clientUserId == "u1")
        #expect(info.regUsersAlreadyAssigned?.first?.idHash == "XXX2CVvZar9YZnpqJxV0SHOUCU=")
    }

    @Test func theInvitationLinkTakesTheCodeInEitherPlaceholder() {
        func config(_ template: String?) -> ServiceConfig {
            ServiceConfig(limits: .appleDefaults, errorCodes: [], urls: template.map { ["invitationEmail": $0] } ?? [:], notificationTypes: [])
        }
        let apple = "https://buy.itunes.apple.com/WebObjects/MZFinance.woa/wa/associateVPPUserWithITSAccount?inviteCode=%25inviteCode%25&mt=8"
        #expect(config(apple).invitationURL(inviteCode: "46bc93ea") ==
                "https://buy.itunes.apple.com/WebObjects/MZFinance.woa/wa/associateVPPUserWithITSAccount?inviteCode=46bc93ea&mt=8")
        #expect(config("https://x.example/?c=%inviteCode%").invitationURL(inviteCode: "a b") == "https://x.example/?c=a%20b")
        #expect(config("https://x.example/").invitationURL(inviteCode: "a") == nil)
        #expect(config(nil).invitationURL(inviteCode: "a") == nil)
    }

    @Test func theNewLimitsAreReadWithoutBeingCalledMissing() throws {
        let config = try JSONDecoder().decode(ServiceConfig.self, from: Data(#"{"limits": {"maxAssets": 25, "maxUsers": 50, "maxSubscriptions": 10, "maxSubscriptionClientUserIds": 500, "maxSerialNumbers": 1000, "maxClientUserIds": 1000, "maxRevokeSerialNumbers": 100, "maxRevokeClientUserIds": 100, "maxRequestPerSecond": 15}}"#.utf8))
        #expect(config.limits.maxUsers == 50)
        #expect(config.limits.maxSubscriptions == 10)
        #expect(config.limits.maxSubscriptionClientUserIds == 500)
        #expect(config.defaultedLimits.isEmpty)
        let old = try JSONDecoder().decode(ServiceConfig.self, from: Data(#"{"limits": {"maxAssets": 25, "maxSerialNumbers": 1000, "maxClientUserIds": 1000, "maxRevokeSerialNumbers": 100, "maxRevokeClientUserIds": 100, "maxRequestPerSecond": 15}}"#.utf8))
        #expect(old.limits.maxUsers == ServiceLimits.appleDefaults.maxUsers)
        #expect(old.defaultedLimits.isEmpty)
    }
}
