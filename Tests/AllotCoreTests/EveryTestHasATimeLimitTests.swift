import Foundation
import Testing

/// A test on a busy machine must fail, never hang: every suite declares a time limit (Swift
/// Testing applies it to each of its tests), so a stuck wait ends the test, not the CI run.
@Suite(.timeLimit(.minutes(1))) struct EveryTestHasATimeLimitTests {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    @Test func everySuiteDeclaresATimeLimitAndNoTestStandsOutsideOne() throws {
        let files = FileManager.default.enumerator(at: Self.testsFolder, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            guard let firstTest = text.range(of: "@Test") else { continue }
            checked += 1
            let name = file.lastPathComponent
            let suites = text.components(separatedBy: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("@Suite") }
            for suite in suites {
                #expect(suite.contains(".timeLimit("), "\(name): \(suite.trimmingCharacters(in: .whitespaces)) has no time limit")
            }
            let limitedSuite = text.range(of: "@Suite(")
                .map { $0.lowerBound < firstTest.lowerBound && text[$0.lowerBound...].prefix(400).contains(".timeLimit(") } ?? false
            let firstTestLine = text[firstTest.lowerBound...].prefix { $0 != "\n" }
            #expect(limitedSuite || firstTestLine.contains(".timeLimit("), "\(name): its first test is not inside a suite with a time limit")
        }
        #expect(checked > 50, "the test files were found (\(checked))")
    }
}
