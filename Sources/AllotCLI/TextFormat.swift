import Foundation

/// Output for people: aligned tables, counts with thousands separators, dates as dates.
struct Table {
    enum Alignment { case left, right }
    struct Column {
        let title: String
        let alignment: Alignment
        init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    let columns: [Column]
    private(set) var rows: [[String]] = []

    init(_ columns: Column...) { self.columns = columns }

    mutating func add(_ cells: String...) {
        precondition(cells.count == columns.count, "a row has one cell per column")
        rows.append(cells)
    }

    mutating func add(cells: [String]) {
        precondition(cells.count == columns.count, "a row has one cell per column")
        rows.append(cells)
    }

    /// The table with a header row, columns two spaces apart, no trailing spaces.
    func render(indent: String = "") -> String {
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                parts.append(columns[index].alignment == .right ? padding + cell : cell + padding)
            }
            return indent + parts.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(columns.map(\.title))] + rows.map(line)).joined(separator: "\n")
    }
}

enum Text {
    /// 1234567 → "1,234,567": the same on every machine, whatever its locale.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// "1 device", "2 devices", with the count grouped.
    static func count(_ value: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count(value)) \(value == 1 ? singular : plural ?? singular + "s")"
    }

    /// A calendar date in UTC, e.g. "2027-09-01".
    static func date(_ secondsSince1970: Int64) -> String {
        dateFormatter.string(from: Date(timeIntervalSince1970: TimeInterval(secondsSince1970)))
    }

    /// A moment in UTC to the second, e.g. "2026-05-01 16:44:51".
    static func dateTime(_ secondsSince1970: Int64) -> String {
        dateTimeFormatter.string(from: Date(timeIntervalSince1970: TimeInterval(secondsSince1970)))
    }

    private static let dateFormatter = formatter("yyyy-MM-dd")
    private static let dateTimeFormatter = formatter("yyyy-MM-dd HH:mm:ss")

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// "a, b and c".
    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        default: items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}

/// How much of a long list the people's output shows before pointing at --json.
enum TextLimits {
    static let rowsShown = 10
    static let serialsShown = 30
}
