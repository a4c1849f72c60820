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

    /// The table with a header row, columns two spaces apart, no trailing spaces. Cells are
    /// made printable (they may come from input) and aligned by display width, so CJK and
    /// emoji names line up.
    func render(indent: String = "") -> String {
        let rows = self.rows.map { $0.map(Text.printable) }
        var widths = columns.map { Text.displayWidth($0.title) }
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], Text.displayWidth(cell)) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - Text.displayWidth(cell))
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

extension Text {
    /// Text from input (device names, serials, paths) made safe for a terminal: control
    /// characters, which could move the cursor or retitle the window, are shown escaped.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var shown = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                shown += scalar.value <= 0xFF ? String(format: "\\x%02x", scalar.value) : String(format: "\\u{%x}", scalar.value)
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        // C0 and C1 controls, DEL, and the bidirectional overrides that reorder what follows.
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x202A...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value)
    }

    /// Columns a text takes on a terminal: East Asian wide and full-width characters and emoji
    /// take two, combining marks none (by grapheme, so a ZWJ emoji sequence counts once).
    static func displayWidth(_ text: String) -> Int {
        var width = 0
        for character in text {
            var widest = 0
            for scalar in character.unicodeScalars { widest = max(widest, columns(scalar)) }
            width += widest
        }
        return width
    }

    private static func columns(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalar.properties.isEmojiPresentation { return 2 }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD,
        ]
        return wide.contains { $0.contains(value) } ? 2 : 1
    }
}
