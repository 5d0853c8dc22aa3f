import SlawatchCore

/// Mints HS256/384/512 tokens, e.g. demo tokens for the API. The header is `{"alg":…,"typ":"JWT"}`; the
/// payload's keys are written sorted, so the same claims always give the same token.
public struct JWTSigner: Sendable {
    public let algorithm: JWTAlgorithm
    private let secret: [UInt8]

    /// The secret must be at least as long as the algorithm's digest (32, 48 or 64 bytes).
    public init(algorithm: JWTAlgorithm = .hs256, secret: [UInt8]) throws(JWTError) {
        guard let needed = algorithm.hmacDigestBytes else {
            throw JWTError(.invalidKey, "JWTSigner signs with HMAC only, not \(algorithm.rawValue)")
        }
        guard secret.count >= needed else {
            throw JWTError(.invalidKey, "\(algorithm.rawValue) needs a secret of at least \(needed) bytes")
        }
        self.algorithm = algorithm
        self.secret = secret
    }

    /// The compact token for these claims.
    public func sign(_ claims: [String: JSONValue]) throws(JWTError) -> String {
        let header = #"{"alg":"\#(algorithm.rawValue)","typ":"JWT"}"#
        let input =
            Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(Self.json(.object(claims)).utf8))
        guard let mac = HMACDigest.compute(algorithm, key: secret, message: Array(input.utf8)) else {
            throw JWTError(.invalidKey, "libcrypto refused to compute \(algorithm.rawValue)")
        }
        return input + "." + Base64URL.encode(mac)
    }

    static func json(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return JSONText.number(number)
        case .string(let text): return JSONText.string(text)
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .object(let members):
            return "{"
                + members.keys.sorted().map { JSONText.string($0) + ":" + json(members[$0]!) }.joined(separator: ",")
                + "}"
        }
    }
}
