import Foundation

/// A condition on tickets in the grammar of the help desk's ticket list API: groups
/// (`{"op": "AND"|"OR", "operand": [...]}`) of conditions (`{"column", "op", "operand"}`).
///
/// Evaluated in memory against a `FilterSubject`; a value is never turned into SQL text.
/// Comparisons are typed by the column: numbers numerically, timestamps as instants (operands in
/// ISO 8601), booleans, and text by Unicode code points. A NULL column matches only `EQ null` and
/// `IN [..., null]`; every other comparison with NULL is false, as in SQL.
public indirect enum Filter: Sendable, Hashable {
    case group(GroupOperator, [Filter])
    case condition(Condition)

    public enum GroupOperator: String, Sendable, Hashable, CaseIterable { case AND, OR }

    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case EQ, NE, GT, GE, LT, LE, LIKE, IN
    }

    public struct Condition: Sendable, Hashable {
        public var id: String?
        public var column: String
        public var op: Operator
        public var operand: FilterOperand
        public init(id: String? = nil, column: String, op: Operator, operand: FilterOperand) {
            self.id = id
            self.column = column
            self.op = op
            self.operand = operand
        }
    }

    /// The message for an operator the grammar does not know (README, "Rules"), word for word.
    public static func unsupportedOperatorMessage(_ op: String) -> String {
        "The operator '\(op)' is not supported. Supported operators: "
            + Operator.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// Every column the filter mentions.
    public var columns: Set<String> {
        switch self {
        case .condition(let c): return [c.column]
        case .group(_, let items): return items.reduce(into: Set<String>()) { $0.formUnion($1.columns) }
        }
    }

    /// Every condition whose operand does not fit its column's type, with the condition's place in
    /// the filter in the rules' path notation (`operand[1].operand`), relative to the filter itself.
    /// Columns whose type `types` does not know are not checked.
    public func typeMismatches(_ types: (String) -> ColumnType?) -> [(path: String, message: String)] {
        switch self {
        case .condition(let c):
            guard let type = types(c.column), let mismatch = c.typeMismatch(type) else { return [] }
            return [mismatch]
        case .group(_, let items):
            return items.enumerated().flatMap { i, item in
                item.typeMismatches(types).map { ("operand[\(i)]." + $0.path, $0.message) }
            }
        }
    }

    public func matches(_ subject: some FilterSubject) -> Bool {
        switch self {
        case .group(.AND, let items): return items.allSatisfy { $0.matches(subject) }
        case .group(.OR, let items): return items.contains { $0.matches(subject) }
        case .condition(let c): return c.matches(subject.value(of: c.column) ?? .null)
        }
    }
}

/// A condition's operand as written in JSON.
public enum FilterOperand: Sendable, Hashable {
    case null
    case text(String)
    case number(Double)
    case bool(Bool)
    case list([FilterOperand])

    /// How the operand reads in an error message: `"abc"`, `12`, `true`, `an array`.
    public var shortDescription: String {
        switch self {
        case .null: return "null"
        case .text(let s): return JSONValue.string(s).shortDescription
        case .number(let n): return JSONValue.number(n).shortDescription
        case .bool(let b): return String(b)
        case .list: return "an array"
        }
    }
}

extension Filter.Condition {
    /// Why this condition's operand cannot be compared with a column of `type`, and where (`operand`
    /// or `operand[i]`); nil when it can.
    public func typeMismatch(_ type: ColumnType) -> (path: String, message: String)? {
        if op == .LIKE {
            guard type == .text || type == .uuid else {
                return ("op", "column \(column) is \(type.rawValue), and LIKE applies to text columns only")
            }
            return nil
        }
        func message(_ found: FilterOperand) -> String {
            "column \(column) is \(type.rawValue): expected \(type.expectation), found \(found.shortDescription)"
        }
        if case .list(let items) = operand {
            for (i, item) in items.enumerated() where !type.fits(item) { return ("operand[\(i)]", message(item)) }
            return nil
        }
        return type.fits(operand) ? nil : ("operand", message(operand))
    }

    func matches(_ value: FieldValue) -> Bool {
        switch op {
        case .IN:
            guard case .list(let items) = operand else { return false }
            return items.contains { Self.equal(value, $0) }
        case .EQ:
            return Self.equal(value, operand)
        case .NE:
            if case .null = value { return false }
            if case .null = operand { return true }
            guard let order = Self.compare(value, operand) else { return false }
            return order != 0
        case .LIKE:
            guard case .text(let text) = value, case .text(let pattern) = operand else { return false }
            return LikePattern(pattern).matches(text)
        case .GT, .GE, .LT, .LE:
            guard let order = Self.compare(value, operand) else { return false }
            switch op {
            case .GT: return order > 0
            case .GE: return order >= 0
            case .LT: return order < 0
            default: return order <= 0
            }
        }
    }

    static func equal(_ value: FieldValue, _ operand: FilterOperand) -> Bool {
        if case .null = value { if case .null = operand { return true } else { return false } }
        return compare(value, operand) == 0
    }

    /// -1, 0, 1 comparing the column value with the operand, typed by the column; nil when they
    /// cannot be compared (NULL, or an operand of another type).
    static func compare(_ value: FieldValue, _ operand: FilterOperand) -> Int? {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
        switch (value, operand) {
        case (.null, _), (_, .null), (_, .list): return nil
        case (.number(let a), .number(let b)): return order(a, b)
        case (.number(let a), .text(let s)): return decimal(s).map { order(a, $0) }
        case (.instant(let a), .text(let s)): return Instant(iso8601: s).map { order(a, $0) }
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.bool(let a), .text(let s)):
            guard let b = Bool(s.lowercased()) else { return nil }
            return a == b ? 0 : (a ? 1 : -1)
        case (.text(let a), .text(let b)):
            if a == b { return 0 }
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        case (.text(let a), .number(let b)): return decimal(a).map { order($0, b) }
        case (.text(let a), .bool(let b)): return Bool(a.lowercased()).map { $0 == b ? 0 : 1 }
        default: return nil
        }
    }

    /// Text read as a number: decimal digits with an optional sign, point and exponent, nothing
    /// around them, within a double's range (not `Double(_:)`'s `nan`, `inf` or hexadecimal). The
    /// dashboard function reads text the same way.
    static func decimal(_ text: String) -> Double? {
        let b = Array(text.utf8)
        var i = 0
        var digits = 0
        var nonzero = false
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        func mantissaDigits() {
            while i < b.count, isDigit(b[i]) {
                if b[i] != UInt8(ascii: "0") { nonzero = true }
                digits += 1
                i += 1
            }
        }
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        mantissaDigits()
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            mantissaDigits()
        }
        guard digits > 0 else { return nil }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return nil }
        }
        // Out of range either way: overflowing to infinity, or a nonzero number rounding to zero.
        guard i == b.count, let value = Double(text), value.isFinite, value != 0 || !nonzero else { return nil }
        return value
    }
}
