/// The rules' `api` and `perspectives` keys (README, "The HTTP API").
extension RulesReader {
    mutating func readAPI(_ value: JSONValue) -> APISettings? {
        guard let dict = object(value, "api", allowed: ["listen", "jwt", "tenant_id", "realm"]) else { return nil }
        var api = APISettings()
        if let l = dict["listen"], let text = string(l, "api.listen") {
            if APISettings.hostAndPort(text) == nil {
                issue(
                    "api.listen",
                    "expected HOST:PORT with a numeric address, such as \"127.0.0.1:8080\", found \"\(text)\"")
            }
            api.listen = text
        }
        if let t = dict["tenant_id"], let text = string(t, "api.tenant_id") {
            if !ColumnType.isUUID(text) {
                issue(
                    "api.tenant_id",
                    "expected a UUID such as \"7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001\", found \"\(text)\"")
            }
            api.tenantID = text
        }
        if let r = dict["realm"], let text = string(r, "api.realm") { api.realm = text }
        if let j = dict["jwt"] { api.jwt = readJWT(j) }
        return api
    }

    mutating func readJWT(_ value: JSONValue) -> JWTSettings? {
        let keys = ["secret", "public_key", "issuer", "audience", "leeway", "role_claim", "area_claim", "email_claim"]
        guard let dict = object(value, "api.jwt", allowed: keys) else { return nil }
        var jwt = JWTSettings()
        if let missing = unresolved["api.jwt.secret"] {
            jwt.secret = .missingVariable(missing)
        } else if let s = dict["secret"], let text = string(s, "api.jwt.secret") {
            // HS256 needs 32 bytes at least (RFC 7518 §3.2); a shorter secret would be refused by every token.
            if text.utf8.count < 32 {
                issue("api.jwt.secret", "expected a secret of at least 32 bytes, found one of \(text.utf8.count)")
            }
            jwt.secret = .value(text)
        }
        if let p = dict["public_key"], let text = string(p, "api.jwt.public_key") { jwt.publicKeyPath = text }
        if dict["secret"] != nil && jwt.publicKeyPath != nil {
            issue("api.jwt", "give either \"secret\" (HS256/384/512) or \"public_key\" (RS256, ES256), not both")
        }
        if dict["secret"] == nil && jwt.publicKeyPath == nil {
            issue("api.jwt", "missing \"secret\" (HS256/384/512) or \"public_key\" (a PEM file: RS256, ES256)")
        }
        jwt.issuer = dict["issuer"].flatMap { string($0, "api.jwt.issuer") }
        jwt.audience = dict["audience"].flatMap { string($0, "api.jwt.audience") }
        if let l = dict["leeway"], let micros = duration(l, "api.jwt.leeway") {
            if micros < 0 || micros > 3_600_000_000 {
                issue("api.jwt.leeway", "expected a duration from 0s to 1h, found \(l.shortDescription)")
            } else {
                jwt.leewayMicros = micros
            }
        }
        for (key, keyPath) in [
            ("role_claim", \JWTSettings.roleClaim), ("area_claim", \.areaClaim), ("email_claim", \.emailClaim),
        ] {
            guard let v = dict[key], let text = string(v, "api.jwt.\(key)") else { continue }
            if text.isEmpty || text.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                issue(
                    "api.jwt.\(key)",
                    "expected a claim name or a dotted path such as \"realm_access.roles\", found \"\(text)\"")
                continue
            }
            jwt[keyPath: keyPath] = text
        }
        return jwt
    }

    mutating func readPerspective(_ value: JSONValue, _ path: String) -> Perspective? {
        guard let dict = object(value, path, allowed: ["id", "name", "filter", "sort", "desc"]) else { return nil }
        var id: Int?
        if let v = required(dict, "id", path) {
            if case .number(let n) = v, n >= 1, n <= 2_147_483_647, n == n.rounded() {
                id = Int(n)
            } else {
                issue(path + ".id", "expected a whole number from 1 to 2147483647, found \(v.shortDescription)")
            }
        }
        let name = required(dict, "name", path).flatMap { string($0, path + ".name") }
        if let name, name.isEmpty || name == Perspective.all.name {
            issue(path + ".name", "expected a name other than \"\" and the built-in \"All\", found \"\(name)\"")
        }
        var filter: Filter?
        if let f = dict["filter"] {
            let aliases = columnAliases
            columnAliases = APIField.columns
            filter = self.filter(f, path + ".filter", allowComputed: true)
            columnAliases = aliases
        }
        var sort: String?
        if let s = dict["sort"], let text = string(s, path + ".sort") {
            let column = APIField.column(text)
            if QualifiedName.isIdentifier(column) {
                sort = column
            } else {
                issue(path + ".sort", "expected a field such as updatedAt or a column name, found \"\(text)\"")
            }
        }
        var descending = true
        if let d = dict["desc"] {
            if case .bool(let b) = d {
                descending = b
            } else {
                issue(path + ".desc", "expected true or false, found \(d.shortDescription)")
            }
        }
        guard let id, let name else { return nil }
        return Perspective(id: id, name: name, filter: filter, sort: sort, descending: descending)
    }
}
