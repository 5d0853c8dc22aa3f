import SlawatchCore

/// The inputs the fuzz tests try: valid examples mutated — truncated, cut, spliced, with bytes and
/// tokens inserted (NUL, CR/LF, invalid UTF-8, quotes, brackets, huge numbers), and, for JSON, with
/// values of the wrong type, huge numbers, deep nesting and unknown keys put into the document's tree.
enum FuzzMutator {
    /// Inputs are cut to this many bytes: enough for every rule, small enough to stay fast.
    static let maximumLength = 64 * 1024

    /// Bytes and tokens worth inserting anywhere.
    static let tokens: [[UInt8]] =
        [
            [0], [0x0A], [0x0D], [0x0D, 0x0A], [0x09], [0x0B], [0x0C], [0x7F],
            [0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xEF, 0xBB, 0xBF],
        ]
        + [
            "\"", "'", "{", "}", "[", "]", ",", ":", "//", "/*", "*/", "\\", "\\u", "\\ud800", "\\x", "\\0", "${",
            "${X}",
            "${SMTP_PASSWORD}", "1e400", "-1e308", "1e308", "99999999999999999999", "9223372036854775808", "NaN",
            "Infinity",
            "-Infinity", "0x", "0xFFFFFFFFFFFFFFFFFF", "null", "true", "-0", ".", "-", "+", "*", "/", "%", "_", " ",
            "é", "😀",
            "\u{2028}", "\u{FEFF}", "\u{200B}", "٣", "½", "e", "E", "0", "00", "-1", "24:00", "::", "--", "ms",
        ].map { Array($0.utf8) }

    /// Applies one to `count` byte-level mutations to `input`.
    static func mutateBytes(_ input: [UInt8], count: Int, _ random: inout ReferenceRandom, corpus: [[UInt8]]) -> [UInt8]
    {
        var bytes = input
        for _ in 0..<random.int(1...max(1, count)) {
            let position = random.int(0...bytes.count)
            switch random.int(0...8) {
            case 0:  // truncate
                bytes = Array(bytes.prefix(position))
            case 1:  // cut a range out
                let end = min(bytes.count, position + random.int(1...16))
                if position < end { bytes.removeSubrange(position..<end) }
            case 2, 3:  // insert a token
                bytes.insert(contentsOf: random.pick(tokens), at: position)
            case 4:  // replace a byte by any byte
                if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
            case 5:  // repeat a range
                let end = min(bytes.count, position + random.int(1...32))
                if position < end {
                    let slice = Array(bytes[position..<end])
                    for _ in 0..<random.int(1...(random.chance(0.1) ? 200 : 3)) {
                        bytes.insert(contentsOf: slice, at: position)
                    }
                }
            case 6:  // splice: this input's start, another's end
                let other = random.pick(corpus)
                bytes = Array(bytes.prefix(position)) + Array(other.suffix(random.int(0...other.count)))
            case 7:  // a run of one character
                let byte = random.pick(Array("[{(\"'\\ 9a,/*".utf8))
                bytes.insert(contentsOf: [UInt8](repeating: byte, count: random.int(1...300)), at: position)
            default:  // swap two bytes
                if bytes.count >= 2 {
                    let other = random.int(0...(bytes.count - 1))
                    bytes.swapAt(min(position, bytes.count - 1), other)
                }
            }
        }
        return Array(bytes.prefix(maximumLength))
    }

    // MARK: - JSON trees

    static let strings: [String] = [
        "", " ", "\u{0}", "a\nb", "\r\n", "\t", "ALTA", "CRITICA", "MEDIA", "24x7", "oficina", "consola", "correo",
        "chat",
        "America/Bogota", "UTC", "Etc/GMT+5", "/", "../../etc/passwd", "Mars/Olympus", "America/", "08:00-12:00",
        "24:00-25:00", "00:00-24:00", "12:00-08:00", "8:00-9:00", "2026-02-30", "2026-12-25", "0000-00-00",
        "9999-99-99",
        "1h", "0s", "-1h", "99999999999d", "1e400s", "1.5.5h", "0 8 * * *", "*/0 * * * *", "60 * * * *", "* * * *",
        "0 0 31 2 *", "EQ", "NE", "GT", "IN", "LIKE", "AND", "OR", "XOR", "eq", "created_at", "updated_at",
        "sla_status",
        "vencido", "horas_restantes", "sla_horas", "due_at", "ticket_id", "priority", "reopen_count", "a b", "%", "\\",
        "_", "${SMTP_PASSWORD}", "${NOPE}", "${", "}", "${}", "smtp://127.0.0.1:25", "smtps://x:465",
        "smtp://example.com",
        "http://", "https://x", "ftp://x", "whsec_", "es", "en", "fr", "none", "required", "opportunistic",
        "sla.breached",
        "sla.warning", "sla.nothing", "x@y.z", "{{requester_email}}", "{{area_manager_email}}", "<a@b.c>", "a@b",
        String(repeating: "a", count: 5_000), "é", "😀", "\u{FEFF}", "\u{2028}", "1e5", "NaN", "true", "null",
        "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001", "2026-03-24T10:30:00Z", "2026-03-24", "yesterday",
        "9999-12-31T23:59:59Z",
        "always", "business_hours", "email", "slack", "teams", "googlechat", "discord", "webhook", "log", "public.t",
        "a.b.c", "1abc", "mon", "sun", "xyz",
    ]

    static let numbers: [Double] = [
        0, -0.0, 1, -1, 0.5, 8, 24.5, 50, 100, 100.000001, 101, 1e6, 1_000_001, 1e15, 1e19, 9.3e18, 1e300, -1e300,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .nan, .infinity, -.infinity,
        4_294_967_296, 2_147_483_648, 1e-300, 0.0001,
    ]

    /// A random replacement for a node: a value of any type, often of the wrong one.
    static func randomValue(_ random: inout ReferenceRandom, trees: [JSONValue]) -> JSONValue {
        switch random.int(0...9) {
        case 0: return .null
        case 1: return .bool(random.chance(0.5))
        case 2, 3: return .number(random.pick(numbers))
        case 4, 5: return .string(random.pick(strings))
        case 6: return .array(random.chance(0.5) ? [] : [.string(random.pick(strings)), .number(random.pick(numbers))])
        case 7: return .object(random.chance(0.5) ? [:] : [random.pick(strings): .string(random.pick(strings))])
        default:
            // A subtree of some document: the right shape in the wrong place.
            let tree = random.pick(trees)
            let count = nodeCount(tree)
            var n = random.int(0...(count - 1))
            return subtree(tree, &n) ?? tree
        }
    }

    /// `tree` with one node changed: replaced, nested deep, or (in an object or array) a member
    /// removed, added or repeated.
    static func mutateTree(_ tree: JSONValue, _ random: inout ReferenceRandom, trees: [JSONValue]) -> JSONValue {
        var n = random.int(0...(nodeCount(tree) - 1))
        return replacing(tree, &n) { node in
            switch random.int(0...11) {
            case 0, 1, 2: return randomValue(&random, trees: trees)
            case 3:  // deep nesting, sometimes beyond the reader's limit
                var value = node
                for _ in 0..<random.int(1...(random.chance(0.5) ? 70 : 140)) {
                    value = random.chance(0.5) ? .array([value]) : .object(["a": value])
                }
                return value
            case 4:  // a filter group nested deep
                var value = node
                for _ in 0..<random.int(1...70) {
                    value = .object(["op": .string(random.chance(0.5) ? "AND" : "OR"), "operand": .array([value])])
                }
                return value
            case 5:
                guard case .object(var members) = node, let key = members.keys.sorted().randomElement(using: &random)
                else { return node }
                members[key] = nil
                return .object(members)
            case 6:
                guard case .object(var members) = node else { return node }
                members[random.pick(strings)] = randomValue(&random, trees: trees)
                return .object(members)
            case 7:
                guard case .array(var items) = node, !items.isEmpty else { return node }
                let item = random.pick(items)
                for _ in 0..<random.int(1...(random.chance(0.1) ? 500 : 3)) { items.append(item) }
                return .array(items)
            case 8:
                guard case .array(var items) = node, !items.isEmpty else { return node }
                items.remove(at: random.int(0...(items.count - 1)))
                return .array(items)
            case 9:
                guard case .string(let s) = node else { return randomValue(&random, trees: trees) }
                let mutated = mutateBytes(Array(s.utf8), count: 2, &random, corpus: [Array(random.pick(strings).utf8)])
                return .string(String(decoding: mutated, as: UTF8.self))
            case 10:
                guard case .number = node else { return .number(random.pick(numbers)) }
                return .number(random.pick(numbers))
            default:
                return .string(random.pick(strings))
            }
        }
    }

    static func nodeCount(_ tree: JSONValue) -> Int {
        switch tree {
        case .array(let items): return 1 + items.reduce(0) { $0 + nodeCount($1) }
        case .object(let members): return 1 + members.values.reduce(0) { $0 + nodeCount($1) }
        default: return 1
        }
    }

    /// Node number `n` in pre-order (keys sorted).
    private static func subtree(_ tree: JSONValue, _ n: inout Int) -> JSONValue? {
        if n == 0 { return tree }
        n -= 1
        switch tree {
        case .array(let items):
            for item in items { if let found = subtree(item, &n) { return found } }
        case .object(let members):
            for key in members.keys.sorted() { if let found = subtree(members[key]!, &n) { return found } }
        default: break
        }
        return nil
    }

    /// `tree` with node number `n` (pre-order, keys sorted) replaced by `change(node)`.
    private static func replacing(_ tree: JSONValue, _ n: inout Int, _ change: (JSONValue) -> JSONValue) -> JSONValue {
        if n == 0 {
            n = -1
            return change(tree)
        }
        guard n > 0 else { return tree }
        n -= 1
        switch tree {
        case .array(let items):
            return .array(items.map { replacing($0, &n, change) })
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for key in members.keys.sorted() { out[key] = replacing(members[key]!, &n, change) }
            return .object(out)
        default:
            return tree
        }
    }

    /// A JSON input: a corpus document with its tree mutated one to three times, written back in
    /// some JSON5 style, and sometimes mutated as bytes too; or a corpus document mutated as bytes.
    static func json(_ random: inout ReferenceRandom, corpus: [[UInt8]], trees: [JSONValue]) -> [UInt8] {
        if random.chance(0.25) {
            return mutateBytes(random.pick(corpus), count: 4, &random, corpus: corpus)
        }
        var tree = random.pick(trees)
        for _ in 0..<random.int(1...3) { tree = mutateTree(tree, &random, trees: trees) }
        let text = FuzzJSONWriter.write(tree, &random)
        return random.chance(0.3)
            ? mutateBytes(text, count: 2, &random, corpus: corpus) : Array(text.prefix(maximumLength))
    }
}

extension Collection {
    fileprivate func randomElement(using random: inout ReferenceRandom) -> Element? {
        guard !isEmpty else { return nil }
        return self[index(startIndex, offsetBy: random.int(0...(count - 1)))]
    }
}
