/// Walks JSON5 — JSON plus comments, trailing commas, single-quoted strings, unquoted member names,
/// hexadecimal numbers, `Infinity` and `NaN` — to say where text goes wrong (the line and column,
/// and what was expected there) and which member names an object gives twice. The rules are read
/// by Foundation's `JSONDecoder` (`JSONValue.decodeJSON5`); this parser only locates what the
/// decoder refuses and finds the repeated names the decoder would silently drop.
///
/// Bounded: nesting deeper than `maximumDepth` is an error rather than a deep recursion, and the
/// work is linear in the length of the text. Strings may not hold raw control characters (line
/// breaks, NUL, tabs): they are written as escapes. Invalid UTF-8 is an error at its position.
/// A member name given twice in one object keeps its last value and is listed in the document's
/// `repeatedNames` (a decoder would silently keep one of the two).
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

    /// A member name given twice in one object: the object's path in the rules' notation
    /// (`calendars`, `policies[0].targets`; empty for the top) and the name.
    public struct RepeatedName: Sendable, Hashable {
        public let path: String
        public let name: String
    }

    /// A parsed text: its value and the member names it repeats, in the order they appear.
    public struct Document: Sendable, Hashable {
        public let value: JSONValue
        public let repeatedNames: [RepeatedName]
    }

    /// Arrays and objects nested deeper than this are refused; rules need a handful of levels.
    public static let maximumDepth = 128

    /// The value of the whole text.
    public static func parse(_ bytes: some Collection<UInt8>) throws(SyntaxError) -> JSONValue {
        try document(bytes).value
    }

    /// The value of a string's UTF-8.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue { try parse(Array(text.utf8)) }

    /// The value of the whole text and the member names it repeats.
    public static func document(_ bytes: some Collection<UInt8>) throws(SyntaxError) -> Document {
        var parser = try JSON5Parser(bytes: Array(bytes))
        let value = try parser.value(depth: 0)
        try parser.skipSpace()
        if parser.i < parser.b.count {
            throw parser.fail("expected the end of the text after the value, found \(parser.found)")
        }
        return Document(value: value, repeatedNames: parser.repeated)
    }

    /// A step of the path to the value being read.
    private enum Step {
        case name(String)
        case index(Int)
    }

    /// The text, valid UTF-8. Work is done on bytes: everything but strings and names is ASCII.
    private let b: [UInt8]
    private var i = 0
    private var path: [Step] = []
    private var repeated: [RepeatedName] = []

    private init(bytes: [UInt8]) throws(SyntaxError) {
        b = bytes
        // The standard library's validation is fast; the position is looked for only when it fails.
        guard String(validating: bytes, as: UTF8.self) == nil else { return }
        var decoder = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return
            case .error:
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                throw fail(
                    at: offset, "invalid UTF-8 (byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(offset))")
            }
        }
    }

    // MARK: - Values

    private mutating func value(depth: Int) throws(SyntaxError) -> JSONValue {
        try skipSpace()
        guard i < b.count else { throw fail("expected a value, found the end of the text") }
        switch b[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maximumDepth else {
                throw fail("arrays and objects nested deeper than \(Self.maximumDepth) levels")
            }
            return b[i] == UInt8(ascii: "{") ? try object(depth: depth + 1) : try array(depth: depth + 1)
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return .string(try string())
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            if take("true") { return .bool(true) }
            if take("false") { return .bool(false) }
            if take("null") { return .null }
            throw fail("expected a value, found \(found)")
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "I"), UInt8(ascii: "N"):
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
            guard i < b.count else { throw fail("expected a member name or '}', found the end of the text") }
            if b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            let key: String
            if b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
                key = try string()
            } else if let first = scalar(at: i), Self.isIdentifierStart(first.scalar) {
                let start = i
                i += first.length
                while let next = scalar(at: i), Self.isIdentifierPart(next.scalar) { i += next.length }
                key = String(decoding: b[start..<i], as: UTF8.self)
            } else {
                throw fail("expected a member name or '}', found \(found)")
            }
            try skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else {
                throw fail("expected ':' after the member name \(ErrorText.quoted(key, limit: 40)), found \(found)")
            }
            i += 1
            path.append(.name(key))
            let value = try self.value(depth: depth)
            path.removeLast()
            if members.updateValue(value, forKey: key) != nil {
                repeated.append(RepeatedName(path: pathText, name: key))
            }
            try skipSpace()
            let after = "after the value of \(ErrorText.quoted(key, limit: 40))"
            guard i < b.count else { throw fail("expected ',' or '}' \(after), found the end of the text") }
            switch b[i] {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"):
                i += 1
                return .object(members)
            default:
                throw fail("expected ',' or '}' \(after), found \(found)")
            }
        }
    }

    private mutating func array(depth: Int) throws(SyntaxError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        while true {
            try skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            path.append(.index(items.count))
            items.append(try value(depth: depth))
            path.removeLast()
            try skipSpace()
            guard i < b.count else {
                throw fail("expected ',' or ']' after an array element, found the end of the text")
            }
            switch b[i] {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"):
                i += 1
                return .array(items)
            default: throw fail("expected ',' or ']' after an array element, found \(found)")
            }
        }
    }

    private mutating func string() throws(SyntaxError) -> String {
        let quote = b[i]
        let start = i
        i += 1
        var out: [UInt8] = []
        var run = i
        while true {
            guard i < b.count else {
                throw fail("the text ends inside the string that starts at \(position(start).text)")
            }
            let c = b[i]
            if c == quote {
                defer { i += 1 }
                // Most strings have no escape: their bytes are the string.
                if run == start + 1 { return String(decoding: b[run..<i], as: UTF8.self) }
                out.append(contentsOf: b[run..<i])
                return String(decoding: out, as: UTF8.self)
            }
            if c == 0x0A || c == 0x0D {
                throw fail(
                    "a line break inside a string; write it as \\n (or end the line with \\ to continue the string)")
            }
            if c < 0x20 || c == 0x7F {
                let escape = "\\u" + Self.hex4(UInt32(c))
                throw fail("control character \(Self.codePoint(UInt32(c))) inside a string; write it as \(escape)")
            }
            guard c == UInt8(ascii: "\\") else {
                i += 1
                continue
            }
            out.append(contentsOf: b[run..<i])
            i += 1
            guard i < b.count else { throw fail("the text ends inside an escape sequence") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "0"):
                if i < b.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                    i -= 1
                    throw fail("\\0 followed by a digit is not a valid escape")
                }
                out.append(0)
            case UInt8(ascii: "1")...UInt8(ascii: "9"):
                i -= 1
                throw fail("\\\(Character(Unicode.Scalar(e))) is not a valid escape")
            case UInt8(ascii: "x"):
                out.append(contentsOf: String(Unicode.Scalar(UInt8(try hexValue(digits: 2)))).utf8)
            case UInt8(ascii: "u"):
                out.append(contentsOf: String(try unicodeEscape()).utf8)
            case 0x0A:
                break  // a line continuation
            case 0x0D:
                if i < b.count && b[i] == 0x0A { i += 1 }
            case 0xE2 where i + 1 < b.count && b[i] == 0x80 && (b[i + 1] == 0xA8 || b[i + 1] == 0xA9):
                i += 2  // a line continuation at U+2028 or U+2029
            default:
                // Any other character stands for itself, all of its bytes.
                let length = scalar(at: i - 1)?.length ?? 1
                out.append(contentsOf: b[(i - 1)..<(i - 1 + length)])
                i += length - 1
            }
            run = i
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
        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
            throw fail(at: start, "\\u\(Self.hex4(first)) is the first half of a surrogate pair without a second half")
        }
        i += 2
        let second = try hexValue(digits: 4)
        guard (0xDC00...0xDFFF).contains(second) else {
            throw fail(at: start, "\\u\(Self.hex4(first)) is the first half of a surrogate pair without a second half")
        }
        return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
    }

    private mutating func hexValue(digits: Int) throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard i < b.count, let d = Self.hexDigit(b[i]) else {
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
        if b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        if take("Infinity") { return negative ? -.infinity : .infinity }
        if take("NaN") { return .nan }
        if i + 1 < b.count, b[i] == UInt8(ascii: "0"), b[i + 1] == UInt8(ascii: "x") || b[i + 1] == UInt8(ascii: "X") {
            i += 2
            var value = 0.0
            var any = false
            while i < b.count, let d = Self.hexDigit(b[i]) {
                value = value * 16 + Double(d)
                i += 1
                any = true
            }
            guard any else { throw fail("expected hexadecimal digits after 0x, found \(found)") }
            guard value.isFinite else { throw fail(at: start, "the number is too large") }
            return negative ? -value : value
        }
        let integer = digits()
        if integer.count > 1 && b[integer.lowerBound] == UInt8(ascii: "0") {
            throw fail(at: integer.lowerBound, "a number may not start with 0 followed by more digits")
        }
        var fraction = i..<i
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            fraction = digits()
        }
        guard !integer.isEmpty || !fraction.isEmpty else {
            throw fail(at: start, "expected a value, found \(found(at: start))")
        }
        var exponent = ""
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) {
                exponent = b[i] == UInt8(ascii: "-") ? "-" : ""
                i += 1
            }
            let power = digits()
            guard !power.isEmpty else { throw fail("expected the digits of an exponent, found \(found)") }
            exponent = "e" + exponent + String(decoding: b[power], as: UTF8.self)
        }
        let literal =
            (integer.isEmpty ? "0" : String(decoding: b[integer], as: UTF8.self))
            + (fraction.isEmpty ? "" : "." + String(decoding: b[fraction], as: UTF8.self)) + exponent
        guard let value = Double(literal), value.isFinite else {
            throw fail(at: start, "the number is too large")
        }
        return negative ? -value : value
    }

    /// The run of decimal digits at `i`, consumed.
    private mutating func digits() -> Range<Int> {
        let start = i
        while i < b.count && b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9") { i += 1 }
        return start..<i
    }

    // MARK: - Space and comments

    private mutating func skipSpace() throws(SyntaxError) {
        while i < b.count {
            let c = b[i]
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                i += 1
            case UInt8(ascii: "/"):
                guard i + 1 < b.count else { return }
                if b[i + 1] == UInt8(ascii: "/") {
                    while let next = scalar(at: i), !Self.isLineBreak(next.scalar) { i += next.length }
                } else if b[i + 1] == UInt8(ascii: "*") {
                    let start = i
                    i += 2
                    while i < b.count
                        && !(b[i] == UInt8(ascii: "*") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "/"))
                    { i += 1 }
                    guard i < b.count else {
                        throw fail("the comment that starts at \(position(start).text) is never closed with */")
                    }
                    i += 2
                } else {
                    return
                }
            case 0x80...:
                guard let next = scalar(at: i), Self.isSpace(next.scalar) else { return }
                i += next.length
            default:
                return
            }
        }
    }

    // MARK: - Reading helpers

    /// The scalar starting at byte `index` and its length in bytes; nil at the end.
    private func scalar(at index: Int) -> (scalar: Unicode.Scalar, length: Int)? {
        guard index < b.count else { return nil }
        let lead = UInt32(b[index])
        func continuation(_ k: Int) -> UInt32 { index + k < b.count ? UInt32(b[index + k]) & 0x3F : 0 }
        let value: UInt32
        let length: Int
        switch lead {
        case 0..<0x80: return (Unicode.Scalar(UInt8(lead)), 1)
        case 0xC0..<0xE0:
            value = (lead & 0x1F) << 6 | continuation(1)
            length = 2
        case 0xE0..<0xF0:
            value = (lead & 0x0F) << 12 | continuation(1) << 6 | continuation(2)
            length = 3
        default:
            value = (lead & 0x07) << 18 | continuation(1) << 12 | continuation(2) << 6 | continuation(3)
            length = 4
        }
        // The text was validated: every sequence is complete and a scalar.
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    /// Consumes `word` (ASCII) when the text continues with it.
    private mutating func take(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= b.count else { return false }
        for k in 0..<count where b[i + k] != word.utf8Start[k] { return false }
        i += count
        return true
    }

    /// The path of the value being read, in the rules' notation.
    private var pathText: String {
        var text = ""
        for step in path {
            switch step {
            case .name(let name): text = Self.memberPath(text, name)
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// The path of member `name` of the object at `path`, in the rules' notation: `path.name`, or
    /// `name` at the top; an empty name shows as `""`, so that a path is never empty or ends in a dot.
    public static func memberPath(_ path: String, _ name: String) -> String {
        let shown = name.isEmpty ? "\"\"" : name
        return path.isEmpty ? shown : path + "." + shown
    }

    /// What is at the current position, for a message: `'x'`, `U+0000`, `the end of the text`.
    private var found: String { found(at: i) }

    private func found(at index: Int) -> String {
        guard let (c, _) = scalar(at: index) else { return "the end of the text" }
        if c == " " { return "' '" }
        switch c.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return Self.codePoint(c.value)
        default:
            return "'\(Character(c))'"
        }
    }

    private func fail(_ reason: String) -> SyntaxError { fail(at: i, reason) }

    private func fail(at index: Int, _ reason: String) -> SyntaxError {
        let p = position(index)
        return SyntaxError(line: p.line, column: p.column, reason: reason)
    }

    /// The line and column of the byte at `index`; columns count scalars, not bytes.
    private func position(_ index: Int) -> (line: Int, column: Int, text: String) {
        var line = 1
        var column = 1
        var k = 0
        while k < index && k < b.count {
            let c = b[k]
            if c == 0x0A || (c == 0x0D && (k + 1 >= b.count || b[k + 1] != 0x0A)) {
                line += 1
                column = 1
            } else if c != 0x0D && (c & 0xC0) != 0x80 {
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

    private static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c) - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c) - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c) - 55
        default: return nil
        }
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func codePoint(_ value: UInt32) -> String { "U+" + hex4(value) }
}
