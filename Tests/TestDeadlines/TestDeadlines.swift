import Foundation

/// The one place the tests' waits get their bounds. A wait ends as soon as what it waits for
/// happens; its bound only decides when to give up, and is what a quiet machine needs with
/// room to spare. `ALLOT_TEST_TIME_SCALE` (a number, default 1) multiplies every bound, so a
/// busy machine (CI beside other jobs, `scripts/suite-under-load.sh`) gets more patience from
/// one setting instead of waits tuned to one box. Bounds that assert how fast the product must
/// be (a shutdown within its drain, a request refused within its deadline) are not scaled:
/// they are the behaviour under test.
public enum TestDeadlines {
    public static let scale: Double = {
        guard let text = ProcessInfo.processInfo.environment["ALLOT_TEST_TIME_SCALE"] else { return 1 }
        guard let value = Double(text), value >= 1, value <= 20 else {
            fatalError("ALLOT_TEST_TIME_SCALE is '\(text)'; give a number from 1 to 20 (e.g. 3 on a busy machine)")
        }
        return value
    }()

    /// `base` seconds, scaled.
    public static func seconds(_ base: Double) -> Double { base * scale }

    /// `base` seconds, scaled, as a `Duration` (a client's timeout set by a test).
    public static func duration(_ base: Double) -> Duration { .milliseconds(Int64(seconds(base) * 1_000)) }

    /// The moment `base` seconds (scaled) from now, for waits that poll `Date()`.
    public static func date(after base: Double) -> Date { Date().addingTimeInterval(seconds(base)) }

    /// The moment `base` seconds (scaled) from now, for waits that poll `ContinuousClock`.
    public static func instant(after base: Double) -> ContinuousClock.Instant { .now + .milliseconds(Int(seconds(base) * 1_000)) }

    /// Waits until `condition` holds, at most `base` seconds (scaled); whether it held.
    public static func eventually(_ base: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = instant(after: base)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// The longest a child process of a test may run before it is stopped and the test fails:
    /// the CLI's slowest command in the suite takes seconds, so a child still running after
    /// this is stuck, and stopping it keeps the run from hanging.
    public static let childProcessSecondsMax = seconds(180)
}
