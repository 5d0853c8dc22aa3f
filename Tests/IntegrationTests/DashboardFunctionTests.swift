import Foundation
import PostgresClient
import Testing

/// The installed dashboard function reads a ticket's stored clock when it was computed from the
/// ticket's current version, and computes every other ticket in full, within one call.
@Suite struct DashboardFunctionTests {
    /// Stored clocks for every ticket of the known help desk, from a worker cycle at the real now.
    func helpDeskWithStoredClocks() async throws -> (TestDatabase, TemporaryRules, PostgresConnection) {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let run = await slawatch(["run", "--once", "--full", "--rules", rules.path, "--database", db.url])
        #expect(run.status == 0, "\(run.stderr)")
        let connection = try db.connect()
        // Every ticket but TKT-2026-00005, whose priority BAJA has no target.
        #expect(try connection.query("SELECT count(*) FROM slawatch.clocks").rows[0].int(0) == 6)
        return (db, rules, connection)
    }

    func function(_ connection: PostgresConnection, role: String = "ADMIN") throws -> [String: Double] {
        var sla: [String: Double] = [:]
        for row in try connection.query(
            "SELECT label, sla_horas FROM slawatch.fn_dashboard_tickets_full_filtrado($1, NULL)", [.text(role)]
        ).rows {
            sla[try row.string(0)] = try row.double(1)
        }
        return sla
    }

    /// Tickets whose stored clock matches their current updated_at, status and priority.
    func freshClocks(_ connection: PostgresConnection) throws -> Int {
        try connection.query(
            """
            SELECT count(*) FROM slawatch_source.tickets s JOIN slawatch.clocks k ON k.ticket_id = s.ticket_id::text
            WHERE k.source_updated_us = (extract(epoch FROM COALESCE(s.updated_at, s.created_at)) * 1000000)::bigint
              AND k.source_status = s.status AND k.source_priority = s.priority
            """
        ).rows[0].int(0)
    }

    /// Fresh, stale and missing clocks in one call: a pause and a re-prioritisation that moves a
    /// ticket to another policy (its filter no longer matches), one to a priority without a target
    /// (left out), a deleted clock; the rest read from their stored clocks. All equal the CLI's.
    @Test func freshStaleAndMissingClocksInOneCallEqualTheCLI() async throws {
        let (db, rules, connection) = try await helpDeskWithStoredClocks()
        try connection.execute(
            """
            UPDATE tickets SET estado_id = (SELECT id FROM estados WHERE code = 'EN_ESPERA'), actualizado_en = now()
            WHERE codigo = 'TKT-2026-00001';
            INSERT INTO ticket_historial (ticket_id, estado_id, cambiado_en)
              SELECT id, estado_id, actualizado_en FROM tickets WHERE codigo = 'TKT-2026-00001';
            UPDATE tickets SET prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'ALTA'), actualizado_en = now()
            WHERE codigo = 'TKT-2026-00002';
            UPDATE tickets SET prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'BAJA'), actualizado_en = now()
            WHERE codigo = 'TKT-2026-00003';
            DELETE FROM slawatch.clocks WHERE ticket_id = '00000000-0000-0000-0000-000000000004';
            """)
        #expect(try freshClocks(connection) == 2, "TKT-2026-00006 and TKT-2026-00007 keep fresh clocks")
        let rows = try function(connection)
        #expect(
            Set(rows.keys) == [
                "TKT-2026-00001", "TKT-2026-00002", "TKT-2026-00004", "TKT-2026-00006", "TKT-2026-00007",
            ])
        #expect(rows["TKT-2026-00002"] == 8, "re-targeted by the general policy")
        let migrate = MigrateTests()
        try await migrate.expectFunctionEqualsCLI(db, rules: rules.path, role: "ADMIN", area: nil)
        try await migrate.expectFunctionEqualsCLI(db, rules: rules.path, role: "MESA", area: nil)
        try await migrate.expectFunctionEqualsCLI(db, rules: rules.path, role: "AREA", area: "TECNOLOGIA")
    }

    /// A fresh stored clock is what the function reports (it does not recompute the ticket), and
    /// once the ticket changes the stored clock is no longer trusted.
    @Test func aFreshStoredClockIsReadAndAStaleOneIsNot() async throws {
        let (db, rules, connection) = try await helpDeskWithStoredClocks()
        #expect(try freshClocks(connection) == 6)
        try connection.execute(
            "UPDATE slawatch.clocks SET sla_horas = 99.5 WHERE ticket_id = '00000000-0000-0000-0000-000000000006'")
        #expect(try function(connection)["TKT-2026-00006"] == 99.5)
        try connection.execute("UPDATE tickets SET actualizado_en = now() WHERE codigo = 'TKT-2026-00006'")
        #expect(try function(connection)["TKT-2026-00006"] == 8)
        try await MigrateTests().expectFunctionEqualsCLI(db, rules: rules.path, role: "ADMIN", area: nil)
    }
}
