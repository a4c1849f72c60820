import AllotCore
import AllotStore
import AppleAppsAndBooks

// The one place where Apple's error numbers and event answers become the outbox machine's
// vocabulary (STYLE: Apple's words at the boundary only, translated once).

extension AppleServiceError {
    var verdict: AppleVerdict {
        switch errorNumber {
        case AppleErrorNumber.notEnoughLicenses: return .notEnoughLicences
        case AppleErrorNumber.licenseAlreadyAssigned: return .alreadyAssigned
        case AppleErrorNumber.licenseNotFound: return .licenceNotFound
        case AppleErrorNumber.unknownEventId: return .unknownEvent
        default: break
        }
        switch classification {
        case .tokenExpired: return .tokenExpired
        case .tokenRevoked: return .tokenRevoked
        case .tokenInvalid: return .tokenInvalid
        case .retryLater: return .retryLater
        case .ourBug: return .ourBug
        case .itemRefused: return .itemRefused
        case .other: return .other
        }
    }
}

extension EventReport {
    init(_ status: EventStatus) {
        let phase: Phase = switch status.eventStatus.uppercased() {
        case "PENDING": .pending
        case "COMPLETE": .complete
        case "FAILED": .failed
        default: .unrecognised(status.eventStatus.printableExcerpt)
        }
        let failures = (status.failures ?? []).map { failure in
            let serials = failure.errorInfo?.serialNumbers.flatMap { $0.isEmpty ? nil : $0 }
            let users = failure.errorInfo?.clientUserIds ?? []
            // 9616 naming other users of the location (`regUsersAlreadyAssigned`): another user
            // with the same Apple Account holds the asset, so this one was refused, not served
            // (one person, two ids); the licence is given back rather than counted twice.
            let heldByAnother = failure.errorNumber == AppleErrorNumber.licenseAlreadyAssigned
                && !(failure.errorInfo?.regUsersAlreadyAssigned ?? []).isEmpty
            return EventItemFailure(
                verdict: heldByAnother ? .itemRefused
                    : AppleServiceError(errorNumber: failure.errorNumber, message: failure.errorMessage, httpStatus: 200).verdict,
                message: "\(failure.errorNumber): \(failure.errorMessage)", serials: serials,
                namesUsersOnly: serials == nil && !users.isEmpty, clientUserIds: users.isEmpty ? nil : users)
        }
        self.init(phase: phase, numRequested: status.numRequested, numCompleted: status.numCompleted, failures: failures)
    }
}
