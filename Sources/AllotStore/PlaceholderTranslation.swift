/// The Ledger's SQL is written once, with SQLite's placeholders (`?`, `?N`); PostgreSQL numbers
/// its own (`$N`). A scan that skips string literals, quoted names and comments, so a `?` in a
/// literal stays a question mark.
enum PlaceholderTranslation {
    /// `?N` as `$N`; each bare `?` as the next number after the last one used, as SQLite counts.
    static func dollarNumbered(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 8)
        var highest = 0
        var characters = sql.makeIterator()
        var pending: Character? = nil
        var state = ScanState.code
        func next() -> Character? {
            if let held = pending { pending = nil; return held }
            return characters.next()
        }
        while let character = next() {
            switch state {
            case .code:
                if character == "?" {
                    var digits = ""
                    while let following = next() {
                        if following.isASCII && following.isNumber { digits.append(following) } else { pending = following; break }
                    }
                    let number = Int(digits) ?? (highest + 1)
                    highest = max(highest, number)
                    output += "$\(number)"
                    continue
                }
                state = ScanState.after(character, in: .code, following: { pending = next(); return pending })
            default:
                state = ScanState.after(character, in: state, following: { pending = next(); return pending })
            }
            output.append(character)
        }
        return output
    }

    /// The statements of a script (a migration), split at the semicolons that end them.
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var state = ScanState.code
        var characters = script.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let held = pending { pending = nil; return held }
            return characters.next()
        }
        while let character = next() {
            if state == .code && character == ";" {
                statements.append(current)
                current = ""
                continue
            }
            state = ScanState.after(character, in: state, following: { pending = next(); return pending })
            current.append(character)
        }
        statements.append(current)
        return statements.filter { statement in
            // Only comments and blank lines: nothing to run.
            statement.split(separator: "\n").contains { line in
                let text = line.trimmingCharacters(in: .whitespaces)
                return !text.isEmpty && !text.hasPrefix("--")
            }
        }
    }
}

/// Where a scan of SQL text is: in code, a '…' literal, a "…" name, or a -- comment.
private enum ScanState: Equatable {
    case code, literal, name, comment

    /// The state after `character`; `following` peeks at the next character (kept for the scan).
    static func after(_ character: Character, in state: ScanState, following: () -> Character?) -> ScanState {
        switch state {
        case .code:
            if character == "'" { return .literal }
            if character == "\"" { return .name }
            if character == "-" && following() == "-" { return .comment }
            return .code
        // A doubled quote inside a literal closes it and opens it again: the same result.
        case .literal: return character == "'" ? .code : .literal
        case .name: return character == "\"" ? .code : .name
        case .comment: return character == "\n" ? .code : .comment
        }
    }
}

import Foundation
