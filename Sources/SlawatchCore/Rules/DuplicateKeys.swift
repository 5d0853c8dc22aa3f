/// Finds keys written twice in one JSON5 object, which a JSON decoder silently collapses into one
/// (so a second `"calendars"` or a calendar defined twice would otherwise vanish without a word).
///
/// A tolerant scanner: it follows strings, comments and nesting, and gives up quietly on text it
/// cannot follow (the decoder reports syntax errors itself).
enum DuplicateKeys {
    /// `(path, key)` of every repeated key, the path in the loader's notation.
    static func find(in text: String) -> [(path: String, key: String)] {
        enum Container { case object(keys: Set<String>, path: String, pendingKey: String?), array(path: String, index: Int) }
        let chars = Array(text.unicodeScalars)
        var i = 0
        var stack: [Container] = []
        var found: [(String, String)] = []
        var expectingKey = false

        func childPath() -> String {
            guard let top = stack.last else { return "" }
            switch top {
            case .object(_, let path, let key): return path.isEmpty ? (key ?? "") : path + "." + (key ?? "")
            case .array(let path, let index): return "\(path)[\(index)]"
            }
        }
        func readString(_ quote: Unicode.Scalar) -> String? {
            var out = String.UnicodeScalarView()
            i += 1
            while i < chars.count {
                let c = chars[i]
                if c == "\\" { if i + 1 < chars.count { out.append(chars[i + 1]) }; i += 2; continue }
                if c == quote { i += 1; return String(out) }
                out.append(c)
                i += 1
            }
            return nil
        }
        func isIdentifier(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c == "$" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c.value > 127
        }

        while i < chars.count {
            let c = chars[i]
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "/" {
                while i < chars.count && chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "/" && i + 1 < chars.count && chars[i + 1] == "*" {
                i += 2
                while i + 1 < chars.count && !(chars[i] == "*" && chars[i + 1] == "/") { i += 1 }
                i += 2
                continue
            }
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if expectingKey, case .object(var keys, let path, _) = stack.last {
                var key: String?
                if c == "\"" || c == "'" {
                    key = readString(c)
                } else if isIdentifier(c) {
                    var out = String.UnicodeScalarView()
                    while i < chars.count && isIdentifier(chars[i]) { out.append(chars[i]); i += 1 }
                    key = String(out)
                } else if c == "}" {
                    expectingKey = false
                    continue
                } else {
                    return found  // not something this scanner follows
                }
                guard let key else { return found }
                if keys.contains(key) { found.append((path, key)) }
                keys.insert(key)
                stack[stack.count - 1] = .object(keys: keys, path: path, pendingKey: key)
                expectingKey = false
                continue
            }
            switch c {
            case "{":
                stack.append(.object(keys: [], path: childPath(), pendingKey: nil))
                expectingKey = true
                i += 1
            case "[":
                stack.append(.array(path: childPath(), index: 0))
                i += 1
            case "}", "]":
                _ = stack.popLast()
                i += 1
            case ",":
                if case .object = stack.last { expectingKey = true }
                if case .array(let path, let index) = stack.last { stack[stack.count - 1] = .array(path: path, index: index + 1) }
                i += 1
            case "\"", "'":
                if readString(c) == nil { return found }
            default:
                i += 1
            }
        }
        return found
    }
}
