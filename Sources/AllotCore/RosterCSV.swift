/// A device roster read from CSV (DESIGN.md, `devices import`): a header row naming the columns,
/// `serial_number` required, `name`, `model`, `group` optional, in any order. Quoted fields,
/// CRLF line ends and a UTF-8 byte-order mark are accepted. The fields are separated by commas,
/// or by semicolons or tabs when the header is (`delimiter(ofHeader:)`). A bad line is rejected with its line
/// number (the header is line 1) while the good ones import. A serial repeated in the file is
/// merged: the last line's values win, and it counts once.
public struct Roster: Sendable {
    public struct Row: Sendable, Hashable {
        public let line: Int
        public let serial: SerialNumber
        /// nil: the column is absent from the file, so the stored value is left as it is.
        public let name: String?
        public let model: String?
        public let group: String?
    }

    public struct Rejection: Sendable, Hashable, Codable {
        public let line: Int
        public let reason: String
    }

    public let rows: [Row]
    public let rejected: [Rejection]
    public let hasName: Bool, hasModel: Bool, hasGroup: Bool

    /// Limits on what one file may hold.
    public static let lineBytesMax = 4_096
    public static let rowsMax = 2_000_000
    public static let fieldCharactersMax = 200

    /// Header names of the serial column, as MDM exports write them (compared after `columnName`).
    public static let serialColumnNames: Set<String> = ["serialnumber", "serial"]

    /// A header name compared without case, spaces, underscores or dashes: `Serial Number`,
    /// `serial_number` and `SerialNumber` are one column.
    public static func columnName(_ header: String) -> String {
        String(header.trimmingWhitespace().lowercased().filter { $0 != " " && $0 != "_" && $0 != "-" && $0 != "\u{FEFF}" })
    }

    /// The separators a roster may use: commas (RFC 4180), semicolons (spreadsheets in locales
    /// whose decimal separator is a comma export CSV that way) and tabs (a copy from a table).
    public static let delimiters: [Character] = [",", ";", "\t"]

    /// The separator of a file whose first line is `header`: the one of `delimiters` that occurs
    /// most often outside quotes, commas when none does (a header of one column) or on a tie.
    public static func delimiter(ofHeader header: Substring) -> Character {
        var counts: [Character: Int] = [:]
        var quoted = false
        for character in header {
            if character == "\"" { quoted.toggle() } else if !quoted, delimiters.contains(character) { counts[character, default: 0] += 1 }
        }
        let comma = counts[",", default: 0]
        let best = delimiters.max { counts[$0, default: 0] < counts[$1, default: 0] } ?? ","
        return counts[best, default: 0] > comma ? best : ","
    }

    /// The separator this file was read with.
    public let delimiter: Character

    /// Parses the bytes of a roster file. Throws `RosterError` when the file as a whole cannot be
    /// a roster (no header, no `serial_number` column, too many rows); bad lines are rejections.
    public init(csv bytes: some Collection<UInt8>) throws(RosterError) {
        let all = Array(bytes)
        let firstLine = all.prefix(Self.lineBytesMax).prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        delimiter = Self.delimiter(ofHeader: String(decoding: firstLine, as: UTF8.self)[...])
        var reader = CSVReader(all, delimiter: delimiter.asciiValue!)
        guard let header = reader.nextRecord() else { throw RosterError("the roster file is empty; it needs a header row with a serial_number column") }
        if case .failure(let problem) = header.fields {
            throw RosterError("the roster's header row (line 1) \(problem)")
        }
        guard case .success(let headerFields) = header.fields else { fatalError("unreachable") }
        let columns = headerFields.map(Self.columnName)
        guard let serialColumn = columns.firstIndex(where: { Self.serialColumnNames.contains($0) }) else {
            // The header is not echoed: a file given here by mistake may be a secret (a token).
            throw RosterError("the roster's header row (\(columns.count) column\(columns.count == 1 ? "" : "s"), separated by \(Self.delimiterName(delimiter))) has no serial number column; name one serial_number (or Serial Number, serial, SerialNumber)")
        }
        let nameColumn = columns.firstIndex { $0 == "name" || $0 == "devicename" }
        let modelColumn = columns.firstIndex(of: "model")
        let groupColumn = columns.firstIndex(of: "group")
        hasName = nameColumn != nil
        hasModel = modelColumn != nil
        hasGroup = groupColumn != nil

        var rows: [Row] = []
        var rejected: [Rejection] = []
        var indexBySerial: [SerialKey: Int] = [:]
        // About 40 bytes a line in a typical roster: growing the table a few times costs less
        // than rehashing it from empty.
        indexBySerial.reserveCapacity(min(Self.rowsMax, reader.remainingBytes / 64))
        rows.reserveCapacity(min(Self.rowsMax, reader.remainingBytes / 64))
        while let record = reader.nextRecord() {
            if rows.count + rejected.count >= Self.rowsMax {
                throw RosterError("the roster has more than \(Self.rowsMax) rows; split it into several files")
            }
            let fields: [String]
            switch record.fields {
            case .failure(let problem):
                rejected.append(Rejection(line: record.line, reason: problem.description))
                continue
            case .success(let parsed):
                fields = parsed
            }
            if fields.count == 1 && fields[0].isEmpty { continue }  // a blank line
            if fields.count != columns.count {
                rejected.append(Rejection(line: record.line, reason: "has \(fields.count) fields but the header has \(columns.count)"))
                continue
            }
            // A field's characters never outnumber its UTF-8 bytes, so counting characters
            // (grapheme breaking) is needed only for a field with more bytes than the limit.
            if let long = fields.first(where: { $0.utf8.count > Self.fieldCharactersMax && $0.count > Self.fieldCharactersMax }) {
                rejected.append(Rejection(line: record.line, reason: "a field is longer than \(Self.fieldCharactersMax) characters ('\(long.printableExcerpt)')"))
                continue
            }
            guard let serial = SerialNumber(fields[serialColumn]) else {
                rejected.append(Rejection(line: record.line, reason: SerialNumber.problem(with: fields[serialColumn])))
                continue
            }
            func optional(_ column: Int?) -> String? {
                column.map { fields[$0].trimmingWhitespace() }
            }
            let row = Row(line: record.line, serial: serial, name: optional(nameColumn),
                          model: optional(modelColumn), group: optional(groupColumn))
            if let earlier = indexBySerial[serial.key] {
                rows[earlier] = Row(line: rows[earlier].line, serial: serial, name: row.name, model: row.model, group: row.group)
            } else {
                indexBySerial[serial.key] = rows.count
                rows.append(row)
            }
        }
        self.rows = rows
        self.rejected = rejected
    }
}

extension Roster {
    static func delimiterName(_ delimiter: Character) -> String {
        switch delimiter {
        case ";": "semicolons"
        case "\t": "tabs"
        default: "commas"
        }
    }
}

public struct RosterError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// RFC 4180 records over bytes: fields separated by commas (or the delimiter given), optionally quoted with `"`, a
/// doubled `""` inside quotes standing for one quote, records ending at LF or CRLF (a quoted
/// field may span lines).
struct CSVReader {
    struct Record {
        let line: Int
        let fields: Result<[String], Problem>
    }
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    private let bytes: [UInt8]
    private let delimiter: UInt8
    private var position: Int
    private var line = 1
    /// Fields of the last record: the next one most likely has as many.
    private var fieldsExpected = 4

    init(_ bytes: [UInt8], delimiter: UInt8 = UInt8(ascii: ",")) {
        self.bytes = bytes
        self.delimiter = delimiter
        // A UTF-8 byte-order mark, as spreadsheet programs write it.
        position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    var remainingBytes: Int { bytes.count - position }

    mutating func nextRecord() -> Record? {
        guard position < bytes.count else { return nil }
        let startLine = line
        let start = position
        var fields: [String] = []
        fields.reserveCapacity(fieldsExpected)
        var field: [UInt8] = []
        var quoted = false
        var problem: String?
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if position < bytes.count && bytes[position] == UInt8(ascii: "\"") {
                        field.append(byte)
                        position += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    if byte == 0 && problem == nil { problem = Self.nulProblem }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case delimiter:
                append(field, to: &fields, problem: &problem)
                field.removeAll(keepingCapacity: true)
            case UInt8(ascii: "\""):
                if field.allSatisfy({ $0 == UInt8(ascii: " ") }) {
                    field.removeAll(keepingCapacity: true)
                    quoted = true
                } else if problem == nil {
                    problem = "has a quote inside an unquoted field; quote the whole field and double the quote (\"\")"
                }
            case UInt8(ascii: "\r") where position < bytes.count && bytes[position] == UInt8(ascii: "\n"):
                continue
            case UInt8(ascii: "\n"):
                line += 1
                fieldsExpected = max(1, min(fields.count + 1, 64))
                return finish(fields, field, startLine: startLine, start: start, problem: problem)
            case 0:
                if problem == nil { problem = Self.nulProblem }
                field.append(byte)
            default:
                field.append(byte)
            }
        }
        if quoted && problem == nil { problem = "has a quoted field that is never closed" }
        return finish(fields, field, startLine: startLine, start: start, problem: problem)
    }

    private func finish(_ fields: [String], _ last: [UInt8], startLine: Int, start: Int, problem: String?) -> Record {
        if position - start > Roster.lineBytesMax {
            return Record(line: startLine, fields: .failure(Problem(description: "is longer than \(Roster.lineBytesMax) bytes")))
        }
        var all = fields
        var problem = problem
        append(last, to: &all, problem: &problem)
        if let problem { return Record(line: startLine, fields: .failure(Problem(description: problem))) }
        return Record(line: startLine, fields: .success(all))
    }

    static let nulProblem = "holds a NUL byte; a roster is text, remove it"

    /// Adds a field's text; bytes that are not UTF-8 make the line's problem instead of
    /// becoming U+FFFD in the ledger.
    private func append(_ field: [UInt8], to fields: inout [String], problem: inout String?) {
        if let text = String(validating: field, as: UTF8.self) {
            fields.append(text)
        } else {
            if problem == nil { problem = "holds bytes that are not UTF-8 text; save the roster as UTF-8" }
            fields.append("")
        }
    }
}
