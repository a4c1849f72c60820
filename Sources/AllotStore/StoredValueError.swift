import AllotCore

/// A stored value this version of allot does not know: the database is corrupt, or written
/// by a newer allot. Thrown, never replaced by a default (which would hide the corruption). The
/// one error for it, whatever the table: `column` names where the value is (and which row, where
/// that helps).
public struct StoredValueError: Error, Sendable, Hashable, CustomStringConvertible {
    public let column: String
    public let value: String
    public init(column: String, value: String) {
        self.column = column
        self.value = value
    }
    public var description: String {
        "the database holds '\(value.printableExcerpt)' in \(column), which this allot does not know; the file is damaged or from a newer allot"
    }
}
