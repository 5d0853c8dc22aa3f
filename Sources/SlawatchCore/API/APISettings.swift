/// The rules' `api` key: how `slawatch serve` listens and which bearer tokens it accepts (README, "The
/// HTTP API").
public struct APISettings: Sendable {
    /// `HOST:PORT` to listen on when `--listen` is not given.
    public var listen: String?
    /// How tokens are verified; nil: no token can be verified and every request needing one gets 401.
    public var jwt: JWTSettings?
    /// When set, the ticket list's `x-tenantid` must be this UUID (compared without regard to case).
    public var tenantID: String?
    /// When set, the ticket list's `realmname` header must be this name.
    public var realm: String?

    public init(listen: String? = nil, jwt: JWTSettings? = nil, tenantID: String? = nil, realm: String? = nil) {
        self.listen = listen
        self.jwt = jwt
        self.tenantID = tenantID
        self.realm = realm
    }

    /// `HOST:PORT` with a numeric IPv4 address or a bracketed IPv6 one and a port from 0 to 65535.
    public static func hostAndPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), text[text.index(after: colon)...].allSatisfy(\.isASCII)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard host.contains(":") else { return nil }
        } else {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4,
                parts.allSatisfy({ p in
                    p.count <= 3 && !p.isEmpty && p.allSatisfy({ $0.isASCII && $0.isNumber }) && (Int(p) ?? 256) <= 255
                })
            else { return nil }
        }
        return (host, port)
    }
}

/// The rules' `api.jwt`: the key (an HMAC secret or a PEM public key file), the claims checked and
/// where the role, area and e-mail are found in a token.
public struct JWTSettings: Sendable {
    /// An HMAC secret as given, or the `${VAR}` its text names when that variable is not set: the
    /// rules stay valid without it (`check`, the worker), and only `serve` and `token` need it.
    public enum Secret: Sendable, Hashable {
        case value(String)
        case missingVariable(String)
    }

    public var secret: Secret?
    /// The path of a PEM `PUBLIC KEY` file (RS256 or ES256).
    public var publicKeyPath: String?
    public var issuer: String?
    public var audience: String?
    /// Clock skew tolerated on `exp` and `nbf`, in microseconds.
    public var leewayMicros: Int64
    /// A claim name or a dotted path (`realm_access.roles`) naming the role, or an array searched for a
    /// known role.
    public var roleClaim: String
    public var areaClaim: String
    public var emailClaim: String

    public init(
        secret: Secret? = nil, publicKeyPath: String? = nil, issuer: String? = nil, audience: String? = nil,
        leewayMicros: Int64 = 30_000_000, roleClaim: String = "role", areaClaim: String = "area",
        emailClaim: String = "email"
    ) {
        self.secret = secret
        self.publicKeyPath = publicKeyPath
        self.issuer = issuer
        self.audience = audience
        self.leewayMicros = leewayMicros
        self.roleClaim = roleClaim
        self.areaClaim = areaClaim
        self.emailClaim = emailClaim
    }
}

/// A saved view of the ticket query API (`perspectives` in the rules): a filter and an order.
public struct Perspective: Sendable {
    public var id: Int
    public var name: String
    /// Over view and computed columns; the API's field names (`createdAt`, ...) are already mapped.
    public var filter: Filter?
    /// A column (view or computed) to sort by; nil: `updated_at`.
    public var sort: String?
    public var descending: Bool

    public init(id: Int, name: String, filter: Filter?, sort: String?, descending: Bool) {
        self.id = id
        self.name = name
        self.filter = filter
        self.sort = sort
        self.descending = descending
    }

    /// The built-in perspective every ticket in scope is seen through, newest update first.
    public static let all = Perspective(id: 0, name: "All", filter: nil, sort: nil, descending: true)
}
