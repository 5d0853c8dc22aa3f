/// JSON written by hand, so that fields keep the order the README documents and numbers print as the
/// shortest text that reads back to the same double.
public enum JSONText {
    public static func string(_ s: String) -> String {
        // Most text needs no escape: one scan of its bytes, then one concatenation. The scan runs over the
        // contiguous UTF-8 (a native string's own storage): through the UTF8View it costs several times more.
        var text = s
        let plain = text.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            return true
        }
        if plain {
            var out = "\""
            out.reserveCapacity(text.utf8.count + 2)
            out += text
            out += "\""
            return out
        }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    public static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    public static func optional(_ s: String?) -> String { s.map(string) ?? "null" }

    /// `string(s)` appended as UTF-8.
    public static func append(string s: String, to out: inout [UInt8]) {
        var text = s
        let plain = text.withUTF8 { bytes in
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                return false
            }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if !plain { out.append(contentsOf: string(s).utf8) }
    }

    /// `optional(s)` appended as UTF-8.
    public static func append(optional s: String?, to out: inout [UInt8]) {
        if let s { append(string: s, to: &out) } else { out.append(contentsOf: "null".utf8) }
    }

    /// `number(d)` appended as UTF-8.
    public static func append(number d: Double, to out: inout [UInt8]) { out.append(contentsOf: number(d).utf8) }

    /// A key of an object and what follows it, `"key": `, appended as UTF-8.
    public static func append(key: String, to out: inout [UInt8]) {
        append(string: key, to: &out)
        out.append(UInt8(ascii: ":"))
        out.append(UInt8(ascii: " "))
    }

    /// An object from ordered key/value pairs whose values are already JSON.
    public static func object(_ fields: [(String, String)]) -> String {
        // One string grown in place: the dashboard writes a million of these.
        var out = "{"
        out.reserveCapacity(fields.reduce(2) { $0 + $1.0.utf8.count + $1.1.utf8.count + 6 })
        for (index, field) in fields.enumerated() {
            if index > 0 { out += ", " }
            out += string(field.0)
            out += ": "
            out += field.1
        }
        out += "}"
        return out
    }
}
