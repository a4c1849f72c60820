import Foundation
import Logging
import Synchronization

/// How `allot serve` writes its log (`--log-format`): a line of text, or one JSON object per
/// line for log shippers.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// A swift-log handler that writes one line per message to standard error (or to `write`, for
/// tests): `time level label: message key=value…`, or with `.json`
/// `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`. Whatever logs through it
/// decides what goes in; nothing in the engine or the server logs a key, a token or a secret.
public struct AllotLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let format: LogFormat
    let write: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level = .info, format: LogFormat = .text,
                write: @escaping @Sendable (String) -> Void = AllotLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let time = Date().formatted(Self.timeFormat)
        switch format {
        case .text:
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            write("\(time) \(level) \(label): \(message)\(fields.isEmpty ? "" : " " + fields)\n")
        case .json:
            let object: [String: Any] = ["time": time, "level": level.rawValue, "label": label, "message": message.description,
                                         "metadata": Self.json(all)]
            // Sorted keys: the same message is the same line. Escaped control characters keep it one line.
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            write(String(decoding: data, as: UTF8.self) + "\n")
        }
    }

    /// UTC with milliseconds: `2026-05-01T16:44:51.123Z`.
    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func json(_ metadata: Logger.Metadata) -> [String: Any] { metadata.mapValues(json) }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .dictionary(let dictionary): json(dictionary)
        case .array(let array): array.map(json)
        }
    }

    /// One write per line, so lines of concurrent tasks never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        standardErrorLock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
    private static let standardErrorLock = Mutex<Void>(())
}
