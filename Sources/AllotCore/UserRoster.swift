/// A roster of people read from CSV (`allot users import`): a header row naming the columns,
/// `user_id` required, `email`, `managed_apple_id`, `group` optional, in any order, with the
/// common spellings of each (`User ID`, `Email Address`, `Managed Apple Account`…). The same
/// reader and rules as the device roster (`Roster`): quoted fields, CRLF, a byte-order mark,
/// commas or semicolons or tabs; a bad line is rejected with its line number while the good
/// ones import; a user repeated in the file is merged, the last line's values winning.
public struct UserRoster: Sendable {
    public struct Row: Sendable, Hashable {
        public let line: Int
        public let userId: String
        /// nil: the column is absent from the file, so the stored value is left as it is.
        public let email: String?
        public let managedAppleId: String?
        public let group: String?
    }

    public typealias Rejection = Roster.Rejection

    public let rows: [Row]
    public let rejected: [Rejection]
    public let delimiter: Character

    /// Header names of each column, compared after `Roster.columnName`.
    public static let userIdColumnNames: Set<String> = ["userid", "user", "clientuserid", "personid", "id", "username"]
    public static let emailColumnNames: Set<String> = ["email", "emailaddress", "mail"]
    public static let managedAppleIdColumnNames: Set<String> = [
        "managedappleid", "managedappleaccount", "appleid", "appleaccount", "federatedid",
    ]
    public static let groupColumnNames: Set<String> = ["group", "class", "department"]

    public init(csv bytes: some Collection<UInt8>) throws(RosterError) {
        let all = Array(bytes)
        let firstLine = all.prefix(Roster.lineBytesMax).prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        delimiter = Roster.delimiter(ofHeader: String(decoding: firstLine, as: UTF8.self)[...])
        var reader = CSVReader(all, delimiter: delimiter.asciiValue!)
        guard let header = reader.nextRecord() else { throw RosterError("the roster file is empty; it needs a header row with a user_id column") }
        guard case .success(let headerFields) = header.fields else {
            if case .failure(let problem) = header.fields { throw RosterError("the roster's header row (line 1) \(problem)") }
            fatalError("unreachable")
        }
        let columns = headerFields.map(Roster.columnName)
        guard let idColumn = columns.firstIndex(where: { Self.userIdColumnNames.contains($0) }) else {
            throw RosterError("the roster's header row (\(columns.count) column\(columns.count == 1 ? "" : "s"), separated by \(Roster.delimiterName(delimiter))) has no user id column; name one user_id (or User ID, user, id)")
        }
        let emailColumn = columns.firstIndex { Self.emailColumnNames.contains($0) }
        let appleIdColumn = columns.firstIndex { Self.managedAppleIdColumnNames.contains($0) }
        let groupColumn = columns.firstIndex { Self.groupColumnNames.contains($0) }

        var rows: [Row] = []
        var rejected: [Rejection] = []
        var indexById: [String: Int] = [:]
        while let record = reader.nextRecord() {
            if rows.count + rejected.count >= Roster.rowsMax {
                throw RosterError("the roster has more than \(Roster.rowsMax) rows; split it into several files")
            }
            let fields: [String]
            switch record.fields {
            case .failure(let problem):
                rejected.append(Rejection(line: record.line, reason: problem.description))
                continue
            case .success(let parsed):
                fields = parsed
            }
            if fields.count == 1 && fields[0].isEmpty { continue }
            if fields.count != columns.count {
                rejected.append(Rejection(line: record.line, reason: "has \(fields.count) fields but the header has \(columns.count)"))
                continue
            }
            if let long = fields.first(where: { $0.count > Roster.fieldCharactersMax }) {
                rejected.append(Rejection(line: record.line, reason: "a field is longer than \(Roster.fieldCharactersMax) characters ('\(long.printableExcerpt)')"))
                continue
            }
            guard let userId = UserKey.normalized(fields[idColumn]) else {
                rejected.append(Rejection(line: record.line, reason: UserKey.problem(with: fields[idColumn])))
                continue
            }
            func optional(_ column: Int?) -> String? { column.map { fields[$0].trimmingWhitespace() } }
            let email = optional(emailColumn)
            if let email, !email.isEmpty, !Self.looksLikeAddress(email) {
                rejected.append(Rejection(line: record.line, reason: "the email '\(email.printableExcerpt)' is not an address like name@example.org"))
                continue
            }
            let appleId = optional(appleIdColumn)
            if let appleId, !appleId.isEmpty, !Self.looksLikeAddress(appleId) {
                rejected.append(Rejection(line: record.line, reason: "the Managed Apple Account '\(appleId.printableExcerpt)' is not an address like name@appleid.example.org"))
                continue
            }
            let row = Row(line: record.line, userId: userId, email: email, managedAppleId: appleId, group: optional(groupColumn))
            if let earlier = indexById[userId] {
                rows[earlier] = Row(line: rows[earlier].line, userId: userId, email: row.email, managedAppleId: row.managedAppleId, group: row.group)
            } else {
                indexById[userId] = rows.count
                rows.append(row)
            }
        }
        self.rows = rows
        self.rejected = rejected
    }

    /// One `@` with text on both sides and no spaces: a sanity check, not a validation of mail.
    static func looksLikeAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && !text.contains(" ")
    }
}
