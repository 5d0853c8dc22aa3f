/// Why a token was refused, or a key could not be used. ``description`` names the check that failed, for
/// the logs; an API answers every one of them the same way (401) without saying which.
public struct JWTError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        /// Not three base64url parts of JSON objects, or longer than the verifier accepts.
        case malformed
        /// `alg` is `none` or an algorithm slawatch does not implement.
        case unsupportedAlgorithm
        /// `alg` is one the configured key does not allow (e.g. HS256 against an RSA key).
        case algorithmNotAllowed
        case badSignature
        /// `exp` is absent.
        case missingExpiry
        /// A registered claim has the wrong type (`exp` as a string, say).
        case invalidClaim
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience
        /// The configured key is unusable.
        case invalidKey
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
