import Allot
import AllotStore
import AllotCore
import AppleHTTPClient
import Crypto
import Foundation
import Synchronization

/// A switch a test flips while the recorded Apple is serving.
final class Switch: Sendable {
    private let state = Mutex(false)
    var isOn: Bool { state.withLock { $0 } }
    func turnOn() { state.withLock { $0 = true } }
}

/// Answers in the shapes of Apple's documentation examples (developer.apple.com/documentation/
/// devicemanagement: "Client Config", "Get Assets", "Get Assignments", "Service Config",
/// "Handling Error Responses"): Apple's field names and types, `+0000` dates, the extra fields
/// Apple sends that allot does not read (`websiteURL`, `notificationAuthToken`), and no
/// `mdmInfo` where the example has none.
enum Documented {
    /// Two locations' token files (`expDate` 2027-06-30).
    static let northToken = "eyJ0b2tlbiI6ImRvY3VtZW50ZWQtc2VjcmV0LW5vcnRoIiwiZXhwRGF0ZSI6IjIwMjctMDYtMzBUMjI6MzM6MjIrMDAwMCIsIm9yZ05hbWUiOiJTcHJpbmdmaWVsZCJ9"
    static let southToken = "eyJ0b2tlbiI6ImRvY3VtZW50ZWQtc2VjcmV0LXNvdXRoIiwiZXhwRGF0ZSI6IjIwMjctMDYtMzBUMjI6MzM6MjIrMDAwMCIsIm9yZ05hbWUiOiJTcHJpbmdmaWVsZCJ9"
    /// The secret Apple's client config example echoes back; it must never reach our output.
    static let notificationAuthToken = "SUp3rS3Cr3t"
    static let app = "408709785"

    /// The location a request's Bearer names.
    static func location(_ seen: RecordedApple.Seen) -> String {
        seen.authorization == "Bearer \(southToken)" ? "2049025000431440" : "2049025000431439"
    }

    static func clientConfig(uId: String, expiry: String? = "2030-11-08T22:33:22+0000") -> String {
        """
        {
            "countryISO2ACode": "US",
            "defaultPlatform": "volumestore",
            "locationName": "PS01 \(uId.suffix(2))",
            "notificationAuthToken": "\(notificationAuthToken)",
            "notificationUrl": "https://www.next.com/notification",
            "subscribedNotificationTypes": [
                "ASSET_COUNT",
                "ASSET_MANAGEMENT"
            ],\(expiry.map { "\n    \"tokenExpirationDate\": \"\($0)\"," } ?? "")
            "uId": "\(uId)",
            "websiteURL": "https://school.apple.com"
        }
        """
    }

    static func asset(_ adamId: String = app, total: Int, assigned: Int, available: Int, retired: Int = 0, productType: String? = "App") -> String {
        """
                {
                    "adamId": "\(adamId)",
                    "assignedCount": \(assigned),
                    "availableCount": \(available),
                    "deviceAssignable": true,
                    "pricingParam": "STDQ",\(productType.map { "\n            \"productType\": \"\($0)\"," } ?? "")
                    "retiredCount": \(retired),
                    "revocable": true,
                    "supportedPlatforms": ["iOS"],
                    "totalCount": \(total)
                }
        """
    }

    static func assets(_ assets: [String], uId: String, versionId: String = "009061cb-87d1-4ea8-ae4c-7849dc49224e") -> String {
        """
        {
            "assets": [
        \(assets.joined(separator: ",\n"))
            ],
            "currentPageIndex": 0,
            "size": \(assets.count),
            "tokenExpirationDate": "2030-11-08T22:33:22+0000",
            "totalPages": 1,
            "uId": "\(uId)",
            "versionId": "\(versionId)"
        }
        """
    }

    static func assignments(_ serials: [String], uId: String, versionId: String) -> String {
        let items = serials.map { #"{"adamId": "\#(app)", "serialNumber": "\#($0)", "pricingParam": "STDQ"}"# }
        return """
            {
                "assignments": [\(items.joined(separator: ", "))],
                "size": \(serials.count),
                "currentPageIndex": 0,
                "tokenExpirationDate": "2030-11-08T22:33:22+0000",
                "totalPages": 1,
                "uId": "\(uId)",
                "versionId": "\(versionId)"
            }
            """
    }

    /// Apple's "setting up" example: `limits` and `urls`, no `maxRequestPerSecond`,
    /// `errorCodes` or `notificationTypes`; here with a live `maxSerialNumbers` of 1.
    static let settingUpServiceConfig = """
        {
            "limits": {
                "maxAssets": 25,
                "maxClientUserIds": 1000,
                "maxRevokeClientUserIds": 100,
                "maxRevokeSerialNumbers": 100,
                "maxSerialNumbers": 1
            },
            "urls": {
                "assets": "https://vpp.itunes.apple.com/mdm/v2/assets",
                "status": "https://vpp.itunes.apple.com/mdm/v2/status"
            }
        }
        """

    static func event(_ id: String, uId: String) -> String {
        #"{"eventId": "\#(id)", "tokenExpirationDate": "2030-11-08T22:33:22+0000", "uId": "\#(uId)"}"#
    }

    static func completed(type: String, requested: Int, uId: String) -> String {
        """
        {"eventStatus": "COMPLETE", "eventType": "\(type)", "numCompleted": \(requested), "numRequested": \(requested),
         "tokenExpirationDate": "2030-11-08T22:33:22+0000", "uId": "\(uId)"}
        """
    }

    /// "Handling Error Responses": the body is Apple's `ErrorResponse`.
    static func error(_ number: Int, _ message: String) -> String {
        """
        {
            "errorNumber": \(number),
            "errorMessage": "\(message)"
        }
        """
    }
}

/// An engine on a fresh SQLite file talking to `baseURL` through the real HTTP client, with a
/// clock fixed at `now`.
struct RecordedEngine {
    let folder: URL
    let engine: Allot

    /// 2026-12-01T00:00:00Z.
    static let now: Int64 = 1_796_083_200

    init(baseURL: String, now: Int64 = RecordedEngine.now) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-documented-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var settings = EngineSettings()
        settings.paceRequests = false
        settings.pollIntervalSeconds = 0
        engine = try Allot(databasePath: folder.appendingPathComponent("allot.sqlite").path,
                           apple: AppleHTTPClient(baseURL: baseURL, timeout: .seconds(10), serviceConfigRefreshSeconds: 0),
                           secrets: SecretBox(key: SymmetricKey(size: .bits256)), settings: settings, clock: { now })
    }

    /// A tenant with two devices.
    static let serials = ["C02XK1ABJG5H", "C02XK1ABJG5J"]

    func tenant() async throws {
        _ = try await engine.createTenant(slug: "springfield")
        _ = try await engine.registerDevices(tenant: "springfield", RecordedEngine.serials.map { DeviceInput(serial: SerialNumber($0)!) })
    }

    func cleanUp() { try? FileManager.default.removeItem(at: folder) }
}
