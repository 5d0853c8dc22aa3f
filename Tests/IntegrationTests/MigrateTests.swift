import Foundation
import PostgresClient
import SlawatchApp
import SlawatchCore
import SlawatchDemo
import Testing

@Suite struct MigrateTests {
    @Test func migrateTwiceChangesNothing() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let args = ["migrate", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now]
        let first = await slawatch(args)
        #expect(first.status == 0, "\(first.stderr)")
        let connection = try db.connect()
        func snapshot() throws -> [String] {
            let sql = """
                SELECT format('%s.%s', table_name, column_name) FROM information_schema.columns WHERE table_schema = 'slawatch'
                UNION ALL SELECT 'migration ' || version FROM slawatch.schema_migrations
                UNION ALL SELECT 'policy ' || position || name FROM slawatch.policies
                UNION ALL SELECT 'intervals ' || calendar || count(*) FROM slawatch.calendar_intervals GROUP BY calendar
                UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'slawatch'
                ORDER BY 1
                """
            return try connection.query(sql).rows.map { try $0.string(0) }
        }
        func functionOID() throws -> Int {
            try connection.query(
                "SELECT coalesce(to_regprocedure('slawatch.fn_dashboard_tickets_full_filtrado(text,text)')::oid::int8, 0)"
            ).rows[0].int(0)
        }
        let before = try snapshot()
        let oid = try functionOID()
        let second = await slawatch(args)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try snapshot() == before)
        // Nothing changed, so no DDL ran: the function is the same object.
        #expect(try functionOID() == oid)
        // A function dropped by hand is installed again.
        try connection.execute("DROP FUNCTION slawatch.fn_dashboard_tickets_full_filtrado(text, text)")
        let third = await slawatch(args)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try functionOID() != 0)
        #expect(try snapshot() == before)
        #expect(before.contains("function fn_dashboard_tickets_full_filtrado(text,text)"))
    }

    /// Runs the installed function and the CLI at the same instant (the transaction's `now()`)
    /// and expects the same rows with the same values, to the last bit of every double.
    func expectFunctionEqualsCLI(_ db: TestDatabase, rules: String, role: String, area: String?) async throws {
        let connection = try db.connect()
        let (now, rows): (String, [DashboardRow]) = try connection.transaction {
            let now = Instant(microseconds: try connection.query("SELECT now()").rows[0].timestamp(0))
            let result = try connection.query(
                "SELECT * FROM slawatch.fn_dashboard_tickets_full_filtrado($1, $2)",
                [.text(role), PostgresParameter(area)])
            let rows = try result.rows.map { r in
                DashboardRow(
                    ticket_uuid: try r.string(0), label: try r.string(1), categoria: try r.optionalString(2),
                    correo: try r.optionalString(3), estado_code: try r.string(4), prioridad_nom: try r.string(5),
                    area_asignada: try r.optionalString(6),
                    actualizado_en: Instant(microseconds: try r.timestamp(7)).iso8601,
                    sla_horas: try r.double(8), horas_restantes: try r.double(9), vencido: try r.bool(10))
            }
            return (now.iso8601, rows)
        }
        var args = [
            "dashboard", "--format", "json", "--rules", rules, "--database", db.url, "--now", now, "--role", role,
        ]
        if let area { args += ["--area", area] }
        let cli = await slawatch(args)
        #expect(cli.status == 0, "\(cli.stderr)")
        let cliRows = try DashboardRow.decode(cli.stdout)
        #expect(rows.count == cliRows.count)
        #expect(!rows.isEmpty)
        for (sqlRow, cliRow) in zip(rows, cliRows) { #expect(sqlRow == cliRow) }
    }

    @Test func functionAgreesWithCLIOnKnownHelpDesk() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", db.url])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        try await expectFunctionEqualsCLI(db, rules: rules.path, role: "ADMIN", area: nil)
        try await expectFunctionEqualsCLI(db, rules: rules.path, role: "AREA", area: "TECNOLOGIA")
    }

    @Test func functionAgreesWithCLIOnGeneratedHelpDesk() async throws {
        let db = try TestDatabase()
        try db.loadReferenceSchema()
        let connection = try db.connect()
        let parameters = ReferenceHelpDesk.sampleDataParameters(count: 400, now: Date(), seed: 0.42).map(
            PostgresParameter.text)
        try connection.query(ReferenceHelpDesk.sampleDataSQL, parameters)
        let migrate = await slawatch(["migrate", "--rules", repositoryRules, "--database", db.url])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "ADMIN", area: nil)
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "MESA", area: nil)
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "AREA", area: "FACTURACION")
    }

    /// After a worker cycle the function reads stored clocks (plain arithmetic per row); a ticket
    /// changed since then is computed in full. Both must equal the CLI.
    @Test func functionAgreesWithCLIFromStoredClocksAndAfterAChange() async throws {
        let db = try TestDatabase()
        try db.loadReferenceSchema()
        let connection = try db.connect()
        let parameters = ReferenceHelpDesk.sampleDataParameters(count: 300, now: Date(), seed: 0.7).map(
            PostgresParameter.text)
        try connection.query(ReferenceHelpDesk.sampleDataSQL, parameters)
        let run = await slawatch(["run", "--once", "--rules", repositoryRules, "--database", db.url])
        #expect(run.status == 0, "\(run.stderr)")
        let stored = try connection.query("SELECT count(*) FROM slawatch.clocks").rows[0].int(0)
        #expect(stored > 250, "the worker stores the clocks of the tickets it evaluated")
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "ADMIN", area: nil)
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "AREA", area: "TECNOLOGIA")
        // Pause one running ticket and re-prioritise another, as the help desk would.
        try connection.execute(
            """
            WITH t AS (SELECT id FROM tickets WHERE estado_id = (SELECT id FROM estados WHERE code = 'EN_PROCESO') ORDER BY codigo LIMIT 1)
            UPDATE tickets SET estado_id = (SELECT id FROM estados WHERE code = 'EN_ESPERA'), actualizado_en = now() WHERE id IN (SELECT id FROM t);
            INSERT INTO ticket_historial (ticket_id, estado_id, cambiado_en)
              SELECT id, estado_id, actualizado_en FROM tickets WHERE actualizado_en = (SELECT max(actualizado_en) FROM tickets) LIMIT 1;
            WITH t AS (SELECT id FROM tickets WHERE prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'BAJA') ORDER BY codigo LIMIT 1)
            UPDATE tickets SET prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'ALTA'), actualizado_en = now() + interval '1 millisecond'
            WHERE id IN (SELECT id FROM t);
            """)
        try await expectFunctionEqualsCLI(db, rules: repositoryRules, role: "ADMIN", area: nil)
    }

    /// A ticket that no longer has a clock (its new priority has no target) loses its stored one,
    /// whether a full pass or an incremental cycle finds it; so no reminder or wake-up is left for it.
    @Test(arguments: [true, false])
    func aTicketThatLosesItsClockLosesItsStoredClock(full: Bool) async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let base = ["--rules", rules.path, "--database", db.url, "--full-every", "1h"]
        let first = await slawatch(["run", "--once", "--full", "--now", KnownHelpDesk.now] + base)
        #expect(first.status == 0, "\(first.stderr)")
        let connection = try db.connect()
        func stored() throws -> Int {
            try connection.query(
                "SELECT count(*) FROM slawatch.clocks WHERE ticket_id = '00000000-0000-0000-0000-000000000003'"
            ).rows[0].int(0)
        }
        #expect(try stored() == 1)
        // BAJA has no target in these rules.
        try connection.execute(
            """
            UPDATE tickets SET prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'BAJA'), actualizado_en = '2026-03-24T15:00:30Z'
            WHERE codigo = 'TKT-2026-00003'
            """)
        let second = await slawatch(
            ["run", "--once", "--now", "2026-03-24T15:01:00Z"] + (full ? ["--full"] : []) + base)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("full=\(full)"), "\(second.stderr)")
        #expect(try stored() == 0)
    }

    /// An incremental cycle looks back past its predecessor; what it finds there in the version
    /// it already evaluated is not evaluated again, and what changed since is.
    @Test func anIncrementalCycleEvaluatesOnlyVersionsItHasNotSeen() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let base = ["--rules", rules.path, "--database", db.url, "--full-every", "1h"]
        func evaluated(_ result: CLIResult) -> String? {
            result.stderr.split(separator: " ").first { $0.hasPrefix("evaluated=") }.map {
                String($0.dropFirst("evaluated=".count))
            }
        }
        let first = await slawatch(["run", "--once", "--full", "--now", "2026-03-24T15:00:00Z"] + base)
        #expect(first.status == 0, "\(first.stderr)")
        let connection = try db.connect()
        // Within the look-back window of the next cycle; the first of them is changed again below.
        try connection.execute(
            """
            UPDATE tickets SET actualizado_en = '2026-03-24T15:00:40Z', estado_id = (SELECT id FROM estados WHERE code = 'EN_PROCESO')
            WHERE codigo IN ('TKT-2026-00001', 'TKT-2026-00002')
            """)
        let second = await slawatch(["run", "--once", "--now", "2026-03-24T15:01:00Z"] + base)
        #expect(second.status == 0 && second.stderr.contains("full=false"), "\(second.stderr)")
        // Plus, every time, the ticket created at 16:00: a clock that starts later is not stored.
        #expect(evaluated(second) == "3", "\(second.stderr)")
        let third = await slawatch(["run", "--once", "--now", "2026-03-24T15:02:00Z"] + base)
        #expect(evaluated(third) == "1", "\(third.stderr)")
        try connection.execute(
            """
            UPDATE tickets SET actualizado_en = '2026-03-24T15:02:30Z', prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'CRITICA')
            WHERE codigo = 'TKT-2026-00001'
            """)
        let fourth = await slawatch(["run", "--once", "--now", "2026-03-24T15:03:00Z"] + base)
        #expect(evaluated(fourth) == "2", "\(fourth.stderr)")
    }

    /// A change written with an `updated_at` already in the past is invisible to an incremental
    /// cycle. With the automatic cadence a help desk whose full pass takes under 0.2 s is evaluated
    /// in full every cycle, so the next `run --once`, a second later, finds it; with
    /// `--full-every 1h` it waits for the hour.
    @Test func theAutomaticCadenceFindsAChangeWrittenInThePast() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let base = ["--rules", rules.path, "--database", db.url]
        let first = await slawatch(["run", "--once", "--now", "2026-03-24T15:00:00Z"] + base)
        #expect(first.status == 0 && first.stderr.contains("full=true"), "\(first.stderr)")
        let connection = try db.connect()
        func storedPriority() throws -> String? {
            try connection.query(
                "SELECT source_priority FROM slawatch.clocks WHERE ticket_id = '00000000-0000-0000-0000-000000000001'"
            ).rows.first
                .map { try $0.string(0) }
        }
        let before = try storedPriority()
        try connection.execute(
            """
            UPDATE tickets SET actualizado_en = '2026-03-24T12:00:00Z', prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'ALTA')
            WHERE codigo = 'TKT-2026-00001'
            """)
        let hourly = await slawatch(
            ["run", "--once", "--now", "2026-03-24T15:00:00.500Z", "--full-every", "1h"] + base)
        #expect(hourly.status == 0 && hourly.stderr.contains("full=false"), "\(hourly.stderr)")
        #expect(try storedPriority() == before)
        // As if the last full pass had taken 20 ms: under 0.2 s, every cycle is a full pass.
        try connection.execute("UPDATE slawatch.worker_state SET value_us = 20000 WHERE key = 'full_duration'")
        let automatic = await slawatch(["run", "--once", "--now", "2026-03-24T15:00:01Z"] + base)
        #expect(automatic.status == 0 && automatic.stderr.contains("full=true"), "\(automatic.stderr)")
        // As if it had taken 30 s: the next one is due 100 times that later, 50 minutes.
        try connection.execute("UPDATE slawatch.worker_state SET value_us = 30000000 WHERE key = 'full_duration'")
        let soon = await slawatch(["run", "--once", "--now", "2026-03-24T15:50:00Z"] + base)
        #expect(soon.status == 0 && soon.stderr.contains("full=false"), "\(soon.stderr)")
        let later = await slawatch(["run", "--once", "--now", "2026-03-24T15:50:02Z"] + base)
        #expect(later.status == 0 && later.stderr.contains("full=true"), "\(later.stderr)")
        let after = try storedPriority()
        #expect(before == "CRITICA" && after == "ALTA")
        let bad = await slawatch(["run", "--once", "--full-every", "often"] + base)
        #expect(bad.status == 2 && bad.stderr.contains("--full-every"), "\(bad.stderr)")
    }
}
