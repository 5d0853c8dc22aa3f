import CurlTransport
import Foundation
import Glibc
import SlawatchCore
import Testing

/// `slawatch serve` over real HTTP against a real PostgreSQL: every endpoint compared value for value
/// with the CLI at the same instant, scoping for every role, and each bad input of the README's HTTP
/// API section. One server per test, one test at a time (each is a child process).
@Suite(.serialized) struct APITests {
    static let now = Instant(iso8601: KnownHelpDesk.now)!

    /// The known help desk, migrated, with its rules and the API's keys.
    final class Setup {
        let db: TestDatabase
        let rules: TemporaryRules
        let server: APIServer

        init(extra: [String] = [], apiRules: String = APIServer.rules) async throws {
            db = try TestDatabase()
            try KnownHelpDesk.load(into: db)
            rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules, "api.json": apiRules])
            let migrated = await slawatch(
                ["migrate", "--database", db.url, "--rules", rules.path],
                environment: ["SLAWATCH_TEST_JWT_SECRET": APIServer.secret])
            guard migrated.status == 0 else { throw TestSetupError("migrate failed: \(migrated.stderr)") }
            server = try await APIServer(database: db.url, rules: rules.path, now: APITests.now, extra: extra)
        }

        /// The CLI's stdout for these arguments at the same instant and on the same data.
        func cli(_ arguments: [String]) async -> String {
            await slawatch(
                arguments + ["--database", db.url, "--rules", rules.path, "--now", KnownHelpDesk.now],
                environment: ["SLAWATCH_TEST_JWT_SECRET": APIServer.secret]
            ).stdout
        }
    }

    static let codes = (1...7).map { "TKT-2026-0000\($0)" }

    @Test func theDashboardEqualsTheCLIForEveryRole() async throws {
        let s = try await Setup()
        for (role, area) in [("ADMIN", nil), ("MESA", nil), ("AREA", "TECNOLOGIA"), ("AREA", "COMPRAS")]
            as [(String, String?)]
        {
            let response = try await s.server.get(
                "/api/tickets/dashboard", token: try s.server.token(role: role, area: area))
            let cli = await s.cli(
                ["dashboard", "--format", "json", "--role", role] + (area.map { ["--area", $0] } ?? []))
            #expect(response.statusCode == 200, "\(role)")
            #expect(response.header("content-type")?.hasPrefix("application/json") == true)
            #expect(try DashboardRow.decode(response.text) == DashboardRow.decode(cli), "\(role) \(area ?? "")")
            #expect(response.text == cli, "\(role): the same bytes as the CLI")
        }
        let admin = try DashboardRow.decode(
            try await s.server.get("/api/tickets/dashboard", token: try s.server.token(role: "ticket_admin")).text)
        #expect(admin.map(\.label) == KnownHelpDesk.expected.map(\.0))
        #expect(admin.map(\.horas_restantes) == KnownHelpDesk.expected.map(\.2))
        let agent = try DashboardRow.decode(
            try await s.server.get(
                "/api/tickets/dashboard", token: try s.server.token(role: "ticket_agent", area: "TECNOLOGIA")
            ).text)
        #expect(agent.map(\.label) == ["TKT-2026-00001", "TKT-2026-00003"])
        let user = try DashboardRow.decode(
            try await s.server.get(
                "/api/tickets/dashboard", token: try s.server.token(role: "ticket_user", email: "luis@example.com")
            ).text)
        #expect(user.map(\.label) == ["TKT-2026-00002", "TKT-2026-00004"])
    }

    /// With the worker's clocks stored at the same instant, the dashboard is read from the SQL function
    /// (a fresh stored clock shows as stored) and is still the CLI's, byte for byte, for every scope; when
    /// the database holds other rules than the server's, the server evaluates every clock itself.
    @Test func theDashboardReadsTheStoredClocksOnlyUnderTheServersRules() async throws {
        let s = try await Setup()
        let run = await slawatch(
            ["run", "--once", "--full", "--database", s.db.url, "--rules", s.rules.path, "--now", KnownHelpDesk.now],
            environment: ["SLAWATCH_TEST_JWT_SECRET": APIServer.secret])
        #expect(run.status == 0, "\(run.stderr)")
        let connection = try s.db.connect()
        let stored = try connection.query("SELECT count(*) FROM slawatch.clocks").rows[0].int(0)
        #expect(stored >= 5, "\(stored) clocks stored")
        for (role, area, email) in [
            ("ADMIN", nil, nil), ("AREA", "TECNOLOGIA", nil), ("ticket_user", nil, "luis@example.com"),
        ] as [(String, String?, String?)] {
            let api = try await s.server.get(
                "/api/tickets/dashboard", token: try s.server.token(role: role, area: area, email: email))
            if role == "ticket_user" {
                #expect(try DashboardRow.decode(api.text).map(\.label) == ["TKT-2026-00002", "TKT-2026-00004"])
            } else {
                let cli = await s.cli(
                    ["dashboard", "--format", "json", "--role", role] + (area.map { ["--area", $0] } ?? []))
                #expect(api.text == cli, "\(role)")
            }
        }
        let token = try s.server.token(role: "ADMIN")
        let cli = await s.cli(["dashboard", "--format", "json"])
        try connection.execute(
            "UPDATE slawatch.clocks SET sla_horas = 99.5 WHERE ticket_id = '00000000-0000-0000-0000-000000000006'")
        let read = try DashboardRow.decode(try await s.server.get("/api/tickets/dashboard", token: token).text)
        #expect(read.first { $0.label == "TKT-2026-00006" }?.sla_horas == 99.5, "read from the stored clock")
        try connection.execute("UPDATE slawatch.worker_state SET value_us = value_us + 1 WHERE key = 'rules'")
        #expect(try await s.server.get("/api/tickets/dashboard", token: token).text == cli, "evaluated by the engine")
    }

    @Test func aTicketAndItsExplanationEqualTheCLI() async throws {
        let s = try await Setup()
        let token = try s.server.token(role: "ADMIN")
        for code in Self.codes {
            let explained = try await s.server.get("/api/tickets/\(code)/sla", token: token)
            let cli = await s.cli(["ticket", code, "--format", "json"])
            #expect(explained.statusCode == 200)
            #expect(explained.text == cli, "\(code)")
            let ticket = try await s.server.get("/api/tickets/\(code)", token: token)
            #expect(ticket.statusCode == 200)
            let body = ticket.object
            #expect(body["Codigo"] as? String == code)
            #expect(
                body.keys.sorted() == [
                    "Area", "Codigo", "Descripcion", "Estado", "FechaActualizacion", "FechaCreacion", "IdTicket",
                    "Prioridad",
                    "Sla", "Titulo",
                ])
            let clock = (try? JSONSerialization.jsonObject(with: Data(cli.utf8))) as? [String: Any] ?? [:]
            if clock["clock"] is NSNull {
                #expect(body["Sla"] is NSNull, "\(code) has no clock")
                continue
            }
            let sla = try #require(body["Sla"] as? [String: Any], "\(code)")
            #expect(
                sla.keys.sorted() == [
                    "calendar", "due_at", "horas_restantes", "policy", "sla_horas", "sla_status", "vencido",
                ])
            for key in ["sla_horas", "horas_restantes", "vencido", "sla_status", "due_at", "policy", "calendar"] {
                #expect("\(sla[key] ?? "absent")" == "\(clock[key] ?? "absent")", "\(code) \(key)")
            }
            #expect(body["FechaActualizacion"] as? String == clock["actualizado_en"] as? String)
        }
    }

    @Test func theListAndTheQueryShowEveryTicketInScopeWithItsClock() async throws {
        let s = try await Setup()
        let token = try s.server.token(role: "ADMIN", scope: "tickets:read")
        let tenant = [(name: "x-tenantid", value: APIServer.tenant)]
        let list = try await s.server.post(
            "/api/v2/ticketing/ticket/list?type=incident&module=helpdesk", token: token, headers: tenant,
            json: #"{"top": 100, "offset": 0}"#)
        #expect(list.statusCode == 200)
        let object = list.object
        #expect(object.keys.sorted() == ["data", "message", "success", "timestamp"])
        #expect(object["message"] as? String == "Tickets retrieved successfully")
        #expect(object["timestamp"] as? String == "2026-03-24T15:00:00.000Z")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["module"] as? String == "helpdesk")
        #expect(data["type"] as? String == "incident")
        let pagination = try #require(data["pagination"] as? [String: Any])
        #expect(pagination["total"] as? Int == 7)
        #expect(pagination["hasMore"] as? Bool == false)
        let tickets = try #require(data["tickets"] as? [[String: Any]])
        // Newest update first, as the dashboard; TKT-2026-00005 (no target for BAJA) is listed too.
        #expect(
            tickets.map { $0["ticketNumber"] as? String } == [
                "TKT-2026-00007", "TKT-2026-00002", "TKT-2026-00006", "TKT-2026-00001", "TKT-2026-00005",
                "TKT-2026-00003", "TKT-2026-00004",
            ])
        for ticket in tickets {
            let code = ticket["ticketNumber"] as! String
            let cli =
                (try? JSONSerialization.jsonObject(with: Data(await s.cli(["ticket", code, "--format", "json"]).utf8)))
                as? [String: Any] ?? [:]
            #expect(
                ticket.keys.sorted() == [
                    "assignee", "category", "createdAt", "description", "dueDate", "id", "priority", "requester",
                    "slaStatus", "status", "subcategory", "subject", "team", "ticketNumber", "updatedAt",
                ])
            if code == "TKT-2026-00005" {
                #expect(ticket["slaStatus"] is NSNull && ticket["dueDate"] is NSNull)
            } else {
                #expect(ticket["slaStatus"] as? String == cli["sla_status"] as? String, "\(code)")
                let due = (cli["due_at"] as? String).flatMap { Instant(iso8601: $0) }
                #expect(ticket["dueDate"] as? String == due.map { Self.milliseconds($0) }, "\(code)")
            }
        }
        // A page sorted by a clock, filtered by a clock: the same tickets the CLI's dashboard sorts so.
        let breached = try await s.server.post(
            "/api/v2/ticketing/ticket/list", token: token, headers: tenant,
            json:
                #"{"top": 2, "offset": 0, "sort": "dueDate", "searchOrder": "ASC", "filter": {"op": "OR", "operand": [{"column": "slaStatus", "op": "EQ", "operand": "breached"}, {"column": "slaStatus", "op": "EQ", "operand": null}]}}"#
        )
        let page = ((breached.object["data"] as? [String: Any])?["tickets"] as? [[String: Any]]) ?? []
        #expect(page.map { $0["ticketNumber"] as? String } == ["TKT-2026-00001", "TKT-2026-00005"])
        let searched = try await s.server.post(
            "/api/v2/ticketing/ticket/list", token: token, headers: tenant,
            json: #"{"top": 5, "offset": 0, "search": "FACTURACI", "sort": "ticketNumber", "searchOrder": "ASC"}"#)
        let found = ((searched.object["data"] as? [String: Any])?["tickets"] as? [[String: Any]]) ?? []
        #expect(found.map { $0["ticketNumber"] as? String } == ["TKT-2026-00001", "TKT-2026-00002"])
        let filtered = try await s.server.post(
            "/api/v2/ticketing/ticket/list", token: token, headers: tenant,
            json:
                #"{"top": 1, "offset": 1, "filter": {"column": "team", "op": "IN", "operand": ["TECNOLOGIA", "MESA"]}}"#
        )
        let filteredData = try #require(filtered.object["data"] as? [String: Any])
        #expect((filteredData["pagination"] as? [String: Any])?["total"] as? Int == 4)
        #expect((filteredData["pagination"] as? [String: Any])?["hasMore"] as? Bool == true)
        #expect(
            (filteredData["tickets"] as? [[String: Any]])?.map { $0["ticketNumber"] as? String } == ["TKT-2026-00005"])
        // Pages of three, then one past the end: the same order, the total with every page, none twice.
        var paged: [String?] = []
        for offset in [0, 3, 6, 9] {
            let answer = try await s.server.post(
                "/api/v2/ticketing/ticket/list", token: token, headers: tenant,
                json: #"{"top": 3, "offset": \#(offset)}"#)
            let answerData = try #require(answer.object["data"] as? [String: Any])
            #expect((answerData["pagination"] as? [String: Any])?["total"] as? Int == 7, "offset \(offset)")
            paged += ((answerData["tickets"] as? [[String: Any]]) ?? []).map { $0["ticketNumber"] as? String }
        }
        #expect(paged == tickets.map { $0["ticketNumber"] as? String })

        let all = try await s.server.post("/api/v1/tickets/query", token: token, json: "")
        #expect(all.statusCode == 200)
        let rows = try #require(all.object["data"] as? [[String: Any]])
        #expect(all.object["ok"] as? Bool == true)
        #expect(rows.count == 7)
        let first = try #require(rows.first { $0["number"] as? String == "TKT-2026-00001" })
        #expect(first["queue"] as? String == "TECNOLOGIA")
        #expect(first["created_at"] as? String == "2026-03-24 10:00:00")
        #expect(first["due_at"] as? String == "2026-03-24 14:00:00")
        #expect(first["sla_status"] as? String == "breached")
        #expect(first["horas_restantes"] as? Double == -1)
        let overdue = try await s.server.post("/api/v1/tickets/query", token: token, json: #"{"perspective_id": 1}"#)
        #expect((overdue.object["data"] as? [[String: Any]])?.map { $0["number"] as? String } == ["TKT-2026-00001"])
        let open = try await s.server.post(
            "/api/v1/tickets/query", token: token, json: #"{"search_object": {"search_perspective": "Abiertos"}}"#)
        #expect(
            (open.object["data"] as? [[String: Any]])?.map { $0["number"] as? String } == [
                "TKT-2026-00003", "TKT-2026-00005", "TKT-2026-00006", "TKT-2026-00007",
            ])
    }

    static func milliseconds(_ instant: Instant) -> String {
        let text = instant.iso8601
        return text.hasSuffix("Z") && !text.contains(".") ? String(text.dropLast()) + ".000Z" : text
    }

    @Test func everyRoleSeesItsScopeAndNothingElse() async throws {
        let s = try await Setup()
        let server = s.server
        // An AREA token asking another area's ticket: 404, as if it did not exist.
        let area = try server.token(role: "AREA", area: "FACTURACION")
        #expect(try await server.get("/api/tickets/TKT-2026-00002", token: area).statusCode == 200)
        let other = try await server.get("/api/tickets/TKT-2026-00001", token: area)
        #expect(other.statusCode == 404)
        #expect(
            other.text
                == #"{"type": "https://tools.ietf.org/html/rfc7231#section-6.5.4", "title": "Not Found", "status": 404}"#
        )
        #expect(try await server.get("/api/tickets/TKT-2026-00001/sla", token: area).statusCode == 404)
        #expect(try await server.get("/api/tickets/TKT-2026-09999", token: area).statusCode == 404)
        // A ticket_user reads its own tickets, not someone else's.
        let user = try server.token(role: "ticket_user", email: "ana@example.com", scope: "tickets:read")
        #expect(try await server.get("/api/tickets/TKT-2026-00003", token: user).statusCode == 200)
        #expect(try await server.get("/api/tickets/TKT-2026-00002", token: user).statusCode == 404)
        let mine = try await server.post("/api/v1/tickets/query", token: user, json: "{}")
        #expect(
            (mine.object["data"] as? [[String: Any]])?.compactMap { $0["number"] as? String }.sorted() == [
                "TKT-2026-00001", "TKT-2026-00003", "TKT-2026-00005", "TKT-2026-00007",
            ])
        // ... through `All` only.
        let saved = try await server.post("/api/v1/tickets/query", token: user, json: #"{"perspective_id": 2}"#)
        #expect(saved.statusCode == 403 && saved.text == #"{"ok": false, "error": "forbidden"}"#)
        let listed = try await server.post(
            "/api/v2/ticketing/ticket/list", token: user, headers: [("x-tenantid", APIServer.tenant)],
            json: #"{"top": 10, "offset": 0}"#)
        #expect(((listed.object["data"] as? [String: Any])?["pagination"] as? [String: Any])?["total"] as? Int == 4)
        // A valid token without a known role: 403 everywhere.
        for role in ["SUPERVISOR", nil] as [String?] {
            let token = try server.token(role: role, scope: "tickets:read")
            #expect(try await server.get("/api/tickets/dashboard", token: token).statusCode == 403)
            #expect(try await server.get("/api/tickets/TKT-2026-00001", token: token).statusCode == 403)
            let list = try await server.post(
                "/api/v2/ticketing/ticket/list", token: token, headers: [("x-tenantid", APIServer.tenant)],
                json: #"{"top": 10, "offset": 0}"#)
            #expect(
                list.statusCode == 403 && (list.object["error"] as? [String: Any])?["code"] as? String == "FORBIDDEN")
            #expect(try await server.post("/api/v1/tickets/query", token: token, json: "{}").statusCode == 403)
        }
        // An AREA token without an area sees nothing: 403.
        #expect(try await server.get("/api/tickets/dashboard", token: try server.token(role: "AREA")).statusCode == 403)
        // The query needs tickets:read or tickets:write, in scope or abilities.
        let noScope = try server.token(role: "ADMIN")
        let refused = try await server.post("/api/v1/tickets/query", token: noScope, json: "{}")
        #expect(refused.statusCode == 403 && refused.text == #"{"ok": false, "error": "forbidden"}"#)
        let abilities = try JWTTestTokens.sign(
            [
                "role": .string("MESA"), "abilities": .array([.string("tickets:write")]),
                "exp": .number(Double(Self.now.seconds + 600)),
            ])
        #expect(try await server.post("/api/v1/tickets/query", token: abilities, json: "{}").statusCode == 200)
    }

    @Test func badTokensAre401InEveryEndpointsShape() async throws {
        let s = try await Setup()
        let server = s.server
        let good = try server.token(role: "ADMIN", scope: "tickets:read")
        let parts = good.split(separator: ".").map(String.init)
        let header = Array(#"{"alg":"none","typ":"JWT"}"#.utf8)
        let none = TokenText.base64URL(header) + "." + parts[1] + "."
        let bad: [(String, String?)] = [
            ("no token", nil),
            (
                "another key",
                try server.token(role: "ADMIN", scope: "tickets:read", secret: String(repeating: "k", count: 40))
            ),
            ("truncated", String(good.dropLast(5))),
            ("not base64", parts[0] + ".%%%." + parts[2]),
            ("alg none", none),
            ("expired", try server.token(role: "ADMIN", scope: "tickets:read", exp: Self.now + -3_600_000_000)),
            ("garbage", "a.b"),
        ]
        let problem =
            #"{"type": "https://tools.ietf.org/html/rfc7235#section-3.1", "title": "Unauthorized", "status": 401}"#
        for (what, token) in bad {
            let dashboard = try await server.get("/api/tickets/dashboard", token: token)
            #expect(dashboard.statusCode == 401, "\(what)")
            #expect(dashboard.header("content-type") == "application/problem+json", "\(what)")
            #expect(dashboard.text == problem, "\(what)")
            #expect(try await server.get("/api/tickets/TKT-2026-00001", token: token).text == problem, "\(what)")
            let list = try await server.post(
                "/api/v2/ticketing/ticket/list", token: token, headers: [("x-tenantid", APIServer.tenant)],
                json: #"{"top": 10, "offset": 0}"#)
            #expect(
                list.statusCode == 401 && (list.object["error"] as? [String: Any])?["code"] as? String == "UNAUTHORIZED"
            )
            #expect(list.object["success"] as? Bool == false && list.object["timestamp"] is String)
            let query = try await server.post("/api/v1/tickets/query", token: token, json: "{}")
            #expect(query.statusCode == 401 && query.text == #"{"ok": false, "error": "unauthenticated"}"#, "\(what)")
        }
        // A scheme other than Bearer is no token either.
        let basic = try await server.get("/api/tickets/dashboard", headers: [("Authorization", "Basic YTpi")])
        #expect(basic.statusCode == 401)
    }

    @Test func badListRequestsGetTheirErrors() async throws {
        let s = try await Setup()
        let server = s.server
        let token = try server.token(role: "ADMIN")
        let tenant = [(name: "x-tenantid", value: APIServer.tenant)]
        func list(_ json: String, headers: [(name: String, value: String)]? = nil) async throws -> (
            Int, String, String?, String?
        ) {
            let r = try await server.post(
                "/api/v2/ticketing/ticket/list", token: token, headers: headers ?? tenant, json: json)
            let error = r.object["error"] as? [String: Any]
            #expect(r.object["success"] as? Bool == false)
            #expect(r.object["timestamp"] as? String == "2026-03-24T15:00:00.000Z")
            return (
                r.statusCode, error?["code"] as? String ?? "-", error?["message"] as? String,
                error?["details"] as? String
            )
        }
        for body in [
            "{", "[1]", "", "nul", #"{"offset": 0}"#, #"{"top": 10}"#, #"{"top": 0, "offset": 0}"#,
            #"{"top": 101, "offset": 0}"#, #"{"top": -1, "offset": 0}"#, #"{"top": "30", "offset": 0}"#,
            #"{"top": 1.5, "offset": 0}"#, #"{"top": 10, "offset": -1}"#, #"{"top": 10, "offset": 1e300}"#,
            #"{"top": 10, "offset": 0, "searchOrder": "UP"}"#, #"{"top": 10, "offset": 0, "sort": "nope"}"#,
            #"{"top": 10, "offset": 0, "search": 5}"#,
        ] {
            let (status, code, _, _) = try await list(body)
            #expect(status == 400 && code == "INVALID_REQUEST", "\(body)")
        }
        let (status, code, message, details) = try await list(
            #"{"top": 10, "offset": 0, "filter": {"op": "AND", "operand": [{"column": "status", "op": "CONTAINS", "operand": "x"}]}}"#
        )
        #expect(status == 422 && code == "INVALID_FILTER" && message == "Invalid filter configuration")
        #expect(
            details == "The operator 'CONTAINS' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN"
        )
        let group = try await list(#"{"top": 10, "offset": 0, "filter": {"op": "XOR", "operand": []}}"#)
        #expect(group.3 == "The operator 'XOR' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN")
        let unknown = try await list(
            #"{"top": 10, "offset": 0, "filter": {"column": "color", "op": "EQ", "operand": "x"}}"#)
        #expect(unknown.0 == 422 && unknown.3?.contains("color") == true)
        let yesterday = try await list(
            #"{"top": 10, "offset": 0, "filter": {"column": "createdAt", "op": "GT", "operand": "yesterday"}}"#)
        #expect(
            yesterday.0 == 422 && yesterday.3?.contains("created_at is timestamptz") == true, "\(yesterday.3 ?? "")")
        let hours = try await list(
            #"{"top": 10, "offset": 0, "filter": {"column": "horas_restantes", "op": "GT", "operand": "abc"}}"#)
        #expect(hours.0 == 422 && hours.3?.contains("horas_restantes is number") == true, "\(hours.3 ?? "")")
        let malformed = try await list(#"{"top": 10, "offset": 0, "filter": {"column": "status", "op": "EQ"}}"#)
        #expect(malformed.0 == 422 && malformed.3?.contains("operand") == true, "\(malformed.3 ?? "")")
        // x-tenantid: missing or not a UUID.
        #expect(try await list(#"{"top": 10, "offset": 0}"#, headers: []).0 == 400)
        #expect(try await list(#"{"top": 10, "offset": 0}"#, headers: [("x-tenantid", "acme")]).0 == 400)
        // Malformed JSON in the other POST endpoint.
        let query = try await server.post(
            "/api/v1/tickets/query", token: try server.token(role: "ADMIN", scope: "tickets:read"), json: "{nope")
        #expect(query.statusCode == 400 && query.text == #"{"ok": false, "error": "bad_request"}"#)
        let missing = try await server.post(
            "/api/v1/tickets/query", token: try server.token(role: "ADMIN", scope: "tickets:read"),
            json: #"{"perspective_id": 77}"#)
        #expect(missing.statusCode == 404 && missing.text == #"{"ok": false, "error": "not_found"}"#)
    }

    @Test func aConfiguredTenantOrRealmIsRequired() async throws {
        let rules = """
            { api: { jwt: { secret: "${SLAWATCH_TEST_JWT_SECRET}" }, tenant_id: "\(APIServer.tenant)", realm: "helpdesk" } }
            """
        let s = try await Setup(apiRules: rules)
        let token = try s.server.token(role: "ADMIN")
        func status(_ headers: [(name: String, value: String)]) async throws -> Int {
            try await s.server.post(
                "/api/v2/ticketing/ticket/list", token: token, headers: headers, json: #"{"top": 10, "offset": 0}"#
            ).statusCode
        }
        #expect(try await status([("x-tenantid", APIServer.tenant.uppercased()), ("realmname", "helpdesk")]) == 200)
        #expect(
            try await status([("x-tenantid", "00000000-0000-0000-0000-000000000000"), ("realmname", "helpdesk")]) == 404
        )
        #expect(try await status([("x-tenantid", APIServer.tenant), ("realmname", "other")]) == 404)
    }

    @Test func unknownPathsWrongMethodsLargeBodiesAndStalledClients() async throws {
        let s = try await Setup(extra: ["--timeout", "2s"])
        let server = s.server
        let token = try server.token(role: "ADMIN")
        let unknown = try await server.get("/api/nothing", token: token)
        #expect(unknown.statusCode == 404 && unknown.header("content-type") == "application/problem+json")
        let unknownV2 = try await server.get("/api/v2/nothing", token: token)
        #expect(
            unknownV2.statusCode == 404
                && (unknownV2.object["error"] as? [String: Any])?["code"] as? String == "NOT_FOUND")
        let wrong = try await server.send(
            "/api/tickets/dashboard", method: .delete, token: token, headers: [], body: [])
        #expect(wrong.statusCode == 405 && wrong.header("allow") == "GET, HEAD")
        #expect(wrong.text.contains("rfc7231#section-6.5.5"))
        let get = try await server.get("/api/v2/ticketing/ticket/list", token: token)
        #expect(
            get.statusCode == 405 && (get.object["error"] as? [String: Any])?["code"] as? String == "METHOD_NOT_ALLOWED"
        )
        let large = try await server.send(
            "/api/v2/ticketing/ticket/list", method: .post, token: token, headers: [("x-tenantid", APIServer.tenant)],
            body: [UInt8](repeating: 0x20, count: (1 << 20) + 1))
        #expect(
            large.statusCode == 413
                && (large.object["error"] as? [String: Any])?["code"] as? String == "PAYLOAD_TOO_LARGE")
        let largeQuery = try await server.send(
            "/api/v1/tickets/query", method: .post, token: token, headers: [],
            body: [UInt8](repeating: 0x20, count: 3 << 20))
        #expect(largeQuery.statusCode == 413 && largeQuery.text == #"{"ok": false, "error": "payload_too_large"}"#)
        // A client that sends half a request and stalls is cut off after --timeout.
        let raw = try RawHTTP(port: server.port)
        try raw.send(Array("POST /api/v1/tickets/query HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{\"per".utf8))
        let started = ContinuousClock.now
        _ = raw.readUntilClosed(within: .seconds(20))
        #expect(ContinuousClock.now - started < .seconds(15), "the stalled connection was closed")
        let health = try await server.get("/healthz")
        #expect(health.statusCode == 200 && health.text == "{\"status\": \"ok\"}\n")
        let metrics = try await server.get("/metrics")
        #expect(metrics.statusCode == 200)
        #expect(metrics.text.contains("slawatch_api_requests_total{route=\"dashboard\",status=\"405\"} 1"))
        #expect(
            metrics.text.contains("slawatch_api_request_duration_seconds_bucket{route=\"ticket_list\",le=\"+Inf\"}"))
        #expect(metrics.text.contains("slawatch_delivery_backlog 0"))
    }

    @Test func sigtermLetsRequestsInFlightFinish() async throws {
        let s = try await Setup()
        let server = s.server
        let token = try server.token(role: "ADMIN", scope: "tickets:read")
        // A request whose body is still arriving when SIGTERM comes: it is answered, then the server exits 0.
        let raw = try RawHTTP(port: server.port)
        let body = Array(#"{"perspective_id": 1}"#.utf8)
        try raw.send(
            Array(
                "POST /api/v1/tickets/query HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(body.count)\r\n\r\n"
                    .utf8) + body.prefix(5))
        try await Task.sleep(for: .milliseconds(300))
        kill(server.child.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        try raw.send(Array(body.dropFirst(5)))
        let answer = String(decoding: raw.readUntilClosed(within: .seconds(20)) ?? [], as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(answer.prefix(200))")
        #expect(answer.contains("TKT-2026-00001"))
        #expect(await server.child.waitForExit(timeout: .seconds(30)) == 0)
        #expect(server.child.stderr.contains("stopped"))
        // Nothing listens any more.
        #expect(throws: (any Error).self) { try RawHTTP(port: server.port) }
    }

    @Test func sighupReloadsTheRulesAndKeepsThemWhenInvalid() async throws {
        let s = try await Setup()
        let server = s.server
        // A token minted by `slawatch token` at the same instant opens the API.
        let minted = await slawatch(
            [
                "token", "--rules", s.rules.path, "--role", "MESA", "--scope", "tickets:read", "--now",
                KnownHelpDesk.now,
            ],
            environment: ["SLAWATCH_TEST_JWT_SECRET": APIServer.secret])
        #expect(minted.status == 0, "\(minted.stderr)")
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            try await server.post("/api/v1/tickets/query", token: token, json: #"{"perspective_id": 5}"#).statusCode
                == 404)
        let added = APIServer.rules.replacingOccurrences(
            of: "perspectives: [",
            with:
                #"perspectives: [{ id: 5, name: "Críticos", filter: { column: "priority", op: "EQ", operand: "CRITICA" } },"#
        )
        try added.write(toFile: s.rules.path + "/api.json", atomically: true, encoding: .utf8)
        kill(server.child.process.processIdentifier, SIGHUP)
        let reloaded = await eventually { server.child.stderr.contains("rules reloaded") }
        #expect(reloaded, "\(server.child.stderr)")
        let critical = try await server.post("/api/v1/tickets/query", token: token, json: #"{"perspective_id": 5}"#)
        #expect(critical.statusCode == 200)
        #expect(
            (critical.object["data"] as? [[String: Any]])?.compactMap { $0["number"] as? String }.sorted() == [
                "TKT-2026-00001", "TKT-2026-00002", "TKT-2026-00007",
            ])
        // Invalid rules are logged and the previous ones stay in force.
        try #"{ perspectives: [{ id: "six", name: "x" }] }"#.write(
            toFile: s.rules.path + "/api.json", atomically: true, encoding: .utf8)
        kill(server.child.process.processIdentifier, SIGHUP)
        let refused = await eventually { server.child.stderr.contains("rules not reloaded") }
        #expect(refused, "\(server.child.stderr)")
        #expect(server.child.stderr.contains("perspectives[0].id"))
        #expect(
            try await server.post("/api/v1/tickets/query", token: token, json: #"{"perspective_id": 5}"#).statusCode
                == 200)
        #expect(await server.terminate() == 0)
    }
}
