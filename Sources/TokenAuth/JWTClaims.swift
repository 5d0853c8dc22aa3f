import SlawatchCore

/// A verified token's header and payload.
public struct JWTClaims: Sendable, Hashable {
    /// The JOSE header, a JSON object.
    public var header: JSONValue
    /// The claims, a JSON object.
    public var payload: JSONValue
    /// The algorithm the token was verified with.
    public var algorithm: JWTAlgorithm

    public init(header: JSONValue, payload: JSONValue, algorithm: JWTAlgorithm) {
        self.header = header
        self.payload = payload
        self.algorithm = algorithm
    }

    /// The payload's value at a dotted path of object keys (`realm_access.roles`); nil when a step is
    /// missing or not an object.
    public func value(at path: String) -> JSONValue? {
        value(at: path.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    /// The payload's value at a path of object keys, for keys that contain dots.
    public func value(at keys: [String]) -> JSONValue? {
        var current = payload
        for key in keys {
            guard case .object(let members) = current, let next = members[key] else { return nil }
            current = next
        }
        return current
    }

    /// The string at a path, if it is one.
    public func string(at path: String) -> String? {
        if case .string(let text) = value(at: path) { return text }
        return nil
    }

    /// The strings of an array at a path (a lone string counts as one); non-strings are skipped.
    public func strings(at path: String) -> [String] {
        switch value(at: path) {
        case .string(let text): return [text]
        case .array(let items):
            return items.compactMap {
                if case .string(let text) = $0 { return text }
                return nil
            }
        default: return []
        }
    }

    /// `sub`, when it is a string.
    public var subject: String? { string(at: "sub") }
}
