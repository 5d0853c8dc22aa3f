import Foundation
import SlawatchCore
import Testing

/// The rules' `api` and `perspectives` keys (README, "The HTTP API"), checked like every other key.
@Suite struct APIRulesTests {
    static let base = """
        { calendars: { c: { type: "always" } }, policies: [{ name: "p", calendar: "c", targets: { ALTA: 8 } }] }
        """

    static func load(_ api: String, environment: [String: String] = [:]) throws(RulesError) -> RuleSet {
        try RulesLoader.load(
            files: [("rules/sla.json", Data(base.utf8)), ("rules/api.json", Data(api.utf8))], environment: environment)
    }

    static func issues(_ api: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try load(api, environment: environment)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func aValidAPIBlockAndPerspectivesAreRead() throws {
        let rules = try Self.load(
            """
            { api: { listen: "127.0.0.1:9090", tenant_id: "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001", realm: "r",
                     jwt: { secret: "${JWT}", issuer: "https://idp", audience: "slawatch", leeway: "1m",
                            role_claim: "realm_access.roles", area_claim: "team" } },
              perspectives: [{ id: 4, name: "Vencidos", filter: { column: "dueDate", op: "LT", operand: "2026-03-24" },
                               sort: "updatedAt", desc: false }] }
            """, environment: ["JWT": String(repeating: "s", count: 32)])
        let api = try #require(rules.api)
        #expect(api.listen == "127.0.0.1:9090" && api.realm == "r")
        #expect(api.jwt?.secret == .value(String(repeating: "s", count: 32)))
        #expect(api.jwt?.leewayMicros == 60_000_000 && api.jwt?.roleClaim == "realm_access.roles")
        #expect(api.jwt?.areaClaim == "team" && api.jwt?.emailClaim == "email")
        let perspective = try #require(rules.perspectives.first)
        #expect(perspective.id == 4 && perspective.name == "Vencidos" && perspective.sort == "updated_at")
        #expect(perspective.descending == false)
        // API field names are read as the columns they stand for.
        #expect(perspective.filter?.columns == ["due_at"])
    }

    @Test func aSecretWhoseVariableIsNotSetLeavesTheRulesValid() throws {
        let rules = try Self.load(#"{ api: { jwt: { secret: "${SLAWATCH_JWT_SECRET}" } } }"#)
        #expect(rules.api?.jwt?.secret == .missingVariable("SLAWATCH_JWT_SECRET"))
        // Elsewhere a missing variable is still an error.
        #expect(
            Self.issues(#"{ api: { realm: "${NOPE}", jwt: { secret: "${SLAWATCH_JWT_SECRET}" } } }"#) == [
                "rules/api.json: api.realm: environment variable NOPE is not set; export it (secrets live only in the environment)"
            ])
    }

    @Test func everyProblemIsNamedByFileAndPath() {
        let found = Self.issues(
            """
            { api: { listen: "localhost:80", tenant_id: "acme", colour: 1,
                     jwt: { secret: "short", public_key: "/k.pem", leeway: "soon", role_claim: "a..b" } },
              perspectives: [
                { id: 0, name: "All", filter: { column: "createdAt", op: "GT", operand: "yesterday" } },
                { id: 2, name: "x", filter: { column: "horas_restantes", op: "GT", operand: "abc" }, sort: "a b", desc: "yes" },
                { id: 2, name: "x" },
                { name: "y", filter: { column: "status", op: "CONTAINS", operand: "a" } },
              ] }
            """)
        let expected = [
            "rules/api.json: api.colour: unknown key; expected one of listen, jwt, tenant_id, realm",
            "rules/api.json: api.listen: expected HOST:PORT with a numeric address, such as \"127.0.0.1:8080\", found \"localhost:80\"",
            "rules/api.json: api.tenant_id: expected a UUID such as \"7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001\", found \"acme\"",
            "rules/api.json: api.jwt.secret: expected a secret of at least 32 bytes, found one of 5",
            "rules/api.json: api.jwt: give either \"secret\" (HS256/384/512) or \"public_key\" (RS256, ES256), not both",
            "rules/api.json: api.jwt.leeway: expected a duration such as \"30s\", \"15m\", \"4h\" or \"1d\", found \"soon\"",
            "rules/api.json: api.jwt.role_claim: expected a claim name or a dotted path such as \"realm_access.roles\", found \"a..b\"",
            "rules/api.json: perspectives[0].id: expected a whole number from 1 to 2147483647, found 0",
            "rules/api.json: perspectives[0].name: expected a name other than \"\" and the built-in \"All\", found \"All\"",
            "rules/api.json: perspectives[0].filter.operand: column created_at is timestamptz: expected an ISO 8601 instant in a string, such as \"2026-03-24T10:30:00Z\" or \"2026-03-24\", found \"yesterday\"",
            "rules/api.json: perspectives[1].filter.operand: column horas_restantes is number: expected a number, such as 8 or -1.5, found \"abc\"",
            "rules/api.json: perspectives[1].sort: expected a field such as updatedAt or a column name, found \"a b\"",
            "rules/api.json: perspectives[1].desc: expected true or false, found \"yes\"",
            "rules/api.json: perspectives[2]: a perspective with id 2 is defined twice (also in rules/api.json)",
            "rules/api.json: perspectives[2]: a perspective with \"x\" is defined twice (also in rules/api.json)",
            "rules/api.json: perspectives[3]: missing \"id\"",
            "rules/api.json: perspectives[3].filter.op: The operator 'CONTAINS' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN",
        ]
        for line in expected {
            #expect(found.contains(line), "missing: \(line)\nfound:\n\(found.joined(separator: "\n"))")
        }
        #expect(found.count == expected.count, "\(found.joined(separator: "\n"))")
    }

    @Test func hostAndPort() {
        #expect(APISettings.hostAndPort("127.0.0.1:8080")! == ("127.0.0.1", 8080))
        #expect(APISettings.hostAndPort("[::1]:0")! == ("::1", 0))
        for bad in ["localhost:80", "127.0.0.1", "127.0.0.1:65536", "1.2.3:4", "[x]:1", "127.0.0.1:-1", "٣.1.1.1:1"] {
            #expect(APISettings.hostAndPort(bad) == nil, "\(bad)")
        }
    }
}
