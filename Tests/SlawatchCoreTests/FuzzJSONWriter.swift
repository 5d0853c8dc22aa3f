import SlawatchCore

/// Writes a `JSONValue` back as text in a randomly chosen JSON5 style — quoted or bare names, single
/// or double quotes, trailing commas, comments, CR LF — so that mutated documents still reach the
/// rules reader behind the parser.
struct FuzzJSONWriter {
    private var random: ReferenceRandom
    private var out: [UInt8] = []
    private let bareNames: Bool
    private let singleQuotes: Bool
    private let trailingCommas: Bool
    private let newline: [UInt8]

    private let plain: Bool

    private init(random: ReferenceRandom, plain: Bool = false) {
        var random = random
        bareNames = random.chance(0.3) && !plain
        singleQuotes = random.chance(0.2) && !plain
        trailingCommas = random.chance(0.3) && !plain
        newline = plain ? [] : random.chance(0.2) ? [13, 10] : (random.chance(0.5) ? [10] : [])
        self.random = random
        self.plain = plain
    }

    /// `value` as plain JSON.
    static func plain(_ value: JSONValue) -> [UInt8] {
        var writer = FuzzJSONWriter(random: ReferenceRandom(seed: 0), plain: true)
        writer.value(value)
        return writer.out
    }

    static func write(_ value: JSONValue, _ random: inout ReferenceRandom) -> [UInt8] {
        var writer = FuzzJSONWriter(random: ReferenceRandom(seed: random.next()))
        if writer.random.chance(0.1) { writer.out.append(contentsOf: "// fuzz\n".utf8) }
        writer.value(value)
        return writer.out
    }

    private mutating func value(_ value: JSONValue) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number:
            // JSONValue's own rendering: NaN, Infinity, whole numbers without a fraction.
            out.append(contentsOf: value.shortDescription.utf8)
        case .string(let s): string(s)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 {
                    out.append(UInt8(ascii: ","))
                    out += newline
                }
                self.value(item)
            }
            if trailingCommas && !items.isEmpty { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            out += newline
            var keys = members.keys.sorted()
            if !plain && random.chance(0.3) { random.shuffle(&keys) }
            for (i, key) in keys.enumerated() {
                if i > 0 {
                    out.append(UInt8(ascii: ","))
                    out += newline
                }
                if !plain && random.chance(0.02) { out.append(contentsOf: "/* c */".utf8) }
                if bareNames && Self.isBare(key) { out.append(contentsOf: key.utf8) } else { string(key) }
                out.append(contentsOf: ": ".utf8)
                self.value(members[key]!)
            }
            if trailingCommas && !keys.isEmpty { out.append(UInt8(ascii: ",")) }
            out += newline
            out.append(UInt8(ascii: "}"))
        }
    }

    private mutating func string(_ s: String) {
        let quote = UInt8(ascii: singleQuotes ? "'" : "\"")
        out.append(quote)
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == quote || $0 == 0x5C }) {
            out.append(contentsOf: s.utf8)
            out.append(quote)
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case UInt32(quote), 0x5C: out += [0x5C, UInt8(scalar.value)]
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0..<0x20:
                let hex = String(scalar.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: out.append(contentsOf: String(scalar).utf8)
            }
        }
        out.append(quote)
    }

    private static func isBare(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "$"
        }
    }
}
