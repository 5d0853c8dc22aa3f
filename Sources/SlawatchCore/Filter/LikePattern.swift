import Foundation

/// SQL `LIKE`: `%` any run of characters, `_` one character, `\` escapes the next one. Pattern and
/// text are composed (NFC) first, so that accents written either way match alike, and a character
/// is then a code point: the dashboard function matches the same way in PostgreSQL.
struct LikePattern {
    enum Token: Equatable {
        case any, one
        case literal(Unicode.Scalar)
    }
    let tokens: [Token]

    init(_ pattern: String) {
        var tokens: [Token] = []
        var escaped = false
        for c in Self.composed(pattern).unicodeScalars {
            if escaped {
                tokens.append(.literal(c))
                escaped = false
                continue
            }
            switch c {
            case "\\": escaped = true
            case "%": if tokens.last != .any { tokens.append(.any) }
            case "_": tokens.append(.one)
            default: tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    func matches(_ text: String) -> Bool {
        let chars = Array(Self.composed(text).unicodeScalars)
        // Classic two-pointer wildcard match with backtracking to the last `%`.
        var t = 0
        var p = 0
        var starP = -1
        var starT = 0
        while t < chars.count {
            if p < tokens.count {
                switch tokens[p] {
                case .one:
                    t += 1
                    p += 1
                    continue
                case .literal(let c) where c == chars[t]:
                    t += 1
                    p += 1
                    continue
                case .any:
                    starP = p
                    starT = t
                    p += 1
                    continue
                default: break
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < tokens.count, tokens[p] == .any { p += 1 }
        return p == tokens.count
    }

    /// Canonical composition (NFC). Text of code points below U+0300 is composed already: nothing
    /// there composes or decomposes.
    static func composed(_ text: String) -> String {
        text.unicodeScalars.allSatisfy { $0.value < 0x300 } ? text : text.precomposedStringWithCanonicalMapping
    }
}
