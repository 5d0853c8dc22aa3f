/// Reads JSON5 — JSON plus comments, trailing commas, single-quoted strings, unquoted member names,
/// hexadecimal numbers, `Infinity` and `NaN` — into a `JSONValue`, and says where text that is not
/// valid goes wrong: the line and column, and what was expected there.
///
/// Bounded: nesting deeper than `maximumDepth` is an error rather than a deep recursion, and the
/// work is linear in the length of the text. Strings may not hold raw control characters (line
/// breaks, NUL, tabs): they are written as escapes. Invalid UTF-8 is an error at its position.
public struct JSON5Parser {
    /// Why a text is not JSON5, and where.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// 1-based line; lines end at LF, CR or CR LF.
        public let line: Int
        /// 1-based column, in Unicode scalars.
        public let column: Int
        public let reason: String
        /// `line 3, column 14`.
        public var location: String { "line \(line), column \(column)" }
        public var description: String { "\(location): \(reason)" }
    }

    /// Arrays and objects nested deeper than this are refused; rules need a handful of levels.
    public static let maximumDepth = 128

    /// The value of the whole text.
    public static func parse(_ bytes: some Collection<UInt8>) throws(SyntaxError) -> JSONValue {
        var parser = try JSON5Parser(bytes: Array(bytes))
        let value = try parser.value(depth: 0)
        try parser.skipSpace()
        if parser.i < parser.text.count {
            throw parser.fail("expected the end of the text after the value, found \(parser.found)")
        }
        return value
    }

    /// The value of a string's UTF-8.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue { try parse(Array(text.utf8)) }

    private let text: [Unicode.Scalar]
    private var i = 0

    private init(bytes: [UInt8]) throws(SyntaxError) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(bytes.count)
        var decoder = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        decoding: while true {
            switch decoder.parseScalar(from: &iterator) {
            case .valid(let encoded):
                scalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .emptyInput:
                break decoding
            case .error:
                text = scalars
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                throw fail(at: scalars.count, "invalid UTF-8 (byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(offset))")
            }
        }
        text = scalars
    }

    // MARK: - Values

    private mutating func value(depth: Int) throws(SyntaxError) -> JSONValue {
        try skipSpace()
        guard let c = peek else { throw fail("expected a value, found the end of the text") }
        switch c {
        case "{", "[":
            guard depth < Self.maximumDepth else {
                throw fail("arrays and objects nested deeper than \(Self.maximumDepth) levels")
            }
            return c == "{" ? try object(depth: depth + 1) : try array(depth: depth + 1)
        case "\"", "'":
            return .string(try string())
        case "t", "f", "n":
            if take("true") { return .bool(true) }
            if take("false") { return .bool(false) }
            if take("null") { return .null }
            throw fail("expected a value, found \(found)")
        case "-", "+", ".", "0"..."9", "I", "N":
            return .number(try number())
        default:
            throw fail("expected a value, found \(found)")
        }
    }

    private mutating func object(depth: Int) throws(SyntaxError) -> JSONValue {
        i += 1
        var members: [String: JSONValue] = [:]
        while true {
            try skipSpace()
            guard let c = peek else { throw fail("expected a member name or '}', found the end of the text") }
            if c == "}" { i += 1; return .object(members) }
            let key: String
            if c == "\"" || c == "'" {
                key = try string()
            } else if Self.isIdentifierStart(c) {
                let start = i
                while let p = peek, Self.isIdentifierPart(p) { i += 1 }
                key = String(String.UnicodeScalarView(text[start..<i]))
            } else {
                throw fail("expected a member name or '}', found \(found)")
            }
            try skipSpace()
            guard peek == ":" else { throw fail("expected ':' after the member name \(Self.quoted(key)), found \(found)") }
            i += 1
            // A name given twice keeps its last value, as in JavaScript; the rules loader reports the repeat.
            members[key] = try value(depth: depth)
            try skipSpace()
            switch peek {
            case ",": i += 1
            case "}": i += 1; return .object(members)
            default: throw fail("expected ',' or '}' after the value of \(Self.quoted(key)), found \(found)")
            }
        }
    }

    private mutating func array(depth: Int) throws(SyntaxError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        while true {
            try skipSpace()
            if peek == "]" { i += 1; return .array(items) }
            items.append(try value(depth: depth))
            try skipSpace()
            switch peek {
            case ",": i += 1
            case "]": i += 1; return .array(items)
            default: throw fail("expected ',' or ']' after an array element, found \(found)")
            }
        }
    }

    private mutating func string() throws(SyntaxError) -> String {
        let quote = text[i]
        let start = i
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else {
                throw fail("the text ends inside the string that starts at \(position(start).text)")
            }
            if c == quote { i += 1; return String(out) }
            if c == "\n" || c == "\r" {
                throw fail("a line break inside a string; write it as \\n (or end the line with \\ to continue the string)")
            }
            if c.value < 0x20 || c.value == 0x7F {
                throw fail("control character \(Self.codePoint(c)) inside a string; write it as \\u\(Self.hex4(c.value))")
            }
            if c != "\\" { out.append(c); i += 1; continue }
            i += 1
            guard let e = peek else { throw fail("the text ends inside an escape sequence") }
            i += 1
            switch e {
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0":
                if let d = peek, ("0"..."9").contains(d) { i -= 1; throw fail("\\0 followed by a digit is not a valid escape") }
                out.append("\u{00}")
            case "1"..."9":
                i -= 1
                throw fail("\\\(e) is not a valid escape")
            case "x":
                out.append(try hexScalar(digits: 2))
            case "u":
                out.append(try unicodeEscape())
            case "\n", "\u{2028}", "\u{2029}":
                break  // a line continuation
            case "\r":
                if peek == "\n" { i += 1 }
            default:
                out.append(e)
            }
        }
    }

    /// The scalar of `\uXXXX`, or of a surrogate pair `\uD83D\uDE00`; `i` is just past the `u`.
    private mutating func unicodeEscape() throws(SyntaxError) -> Unicode.Scalar {
        let start = i - 2
        let first = try hexValue(digits: 4)
        if (0xDC00...0xDFFF).contains(first) {
            throw fail(at: start, "\\u\(Self.hex4(first)) is the second half of a surrogate pair without a first half")
        }
        guard (0xD800...0xDBFF).contains(first) else { return Unicode.Scalar(first)! }
        guard peek == "\\", i + 1 < text.count, text[i + 1] == "u" else {
            throw fail(at: start, "\\u\(Self.hex4(first)) is the first half of a surrogate pair without a second half")
        }
        i += 2
        let second = try hexValue(digits: 4)
        guard (0xDC00...0xDFFF).contains(second) else {
            throw fail(at: start, "\\u\(Self.hex4(first)) is the first half of a surrogate pair without a second half")
        }
        return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
    }

    private mutating func hexScalar(digits: Int) throws(SyntaxError) -> Unicode.Scalar {
        // Two hex digits are at most 0xFF, always a scalar.
        Unicode.Scalar(try hexValue(digits: digits))!
    }

    private mutating func hexValue(digits: Int) throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek, let d = Self.hexDigit(c) else {
                throw fail("expected \(digits) hexadecimal digits in the escape, found \(found)")
            }
            value = value << 4 | d
            i += 1
        }
        return value
    }

    private mutating func number() throws(SyntaxError) -> Double {
        let start = i
        var negative = false
        if peek == "-" || peek == "+" { negative = peek == "-"; i += 1 }
        if take("Infinity") { return negative ? -.infinity : .infinity }
        if take("NaN") { return .nan }
        if peek == "0", i + 1 < text.count, text[i + 1] == "x" || text[i + 1] == "X" {
            i += 2
            var value = 0.0
            var any = false
            while let c = peek, let d = Self.hexDigit(c) { value = value * 16 + Double(d); i += 1; any = true }
            guard any else { throw fail("expected hexadecimal digits after 0x, found \(found)") }
            guard value.isFinite else { throw fail(at: start, "the number is too large") }
            return negative ? -value : value
        }
        var digits = ""
        let integerStart = i
        while let c = peek, ("0"..."9").contains(c) { digits.unicodeScalars.append(c); i += 1 }
        if digits.count > 1 && digits.hasPrefix("0") {
            throw fail(at: integerStart, "a number may not start with 0 followed by more digits")
        }
        var fraction = ""
        if peek == "." {
            i += 1
            while let c = peek, ("0"..."9").contains(c) { fraction.unicodeScalars.append(c); i += 1 }
        }
        guard !digits.isEmpty || !fraction.isEmpty else { throw fail(at: start, "expected a value, found \(found(at: start))") }
        var exponent = ""
        if peek == "e" || peek == "E" {
            i += 1
            if peek == "-" || peek == "+" { exponent.unicodeScalars.append(text[i]); i += 1 }
            var any = false
            while let c = peek, ("0"..."9").contains(c) { exponent.unicodeScalars.append(c); i += 1; any = true }
            guard any else { throw fail("expected the digits of an exponent, found \(found)") }
        }
        let literal = (digits.isEmpty ? "0" : digits) + (fraction.isEmpty ? "" : "." + fraction)
            + (exponent.isEmpty ? "" : "e" + exponent)
        guard let value = Double(literal), value.isFinite else {
            throw fail(at: start, "the number is too large")
        }
        return negative ? -value : value
    }

    // MARK: - Space and comments

    private mutating func skipSpace() throws(SyntaxError) {
        while let c = peek {
            if Self.isSpace(c) { i += 1; continue }
            guard c == "/", i + 1 < text.count else { return }
            if text[i + 1] == "/" {
                while let d = peek, !Self.isLineBreak(d) { i += 1 }
            } else if text[i + 1] == "*" {
                let start = i
                i += 2
                while i < text.count && !(text[i] == "*" && i + 1 < text.count && text[i + 1] == "/") { i += 1 }
                guard i < text.count else {
                    throw fail("the comment that starts at \(position(start).text) is never closed with */")
                }
                i += 2
            } else {
                return
            }
        }
    }

    // MARK: - Reading helpers

    private var peek: Unicode.Scalar? { i < text.count ? text[i] : nil }

    /// Consumes `word` when the text continues with it.
    private mutating func take(_ word: String) -> Bool {
        var j = i
        for scalar in word.unicodeScalars {
            guard j < text.count, text[j] == scalar else { return false }
            j += 1
        }
        i = j
        return true
    }

    /// What is at the current position, for a message: `'x'`, `U+0000`, `the end of the text`.
    private var found: String { found(at: i) }

    private func found(at index: Int) -> String {
        guard index < text.count else { return "the end of the text" }
        let c = text[index]
        if c.properties.generalCategory == .control || c.properties.generalCategory == .format
            || c.properties.generalCategory == .lineSeparator || c.properties.generalCategory == .paragraphSeparator {
            return Self.codePoint(c)
        }
        return "'\(Character(c))'"
    }

    private func fail(_ reason: String) -> SyntaxError { fail(at: i, reason) }

    private func fail(at index: Int, _ reason: String) -> SyntaxError {
        let p = position(index)
        return SyntaxError(line: p.line, column: p.column, reason: reason)
    }

    /// The line and column of the scalar at `index`.
    private func position(_ index: Int) -> (line: Int, column: Int, text: String) {
        var line = 1, column = 1
        var k = 0
        while k < index && k < text.count {
            let c = text[k]
            if c == "\n" || (c == "\r" && (k + 1 >= text.count || text[k + 1] != "\n")) {
                line += 1
                column = 1
            } else if c != "\r" {
                column += 1
            }
            k += 1
        }
        return (line, column, "line \(line), column \(column)")
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{A0}", "\u{2028}", "\u{2029}", "\u{FEFF}": return true
        default: return c.value > 127 && c.properties.generalCategory == .spaceSeparator
        }
    }

    private static func isLineBreak(_ c: Unicode.Scalar) -> Bool {
        c == "\n" || c == "\r" || c == "\u{2028}" || c == "\u{2029}"
    }

    private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "$" || c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
            || (c.value > 127 && c.properties.isAlphabetic)
    }

    private static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        if isIdentifierStart(c) || ("0"..."9").contains(c) || c == "\u{200C}" || c == "\u{200D}" { return true }
        guard c.value > 127 else { return false }
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    private static func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func codePoint(_ c: Unicode.Scalar) -> String { "U+" + hex4(c.value) }

    private static func quoted(_ key: String) -> String { ErrorText.quoted(key, limit: 40) }
}
