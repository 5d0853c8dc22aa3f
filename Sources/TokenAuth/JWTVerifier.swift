import CCrypto
import Glibc
import SlawatchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Verifies compact JWS tokens (RFC 7515/7519) against one key and returns their claims.
///
/// A token is accepted only when every check passes, in this order:
/// - at most `maxTokenBytes`, exactly three parts separated by dots, each canonical unpadded base64url
///   (no other character, whitespace or NUL anywhere);
/// - the header is a JSON object (nested at most 16 deep) with a string `alg` that the key allows
///   (`none` never is), an optional `typ` of `JWT` or `at+jwt`, and no `crit`;
/// - the signature, checked with libcrypto: HMAC compared in constant time (`CRYPTO_memcmp`), RSA
///   PKCS#1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256 whose 64-byte `R||S` is converted to DER;
/// - the payload is a JSON object with a numeric `exp` in the future and, when present, a numeric `nbf`
///   in the past, both with `leeway`; `iss` and `aud` (a string or an array of strings) equal the
///   configured ones when those are set.
public struct JWTVerifier: Sendable {
    public struct Configuration: Sendable {
        public var key: JWTKey
        public var issuer: String?
        public var audience: String?
        /// Clock skew tolerated on `exp` and `nbf`.
        public var leeway: Duration
        public var maxTokenBytes: Int
        /// The current time; injected so that tests and `--now` can fix it.
        public var now: @Sendable () -> Instant

        public init(
            key: JWTKey, issuer: String? = nil, audience: String? = nil, leeway: Duration = .seconds(30),
            maxTokenBytes: Int = 16 * 1024, now: @escaping @Sendable () -> Instant = JWTVerifier.systemNow
        ) {
            self.key = key
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.maxTokenBytes = maxTokenBytes
            self.now = now
        }
    }

    /// Nesting allowed in a header or payload; real tokens use two or three levels.
    static let maxNesting = 16

    public let configuration: Configuration
    /// Tokens accepted before; nil when the verifier remembers none.
    private let verified: VerifiedTokens?

    /// `rememberedTokens`: how many accepted tokens to remember (by a digest of their bytes, until they
    /// expire), so that one presented again is not decoded and its signature not computed again; its
    /// `exp` and `nbf` are checked against ``Configuration/now`` every time, so the answer is the one a
    /// full verification gives. 0 remembers none.
    public init(configuration: Configuration, rememberedTokens: Int = 0) {
        self.configuration = configuration
        verified = rememberedTokens > 0 ? VerifiedTokens(capacity: rememberedTokens) : nil
    }

    /// The instants between which a token's claims are valid: its `exp` and its `nbf` when it has one
    /// (microseconds since the epoch), before the leeway.
    struct ValidityWindow: Sendable, Hashable {
        var expiresAt: Int64
        var notBefore: Int64?
    }

    /// Tokens remembered right now (tests).
    var rememberedCount: Int { verified?.count ?? 0 }

    /// The system's real-time clock.
    @Sendable public static func systemNow() -> Instant {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Instant(microseconds: Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000)
    }

    public func verify(_ token: String) throws(JWTError) -> JWTClaims {
        guard let verified, token.utf8.count <= configuration.maxTokenBytes,
            let digest = VerifiedTokens.Digest(token.utf8)
        else { return try verifyFully(token).claims }
        if let entry = verified.entry(digest) {
            // The bytes were verified with this configuration: only the time can have changed the answer.
            if Self.isCurrent(entry.window, now: configuration.now().microseconds, leeway: leewayMicroseconds) {
                return entry.claims
            }
            verified.forget(digest)
        }
        let (claims, window) = try verifyFully(token)
        verified.remember(
            digest, VerifiedTokens.Entry(claims: claims, window: window), now: configuration.now().microseconds)
        return claims
    }

    /// Every check, in the order the type's documentation gives.
    private func verifyFully(_ token: String) throws(JWTError) -> (claims: JWTClaims, window: ValidityWindow) {
        let utf8 = token.utf8
        guard utf8.count <= configuration.maxTokenBytes else {
            throw JWTError(.malformed, "the token is longer than \(configuration.maxTokenBytes) bytes")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw JWTError(.malformed, "the token has \(parts.count) parts separated by dots, not 3")
        }
        guard let headerBytes = Base64URL.decode(parts[0].utf8), let payloadBytes = Base64URL.decode(parts[1].utf8),
            let signature = Base64URL.decode(parts[2].utf8)
        else {
            throw JWTError(.malformed, "a part of the token is not unpadded base64url")
        }
        let header = try Self.jsonObject(headerBytes, "header")
        let algorithm = try checkHeader(header)
        // Exactly the bytes received: the signature covers the encoded parts, not their decoding.
        let signingInput = Array(utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard verifySignature(signature, of: signingInput, algorithm: algorithm) else {
            throw JWTError(.badSignature, "the \(algorithm.rawValue) signature does not match")
        }
        let payload = try Self.jsonObject(payloadBytes, "payload")
        let window = try checkClaims(payload)
        return (JWTClaims(header: header, payload: payload, algorithm: algorithm), window)
    }

    private func checkHeader(_ header: JSONValue) throws(JWTError) -> JWTAlgorithm {
        guard case .object(let members) = header else { throw JWTError(.malformed, "the header is not an object") }
        guard case .string(let name)? = members["alg"] else {
            throw JWTError(.malformed, "the header has no string \"alg\"")
        }
        guard let algorithm = JWTAlgorithm(rawValue: name) else {
            throw JWTError(.unsupportedAlgorithm, "the algorithm \"\(name.prefix(20))\" is not accepted")
        }
        guard configuration.key.allowedAlgorithms.contains(algorithm) else {
            throw JWTError(.algorithmNotAllowed, "the configured key does not allow \(name)")
        }
        if let typ = members["typ"] {
            guard case .string(let text) = typ else {
                throw JWTError(.malformed, "the header's \"typ\" is not a string")
            }
            var kind = text.lowercased()
            if kind.hasPrefix("application/") { kind.removeFirst("application/".count) }
            guard kind == "jwt" || kind == "at+jwt" else {
                throw JWTError(.malformed, "the header's \"typ\" is \"\(text.prefix(20))\", not JWT")
            }
        }
        guard members["crit"] == nil else {
            throw JWTError(.malformed, "the header names critical extensions (\"crit\"), which are not supported")
        }
        return algorithm
    }

    private func verifySignature(_ signature: [UInt8], of message: [UInt8], algorithm: JWTAlgorithm) -> Bool {
        switch configuration.key.material {
        case .secret(let secret):
            guard let expected = HMACDigest.compute(algorithm, key: secret, message: message),
                expected.count == signature.count
            else { return false }
            return expected.withUnsafeBytes { a in
                signature.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
            }
        case .publicKey(let key):
            switch algorithm {
            case .rs256:
                return key.verifySHA256(signature: signature, message: message)
            case .es256:
                guard signature.count == 64, let der = ECDSASignature.der(rawRS: signature) else { return false }
                return key.verifySHA256(signature: der, message: message)
            case .hs256, .hs384, .hs512:
                return false
            }
        }
    }

    private var leewayMicroseconds: Int64 { Self.microseconds(configuration.leeway) }

    /// Whether `now` lies within the window, with the leeway on both sides: what ``checkClaims(_:)`` checks.
    private static func isCurrent(_ window: ValidityWindow, now: Int64, leeway: Int64) -> Bool {
        guard now < window.expiresAt.addingSaturated(leeway) else { return false }
        if let validFrom = window.notBefore, now.addingSaturated(leeway) < validFrom { return false }
        return true
    }

    private func checkClaims(_ payload: JSONValue) throws(JWTError) -> ValidityWindow {
        guard case .object(let claims) = payload else { throw JWTError(.malformed, "the payload is not an object") }
        let now = configuration.now().microseconds
        let leeway = leewayMicroseconds
        guard let expiry = claims["exp"] else { throw JWTError(.missingExpiry, "the token has no \"exp\"") }
        let expiresAt = try Self.numericDate(expiry, "exp")
        guard Self.isCurrent(ValidityWindow(expiresAt: expiresAt), now: now, leeway: leeway) else {
            throw JWTError(.expired, "the token expired at \(Instant(microseconds: expiresAt))")
        }
        var window = ValidityWindow(expiresAt: expiresAt)
        if let notBefore = claims["nbf"] {
            let validFrom = try Self.numericDate(notBefore, "nbf")
            window.notBefore = validFrom
            guard Self.isCurrent(window, now: now, leeway: leeway) else {
                throw JWTError(.notYetValid, "the token is not valid before \(Instant(microseconds: validFrom))")
            }
        }
        if let issuer = configuration.issuer {
            guard case .string(issuer)? = claims["iss"] else {
                throw JWTError(.wrongIssuer, "the token's \"iss\" is not \"\(issuer)\"")
            }
        }
        if let audience = configuration.audience {
            let matches: Bool
            switch claims["aud"] {
            case .string(let single)?: matches = single == audience
            case .array(let many)?: matches = many.contains(.string(audience))
            default: matches = false
            }
            guard matches else {
                throw JWTError(.wrongAudience, "the token's \"aud\" does not include \"\(audience)\"")
            }
        }
        return window
    }

    /// A NumericDate (seconds since the epoch, maybe fractional) in microseconds, saturated far from 0.
    private static func numericDate(_ value: JSONValue, _ name: String) throws(JWTError) -> Int64 {
        guard case .number(let seconds) = value, seconds.isFinite else {
            throw JWTError(.invalidClaim, "\"\(name)\" is not a number")
        }
        let micros = seconds * 1_000_000
        if micros >= 9.0e18 { return Int64.max / 2 }
        if micros <= -9.0e18 { return Int64.min / 2 }
        return Int64(micros.rounded(.down))
    }

    private static func microseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1_000_000).partialValue + attoseconds / 1_000_000_000_000
    }

    /// A JSON object, refused before parsing when it nests deeper than ``maxNesting``.
    static func jsonObject(_ bytes: [UInt8], _ what: String) throws(JWTError) -> JSONValue {
        guard nestingDepth(bytes) <= maxNesting else {
            throw JWTError(.malformed, "the \(what) is nested more than \(maxNesting) levels deep")
        }
        guard bytes.first == UInt8(ascii: "{"),
            let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)),
            case .object = value
        else {
            throw JWTError(.malformed, "the \(what) is not a JSON object")
        }
        return value
    }

    /// The deepest nesting of arrays and objects, brackets inside strings not counted. Linear, no recursion.
    static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

extension Int64 {
    fileprivate func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
