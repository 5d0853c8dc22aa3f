import Foundation

/// A JSON document as read from a rules file (by Foundation's `JSONDecoder` with JSON5 allowed),
/// before it is checked against the rules schema.
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Decodes JSON5 text (comments, trailing commas, unquoted keys) with Foundation's decoder,
    /// after `JSON5Parser` has checked it: the check says where a text goes wrong (the decoder's
    /// message has no position), and it keeps from the decoder the texts that make it trap
    /// instead of throwing (invalid UTF-8 in an unquoted member name, found by the fuzz tests).
    public static func decodeJSON5(_ data: Data) throws(JSON5Parser.SyntaxError) -> JSONValue {
        let checked = try JSON5Parser.parse(Array(data))
        // A rules file is an object; anything else is refused by the loader anyway, and a bare
        // number such as -1.7976931348623157e+308 makes the decoder trap (found by the fuzz tests).
        guard case .object = checked else { return checked }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do {
            return try decoder.decode(JSONValue.self, from: data)
        } catch {
            throw JSON5Parser.SyntaxError(line: 1, column: 1, reason: "not accepted by the JSON5 decoder")
        }
    }

    /// How the value reads in an error message: `"cuatro"`, `12`, `an object`.
    public var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n):
            if n.isNaN { return "NaN" }
            if n.isInfinite { return n > 0 ? "Infinity" : "-Infinity" }
            return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return ErrorText.quoted(s)
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
