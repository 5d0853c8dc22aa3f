import Foundation
import Testing

@Suite struct TicketCommandTests {
    @Test func ticketExplainsItsClockAndListsItsEvents() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules,
            "routes.json":
                #"{ channels: { consola: { type: "log" } }, routes: [{ events: ["sla.breached"], channels: ["consola"] }] }"#,
        ])
        let base = ["--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now]
        let before = await slawatch(["ticket", "TKT-2026-00003"] + base)
        #expect(before.status == 0, "\(before.stderr)")
        // Friday 16:00–18:00 Bogotá, Monday 2026-03-23 a holiday, Tuesday 08:00–10:00.
        #expect(before.stdout.contains("policy \"general\", calendar \"oficina\""))
        #expect(before.stdout.contains("2026-03-20T21:00:00Z → 2026-03-20T23:00:00Z  2h"))
        #expect(before.stdout.contains("2026-03-24T13:00:00Z → 2026-03-24T15:00:00Z  2h"))
        #expect(before.stdout.contains("holidays skipped: 2026-03-23"))
        #expect(before.stdout.contains("events: none recorded"))

        let run = await slawatch(["run", "--once"] + base)
        #expect(run.status == 0, "\(run.stderr)")
        let after = await slawatch(["ticket", "TKT-2026-00001", "--format", "json"] + base)
        #expect(after.status == 0, "\(after.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any])
        let events = try #require(object["events"] as? [[String: Any]])
        // Breached at 14:00 (4 h of 24x7 from 10:00), found at 15:00: warnings 50 and 75 % recorded too.
        #expect(events.map { $0["kind"] as? String } == ["sla.warning", "sla.warning", "sla.breached"])
        let breach = try #require(events.last)
        #expect(breach["crossed_at"] as? String == "2026-03-24T14:00:00Z")
        let deliveries = try #require(breach["deliveries"] as? [[String: Any]])
        #expect(deliveries.count == 1)
        #expect(deliveries.first?["status"] as? String == "sent")
        #expect(object["due_at"] as? String == "2026-03-24T14:00:00Z")
        #expect(object["sla_status"] as? String == "breached")
    }

    @Test func aFilterOnAnUnknownColumnIsABadUsage() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let result = await slawatch([
            "dashboard", "--format", "json", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
            "--filter", #"{"column": "no_such_column", "op": "EQ", "operand": 1}"#,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no_such_column"))
        // A column the view does have, beyond the required ones, is read and compared.
        try db.connect().execute(
            """
            CREATE OR REPLACE VIEW slawatch_source.tickets AS
            SELECT t.id AS ticket_id, t.codigo AS code, t.titulo AS title, t.categoria AS category, u.correo AS requester_email,
                   e.code AS status, p.nombre AS priority, a.nombre AS area, a.correo_responsable AS area_manager_email,
                   t.creado_en AS created_at, t.actualizado_en AS updated_at, length(t.titulo) AS title_length
            FROM tickets t JOIN estados e ON e.id = t.estado_id JOIN prioridades p ON p.id = t.prioridad_id
            LEFT JOIN usuarios u ON u.id = t.usuario_id LEFT JOIN areas a ON a.id = t.area_id
            """)
        let long = await slawatch([
            "dashboard", "--format", "json", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
            "--filter", #"{"column": "title_length", "op": "GT", "operand": 30}"#,
        ])
        #expect(long.status == 0, "\(long.stderr)")
        #expect(
            try DashboardRow.decode(long.stdout).map(\.label) == ["TKT-2026-00001", "TKT-2026-00003", "TKT-2026-00004"])
    }
}
