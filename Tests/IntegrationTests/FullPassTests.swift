import Foundation
import PostgresClient
import SlawatchApp
import SlawatchCore
import SlawatchDemo
import Testing

/// `PostgresCopyStream`, the binary COPY reader a full pass streams the source through.
@Suite struct CopyStreamTests {
    @Test func decodesEveryTypeTheSourceUsesAndEndsCleanly() throws {
        let db = try TestDatabase()
        let connection = try db.connect()
        let query = """
            SELECT g AS n, ('00000000-0000-0000-0000-00000000000' || g)::uuid AS id, CASE WHEN g = 2 THEN NULL ELSE 'Título ' || g END AS title,
                   g % 2 = 0 AS even, timestamptz '2026-03-24 10:30:00.123456Z' + g * interval '1 hour' AS at, g / 4.0::float8 AS q, '' AS empty
            FROM generate_series(1, 3) g ORDER BY g
            """
        let columns = try connection.query(query + " LIMIT 0")
        let types = columns.columnNames.enumerated().map { ($1, columns.columnType($0)) }
        let stream = try PostgresCopyStream(connection: connection, query: query, columns: types)
        var seen: [String] = []
        while let line = try stream.next({ row in
            "\(try row.int(0)) \(try row.string(1)) \(try row.optionalString(2) ?? "NULL") \(try row.bool(3)) \(Instant(microseconds: try row.timestamp(4)).iso8601) \(try row.double(5)) [\(try row.string(6))]"
        }) {
            seen.append(line)
        }
        #expect(try stream.next { _ in } == nil)
        #expect(
            seen == [
                "1 00000000-0000-0000-0000-000000000001 Título 1 false 2026-03-24T11:30:00.123456Z 0.25 []",
                "2 00000000-0000-0000-0000-000000000002 NULL true 2026-03-24T12:30:00.123456Z 0.5 []",
                "3 00000000-0000-0000-0000-000000000003 Título 3 false 2026-03-24T13:30:00.123456Z 0.75 []",
            ])
        // The connection is free again once the stream has ended.
        #expect(try connection.query("SELECT 41 + 1").rows[0].int(0) == 42)
    }

    @Test func aStreamDroppedEarlyLeavesItsConnectionUsable() throws {
        let db = try TestDatabase()
        let connection = try db.connect()
        do {
            let stream = try PostgresCopyStream(
                connection: connection, query: "SELECT g FROM generate_series(1, 2000000) g", columns: [("g", 23)])
            #expect(try stream.next { try $0.int(0) } == 1)
        }
        #expect(try connection.query("SELECT 7").rows[0].int(0) == 7)
    }

    @Test func anErrorMidStreamIsThrownWithTheServersMessage() throws {
        let db = try TestDatabase()
        let connection = try db.connect()
        let stream = try PostgresCopyStream(
            connection: connection, query: "SELECT 10 / (5 - g) FROM generate_series(1, 100000) g", columns: [("q", 23)]
        )
        var rows = 0
        var failure: PostgresError?
        do {
            while try stream.next({ _ in }) != nil { rows += 1 }
        } catch {
            failure = error as? PostgresError
        }
        #expect(rows < 5)
        #expect(failure?.message.contains("division by zero") == true, "\(String(describing: failure))")
        #expect(try connection.query("SELECT 1").rows[0].int(0) == 1)
    }

    @Test func aQueryTheServerRefusesIsAnErrorNotAStream() throws {
        let db = try TestDatabase()
        let connection = try db.connect()
        #expect(throws: PostgresError.self) {
            _ = try PostgresCopyStream(
                connection: connection, query: "SELECT nope FROM nowhere", columns: [("nope", 25)])
        }
        #expect(try connection.query("SELECT 1").rows[0].int(0) == 1)
    }
}

/// A full pass merges three streams ordered by ticket id (tickets, status changes, stored
/// clocks). Each ticket must get exactly its own history, and the clocks of tickets gone from the
/// source must go too, for uuid ids and for text ids whose view collation is not byte order.
@Suite struct FullPassTests {
    static let now = "2026-03-24T15:00:00Z"

    /// The reference help desk with `tickets` generated tickets as of `now`.
    static func generatedHelpDesk(tickets: Int, seed: Double) throws -> (TestDatabase, PostgresConnection) {
        let db = try TestDatabase()
        try db.loadReferenceSchema()
        let connection = try db.connect()
        let generatedAt = ISO8601DateFormatter().date(from: now)!
        let parameters = ReferenceHelpDesk.sampleDataParameters(count: tickets, now: generatedAt, seed: seed).map(
            PostgresParameter.text)
        try connection.query(ReferenceHelpDesk.sampleDataSQL, parameters)
        return (db, connection)
    }

    /// Moves `count` open tickets (in code order, after `skipping`) between EN_ESPERA and
    /// EN_PROCESO at `instant`, with a history row, as a help desk would; returns how many moved.
    @discardableResult
    static func changeStatus(_ connection: PostgresConnection, skipping: Int = 0, count: Int, at instant: String) throws
        -> Int
    {
        try connection.query(
            """
            WITH pick AS (
              SELECT t.id, e.code FROM tickets t JOIN estados e ON e.id = t.estado_id
              WHERE e.code IN ('ABIERTO', 'EN_PROCESO', 'EN_ESPERA') ORDER BY t.codigo OFFSET $1::int LIMIT $2::int
            ), nuevo AS (
              SELECT p.id, (SELECT e.id FROM estados e WHERE e.code = CASE WHEN p.code = 'EN_ESPERA' THEN 'EN_PROCESO' ELSE 'EN_ESPERA' END) AS estado_id
              FROM pick p
            ), hist AS (
              INSERT INTO ticket_historial (ticket_id, estado_id, cambiado_en) SELECT n.id, n.estado_id, $3::timestamptz FROM nuevo n
            )
            UPDATE tickets t SET estado_id = n.estado_id, actualizado_en = $3::timestamptz FROM nuevo n WHERE t.id = n.id
            """, [.text(String(skipping)), .text(String(count)), .text(instant)]
        ).affectedRows
    }

    /// Every stored clock's remaining hours, by ticket id, as of the pass's instant.
    static func storedRemaining(_ connection: PostgresConnection) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try connection.query("SELECT ticket_id, target_us - elapsed_us FROM slawatch.clocks").rows {
            result[try row.string(0)] = Int64(try row.int(1))
        }
        return result
    }

    func check(textIDs: Bool) async throws {
        let (db, connection) = try Self.generatedHelpDesk(tickets: 400, seed: 0.31)
        // Status changes of tickets that do not exist sort first, last and in between.
        let orphanIDs =
            textIDs
            ? ["!first", "5-between", "Zmiddle", "~last"]
            : [
                "00000000-0000-0000-0000-000000000000", "80000000-0000-0000-0000-000000000000",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
            ]
        let idType = textIDs ? "text" : "uuid"
        // Text ids in mixed case under a collation that sorts them differently from bytes.
        let ticketID =
            textIDs
            ? "(CASE WHEN t.codigo ~ '[13579]$' THEN upper(t.id::text) ELSE t.id::text END) COLLATE \"en-x-icu\""
            : "t.id"
        let historyID =
            textIDs
            ? "(CASE WHEN t.codigo ~ '[13579]$' THEN upper(h.ticket_id::text) ELSE h.ticket_id::text END) COLLATE \"en-x-icu\""
            : "h.ticket_id"
        try connection.execute(
            """
            DROP VIEW slawatch_source.status_changes;
            DROP VIEW slawatch_source.tickets;
            CREATE VIEW slawatch_source.tickets AS
            SELECT \(ticketID) AS ticket_id, t.codigo AS code, t.titulo AS title, t.categoria AS category, u.correo AS requester_email,
                   e.code AS status, p.nombre AS priority, a.nombre AS area, a.correo_responsable AS area_manager_email,
                   t.creado_en AS created_at, t.actualizado_en AS updated_at
            FROM tickets t JOIN estados e ON e.id = t.estado_id JOIN prioridades p ON p.id = t.prioridad_id
            LEFT JOIN usuarios u ON u.id = t.usuario_id LEFT JOIN areas a ON a.id = t.area_id;
            CREATE VIEW slawatch_source.status_changes AS
            SELECT \(historyID) AS ticket_id, e.code AS status, h.cambiado_en AS changed_at
            FROM ticket_historial h JOIN tickets t ON t.id = h.ticket_id JOIN estados e ON e.id = h.estado_id
            UNION ALL
            SELECT o.id::\(idType), 'EN_ESPERA', timestamptz '2026-03-01 00:00:00Z' FROM unnest(ARRAY[\(orphanIDs.map { "'\($0)'" }.joined(separator: ", "))]) AS o(id);
            """)
        let base = ["--rules", repositoryRules, "--database", db.url, "--now", Self.now]
        let first = await slawatch(["run", "--once", "--full"] + base)
        #expect(first.status == 0, "\(first.stderr)")
        let cli = await slawatch(["dashboard", "--format", "json"] + base)
        #expect(cli.status == 0, "\(cli.stderr)")
        let rows = try DashboardRow.decode(cli.stdout)
        #expect(rows.count >= 350)
        let stored = try Self.storedRemaining(connection)
        #expect(stored.count == rows.count)
        for row in rows {
            // The CLI groups each ticket's history by id in memory; the pass merged streams.
            let id = row.ticket_uuid
            #expect(stored[id].map { Double($0) / 3_600_000_000 } == row.horas_restantes, "ticket \(row.label)")
        }
        // A clock left behind by a ticket the source no longer has, and a ticket deleted since.
        try connection.execute(
            """
            INSERT INTO slawatch.clocks SELECT 'Mgone', policy, calendar, target_us, sla_horas, running, stopped, elapsed_us, base_us,
                evaluated_us, source_updated_us, source_status, source_priority, next_crossing_us, risk_us
            FROM slawatch.clocks LIMIT 1;
            DELETE FROM ticket_historial WHERE ticket_id = (SELECT id FROM tickets ORDER BY codigo LIMIT 1);
            DELETE FROM tickets WHERE id = (SELECT id FROM tickets ORDER BY codigo LIMIT 1);
            """)
        let second = await slawatch(["run", "--once", "--full"] + base)
        #expect(second.status == 0, "\(second.stderr)")
        let after = try Self.storedRemaining(connection)
        #expect(after.count == rows.count - 1)
        #expect(after["Mgone"] == nil)
        #expect(Set(after.keys).isSubset(of: Set(stored.keys)))
    }

    @Test func uuidIds() async throws { try await check(textIDs: false) }
    @Test func textIdsUnderANonByteCollation() async throws { try await check(textIDs: true) }

    /// A stopped clock of an unchanged ticket is not recomputed by a full pass (it cannot move);
    /// one whose ticket changed is, and so is every clock when a report is due.
    @Test func settledClocksAreKeptAndChangedOnesRecomputed() async throws {
        let (db, connection) = try Self.generatedHelpDesk(tickets: 300, seed: 0.77)
        let base = ["--rules", repositoryRules, "--database", db.url, "--now", Self.now]
        func field(_ name: String, _ result: CLIResult) -> Int? {
            result.stderr.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("\(name)=") }.flatMap {
                Int($0.dropFirst(name.count + 1))
            }
        }
        let first = await slawatch(["run", "--once", "--full"] + base)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(field("settled", first) == 0, "nothing is stored yet: \(first.stderr)")
        let stopped = try connection.query("SELECT count(*) FROM slawatch.clocks WHERE stopped").rows[0].int(0)
        #expect(stopped > 30)
        let second = await slawatch(["run", "--once", "--full"] + base)
        #expect(field("settled", second) == stopped, "\(second.stderr)")
        #expect(field("evaluated", second) == field("evaluated", first), "\(second.stderr)")
        // A closed ticket re-prioritised: a new version of it, with another target.
        let ticket = try connection.query(
            """
            SELECT t.id::text, t.codigo FROM tickets t JOIN estados e ON e.id = t.estado_id JOIN prioridades p ON p.id = t.prioridad_id
            WHERE e.code = 'CERRADO' AND p.nombre <> 'CRITICA' ORDER BY t.codigo LIMIT 1
            """
        ).rows[0]
        let (id, code) = (try ticket.string(0), try ticket.string(1))
        let before = try connection.query("SELECT target_us FROM slawatch.clocks WHERE ticket_id = $1", [.text(id)])
            .rows[0].int(0)
        try connection.execute(
            """
            UPDATE tickets SET prioridad_id = (SELECT id FROM prioridades WHERE nombre = 'CRITICA'), actualizado_en = actualizado_en + interval '1 second'
            WHERE codigo = '\(code)'
            """)
        let third = await slawatch(["run", "--once", "--full"] + base)
        #expect(field("settled", third) == stopped - 1, "\(third.stderr)")
        let after = try connection.query("SELECT target_us FROM slawatch.clocks WHERE ticket_id = $1", [.text(id)])
            .rows[0].int(0)
        #expect(after != before, "the stored clock is of the new version")
        let cli = await slawatch(["dashboard", "--format", "json"] + base)
        let row = try #require(try DashboardRow.decode(cli.stdout).first { $0.label == code })
        let stored = try connection.query(
            "SELECT target_us - elapsed_us FROM slawatch.clocks WHERE ticket_id = $1", [.text(id)]
        ).rows[0].int(0)
        #expect(Double(stored) / 3_600_000_000 == row.horas_restantes)
    }

    /// An incremental cycle with hundreds of changes reads and writes them in two halves on two
    /// connections; the clocks it stores are the ones a full pass stores at the same instant, and
    /// the versions it saw carry over to the next process.
    @Test func anIncrementalCycleStoresWhatAFullPassWould() async throws {
        let (db, connection) = try Self.generatedHelpDesk(tickets: 1_500, seed: 0.42)
        let base = ["--rules", repositoryRules, "--database", db.url, "--full-every", "1h"]
        func field(_ name: String, _ result: CLIResult) -> String? {
            result.stderr.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("\(name)=") }.map {
                String($0.dropFirst(name.count + 1))
            }
        }
        func clocks() throws -> [String] {
            try connection.query(
                """
                SELECT concat_ws(' ', ticket_id, policy, calendar, target_us, running, stopped, elapsed_us, base_us, source_updated_us,
                                 source_status, source_priority, next_crossing_us, risk_us)
                FROM slawatch.clocks ORDER BY ticket_id
                """
            ).rows.map { try $0.string(0) }
        }
        let first = await slawatch(["run", "--once", "--full", "--now", "2026-03-24T15:00:00Z"] + base)
        #expect(first.status == 0, "\(first.stderr)")
        let changed = try Self.changeStatus(connection, count: 400, at: "2026-03-24T15:00:20Z")
        #expect(changed == 400)
        let second = await slawatch(["run", "--once", "--now", "2026-03-24T15:01:00Z"] + base)
        #expect(second.status == 0 && field("full", second) == "false", "\(second.stderr)")
        #expect(Int(field("evaluated", second) ?? "") ?? 0 >= 400, "\(second.stderr)")
        // The versions the second process stored clocks for are not evaluated again by the third.
        let third = await slawatch(["run", "--once", "--now", "2026-03-24T15:02:00Z"] + base)
        #expect(third.status == 0 && field("full", third) == "false", "\(third.stderr)")
        #expect(Int(field("evaluated", third) ?? "") ?? 1_000 < 100, "\(third.stderr)")
        let incremental = try clocks()
        let full = await slawatch(["run", "--once", "--full", "--now", "2026-03-24T15:02:00Z"] + base)
        #expect(full.status == 0, "\(full.stderr)")
        let afterFull = try clocks()
        #expect(incremental.count == afterFull.count)
        #expect(
            incremental == afterFull,
            "first difference: \(zip(incremental, afterFull).first { $0 != $1 }.map { "\($0.0) / \($0.1)" } ?? "in count")"
        )
    }

    /// A running worker's second connection is cut between cycles: the next cycle with hundreds
    /// of changes says so, does the work on its first connection, and the worker goes on.
    @Test func aWorkerGoesOnWithOneConnectionWhenItsSecondIsCut() async throws {
        let executable = try WorkerProcessTests.requireExecutable()
        let (db, connection) = try Self.generatedHelpDesk(tickets: 1_500, seed: 0.58)
        let child = try WorkerProcessTests.Child(
            executable,
            [
                "run", "--interval", "1s", "--full-every", "1h", "--rules", repositoryRules, "--database", db.url,
                "--now", Self.now,
            ])
        defer { if child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) } }
        func bigCycles() -> Int {
            child.stderr.split(separator: "\n").filter { line in
                line.contains(" cycle ") && line.contains("full=false")
                    && line.split(separator: " ").contains {
                        $0.hasPrefix("evaluated=") && (Int($0.dropFirst(10)) ?? 0) >= 300
                    }
            }.count
        }
        let started = await eventually(timeout: .seconds(30)) {
            child.stderr.contains(" cycle ") || !child.process.isRunning
        }
        try #require(started && child.process.isRunning, "stderr: \(child.stderr)")
        try Self.changeStatus(connection, count: 300, at: "2026-03-24T14:59:30Z")
        let first = await eventually(timeout: .seconds(30)) { bigCycles() >= 1 || !child.process.isRunning }
        try #require(first && child.process.isRunning, "stderr: \(child.stderr)")
        // The session holding the evaluator's lock is the first connection; the other is the second.
        let cut = try connection.query(
            """
            SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.application_name = 'slawatch' AND a.pid <> pg_backend_pid()
              AND a.pid NOT IN (SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted)
            """
        ).rows[0].int(0)
        #expect(cut == 1)
        try Self.changeStatus(connection, skipping: 600, count: 300, at: "2026-03-24T14:59:40Z")
        let second = await eventually(timeout: .seconds(30)) { bigCycles() >= 2 || !child.process.isRunning }
        #expect(second && child.process.isRunning, "stderr: \(child.stderr)")
        #expect(child.stderr.contains("second database connection lost"), "stderr: \(child.stderr)")
        let stored = try connection.query(
            "SELECT count(*) FROM slawatch.clocks WHERE source_updated_us = $1::bigint",
            [.text("1774364380000000")]
        ).rows[0].int(0)
        #expect(stored == 300, "the second batch's clocks are of its new version")
        kill(child.process.processIdentifier, SIGTERM)
        let status = await child.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "stderr: \(child.stderr)")
    }

    /// Columns of a domain type are read as their base type, in full passes and incremental cycles.
    @Test func viewColumnsOfADomainTypeAreReadAsTheirBaseType() async throws {
        let (db, connection) = try Self.generatedHelpDesk(tickets: 300, seed: 0.11)
        try connection.execute(
            """
            CREATE DOMAIN public.correo AS text;
            CREATE DOMAIN public.identificador AS uuid;
            CREATE DOMAIN public.correo_de_area AS public.correo;
            DROP VIEW slawatch_source.tickets;
            CREATE VIEW slawatch_source.tickets AS
            SELECT t.id::public.identificador AS ticket_id, t.codigo AS code, t.titulo AS title, t.categoria AS category,
                   u.correo::public.correo AS requester_email, e.code AS status, p.nombre AS priority, a.nombre AS area,
                   a.correo_responsable::public.correo_de_area AS area_manager_email, t.creado_en AS created_at, t.actualizado_en AS updated_at
            FROM tickets t JOIN estados e ON e.id = t.estado_id JOIN prioridades p ON p.id = t.prioridad_id
            LEFT JOIN usuarios u ON u.id = t.usuario_id LEFT JOIN areas a ON a.id = t.area_id;
            """)
        let base = ["--rules", repositoryRules, "--database", db.url, "--full-every", "1h"]
        let full = await slawatch(["run", "--once", "--full", "--now", Self.now] + base)
        #expect(full.status == 0 && full.stderr.contains("full=true"), "\(full.stderr)")
        try connection.execute(
            "UPDATE tickets SET actualizado_en = '2026-03-24T14:59:50Z' WHERE codigo = (SELECT min(codigo) FROM tickets)"
        )
        let incremental = await slawatch(["run", "--once", "--now", "2026-03-24T15:01:00Z"] + base)
        #expect(incremental.status == 0 && incremental.stderr.contains("full=false"), "\(incremental.stderr)")
        let cli = await slawatch(["dashboard", "--format", "json", "--now", Self.now] + base.dropLast(2))
        #expect(cli.status == 0, "\(cli.stderr)")
        let rows = try DashboardRow.decode(cli.stdout)
        #expect(rows.count > 200)
    }

    /// The CLI dashboard streams the source and writes its rows a thousand at a time: still one
    /// JSON array, every ticket with a clock once, in dashboard order.
    @Test func theDashboardOfThousandsOfTicketsIsOneArray() async throws {
        let (db, connection) = try Self.generatedHelpDesk(tickets: 2_500, seed: 0.9)
        let cli = await slawatch([
            "dashboard", "--format", "json", "--rules", repositoryRules, "--database", db.url, "--now", Self.now,
        ])
        #expect(cli.status == 0, "\(cli.stderr)")
        let rows = try DashboardRow.decode(cli.stdout)
        #expect(rows.count == 2_500)
        #expect(Set(rows.map(\.ticket_uuid)).count == rows.count)
        let updated = try rows.map { try #require(Instant(iso8601: $0.actualizado_en)) }
        #expect(
            zip(zip(rows, updated), zip(rows, updated).dropFirst()).allSatisfy { x, y in
                x.1 > y.1 || (x.1 == y.1 && x.0.label.utf8.lexicographicallyPrecedes(y.0.label.utf8))
            })
        let tickets = try connection.query("SELECT count(*) FROM tickets").rows[0].int(0)
        #expect(tickets == 2_500)
    }
}
