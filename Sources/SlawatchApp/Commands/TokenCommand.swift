import SlawatchCore
import TokenAuth

/// `slawatch token`: an HS256 token for the API, signed with the rules' `api.jwt.secret`, for demos,
/// tests and operators. The claims are put where `api.jwt` says the API reads them.
enum TokenCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        guard let role = args["role"], !role.isEmpty else {
            throw .usage("--role is required: ADMIN, MESA, AREA, ticket_admin, ticket_agent or ticket_user")
        }
        var ttl: Int64 = 3_600_000_000
        if let text = args["ttl"] {
            guard let micros = DurationText.microseconds(text), micros > 0 else {
                throw .usage("--ttl expects a duration such as 1h or 15m, found '\(text)'")
            }
            ttl = micros
        }
        let rules = try context.loadRules()
        guard let jwt = rules.api?.jwt else { throw .usage("the rules have no api.jwt: nothing to sign tokens with") }
        let secret: String
        switch jwt.secret {
        case .value(let text)?: secret = text
        case .missingVariable(let name)?:
            throw .usage("api.jwt.secret names the environment variable \(name), which is not set; export it")
        case nil: throw .usage("api.jwt has a public_key, not a secret: its tokens are signed elsewhere")
        }
        var claims: [String: JSONValue] = [:]
        let seconds = Double(context.now.microseconds / 1_000_000)
        claims["iat"] = .number(seconds)
        claims["exp"] = .number(seconds + Double(ttl / 1_000_000))
        claims["sub"] = .string(args["email"] ?? "slawatch-token")
        if let issuer = jwt.issuer { claims["iss"] = .string(issuer) }
        if let audience = jwt.audience { claims["aud"] = .string(audience) }
        // A dotted role claim (`realm_access.roles`) names an array of roles.
        put(jwt.roleClaim.contains(".") ? .array([.string(role)]) : .string(role), at: jwt.roleClaim, in: &claims)
        if let area = args["area"] { put(.string(area), at: jwt.areaClaim, in: &claims) }
        if let email = args["email"] { put(.string(email), at: jwt.emailClaim, in: &claims) }
        if let scope = args["scope"] { claims["scope"] = .string(scope) }
        do {
            let signer = try JWTSigner(algorithm: .hs256, secret: Array(secret.utf8))
            context.output(try signer.sign(claims) + "\n")
        } catch {
            throw .usage("api.jwt.secret: \(error.message)")
        }
    }

    /// Sets `value` at a dotted path of objects, making the objects on the way.
    static func put(_ value: JSONValue, at path: String, in claims: inout [String: JSONValue]) {
        let keys = path.split(separator: ".").map(String.init)
        guard let first = keys.first else { return }
        if keys.count == 1 {
            claims[first] = value
            return
        }
        var inner: [String: JSONValue] = [:]
        if case .object(let existing)? = claims[first] { inner = existing }
        put(value, at: keys.dropFirst().joined(separator: "."), in: &inner)
        claims[first] = .object(inner)
    }
}
