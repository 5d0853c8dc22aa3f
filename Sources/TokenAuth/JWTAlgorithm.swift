/// The JWS algorithms slawatch accepts. `none` is not one of them, and never will be.
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable {
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"
    case rs256 = "RS256"
    case es256 = "ES256"

    /// For HMAC: the digest length, which RFC 7518 §3.2 makes the shortest allowed secret.
    var hmacDigestBytes: Int? {
        switch self {
        case .hs256: return 32
        case .hs384: return 48
        case .hs512: return 64
        case .rs256, .es256: return nil
        }
    }
}
