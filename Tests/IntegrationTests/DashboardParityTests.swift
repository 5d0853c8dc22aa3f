import Foundation
import PostgresClient
import SlawatchCore
import Testing

/// The dashboard function computes in SQL what the engine computes in Swift (README, "The
/// dashboard": equal to the last bit of every double), on a help desk generated from a fixed seed
/// (`ParityHelpDesk`) in a database whose collation is not byte order: the filters of policies one
/// condition at a time, then the whole function with clocks computed in SQL, read from a worker's
/// stored clocks, and recomputed after the tickets changed.
///
/// The tickets are placed around the moment the test runs (the function counts to `now()`), so a
/// seed gives the same help desk around another instant. A failure names the seed, that instant
/// and the ticket; SLAWATCH_PARITY_SEED (decimal or 0x-hex) runs another seed.
@Suite struct DashboardParityTests {
    static let seed: UInt64 = {
        let text = ProcessInfo.processInfo.environment["SLAWATCH_PARITY_SEED"] ?? ""
        if text.hasPrefix("0x"), let v = UInt64(text.dropFirst(2), radix: 16) { return v }
        return UInt64(text) ?? 0x5EED_DA5B_0A2D_2026
    }()
    static var seedText: String { "seed 0x" + String(seed, radix: 16) }

    /// A generated help desk loaded into its own database, with its rules migrated.
    struct Prepared {
        let db: TestDatabase
        let rules: TemporaryRules
        let ruleSet: RuleSet
        let connection: PostgresConnection
    }

    static func prepare(_ desk: ParityHelpDesk, calendars: String, policies: [String]) async throws -> Prepared {
        let db = try TestDatabase(icuLocale: "es")
        let connection = try db.connect()
        try connection.execute(ParityHelpDesk.schemaSQL)
        try desk.write(connection)
        let text = desk.rulesText(calendars: calendars, policies: policies)
        let rules = try TemporaryRules(["parity.json": text])
        let ruleSet = try RulesLoader.load(files: [(path: "parity.json", contents: Data(text.utf8))], environment: [:])
        let migrate = await slawatch(["migrate", "--rules", rules.path, "--database", db.url])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        return Prepared(db: db, rules: rules, ruleSet: ruleSet, connection: connection)
    }

    static func currentInstant() -> Instant { Instant(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000)) }

    /// The kinds the function compares the tickets view's columns by.
    static func kinds(_ connection: PostgresConnection) throws -> String {
        try connection.query("SELECT slawatch.filter_kinds('parity.tickets'::regclass)::text").rows[0].string(0)
    }

    // MARK: - Filters

    /// Conditions on which the function and the engine disagreed: a LIKE pattern ending in a lone
    /// backslash (PostgreSQL rejected it), accents composed or not, a real column, a domain over
    /// numeric, text read as a number or an instant (the engine takes decimal numbers and ISO 8601
    /// with a zone only, and drops digits of a fraction past the sixth), and a ticket without title,
    /// priority or updated_at.
    static let onceDifferent: [(String, String, String)] = [
        ("note", "LIKE", #""%\\""#), ("note", "LIKE", #""alpha\\""#), ("note", "LIKE", #""_cole""#),
        ("note", "EQ", #""\u00e9cole""#), ("note", "GT", #""e\u0301cole""#),
        ("ratio", "EQ", "0.1"), ("ratio", "GT", "0.1"), ("weight", "GE", #""1000""#), ("weight", "LIKE", #""%""#),
        ("note", "GT", "5"), ("note", "EQ", "26"), ("score", "GT", #""nan""#), ("amount", "LT", #""0x10""#),
        ("due_by", "GT", #""2026-03-01T10:00:00""#), ("due_by", "LT", #""2026-12-31T10:00:00.1234567Z""#),
        ("local_at", "GE", #""2026-11-30""#), ("title", "EQ", #""""#), ("priority", "NE", #""ALTA""#),
        ("updated_at", "EQ", "null"), ("updated_at", "GT", #""2026-01-01T00:00:00Z""#),
    ]

    /// Every column with every operator three times, nested groups, and `onceDifferent`: each a
    /// policy's `when`, compiled by `migrate` and evaluated by the SQL the function uses, against
    /// `Filter` on every ticket.
    @Test func policyFiltersInSQLEqualTheEngine() async throws {
        var desk = ParityHelpDesk(seed: Self.seed, now: Self.currentInstant(), tickets: 300)
        let calendars = desk.calendarsJSON()
        var conditions: [(column: ParityHelpDesk.Column?, op: String)] = []
        var policies: [String] = []
        for column in ParityHelpDesk.filterColumns {
            for op in ParityHelpDesk.operators {
                for _ in 0..<3 {
                    policies.append(desk.policyJSON(name: "c\(policies.count)", when: desk.condition(column, op)))
                    conditions.append((column, op))
                }
            }
        }
        for _ in 0..<40 {
            policies.append(desk.policyJSON(name: "c\(policies.count)", when: desk.filter(depth: 3)))
            conditions.append((nil, "group"))
        }
        for (column, op, operand) in Self.onceDifferent {
            let condition = #"{"column": "\#(column)", "op": "\#(op)", "operand": \#(operand)}"#
            policies.append(desk.policyJSON(name: "c\(policies.count)", when: condition))
            conditions.append((ParityHelpDesk.filterColumns.first { $0.name == column }, op))
        }
        let p = try await Self.prepare(desk, calendars: calendars, policies: policies)
        // As the function reads the tickets: the kinds of the columns once, every row through
        // filter_subject.
        let result = try p.connection.query(
            """
            WITH s AS MATERIALIZED (
              SELECT s.ticket_id, slawatch.filter_subject(to_jsonb(s)) AS subject FROM parity.tickets s)
            SELECT p.position::int, p.when_filter::text,
                   string_agg(CASE WHEN slawatch.filter_matches(p.when_filter, s.subject, $1::jsonb) THEN '1' ELSE '0' END,
                              '' ORDER BY s.ticket_id)
            FROM slawatch.policies p CROSS JOIN s
            GROUP BY p.position, p.when_filter::text ORDER BY p.position
            """, [.text(try Self.kinds(p.connection))])
        #expect(result.rows.count == policies.count)
        // The view's order: uuids sort as their lowercase hex text.
        let tickets = desk.tickets.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        var mismatches: [String] = []
        var outcomes: [String: (matched: Int, unmatched: Int)] = [:]
        for row in result.rows {
            let position = try row.int(0)
            let compiled = try row.string(1)
            let bits = Array(try row.string(2).utf8)
            let filter = p.ruleSet.policies[position].when!
            let (column, op) = conditions[position]
            for (i, ticket) in tickets.enumerated() {
                let inSQL = bits[i] == UInt8(ascii: "1")
                let inSwift = filter.matches(ticket.source)
                outcomes[op, default: (0, 0)].matched += inSQL ? 1 : 0
                outcomes[op, default: (0, 0)].unmatched += inSQL ? 0 : 1
                guard inSQL != inSwift else { continue }
                let value =
                    column.map { " \($0.name)=\(String(describing: ticket.source.value(of: $0.name) ?? .null))" } ?? ""
                mismatches.append(
                    "\(Self.seedText): \(compiled) is \(inSQL) in SQL, \(inSwift) in Swift for\(value) of \(ticket.description)"
                )
            }
        }
        for line in mismatches.prefix(12) { Issue.record(Comment(rawValue: line)) }
        #expect(mismatches.isEmpty, "\(Self.seedText): \(mismatches.count) of \(tickets.count * policies.count) differ")
        // The generator reaches both outcomes of every operator.
        for op in ParityHelpDesk.operators + ["group"] {
            let seen = outcomes[op] ?? (0, 0)
            #expect(seen.matched > 0 && seen.unmatched > 0, "\(op): \(seen)")
        }
    }

    /// A numeric column reads as the double nearest its value, as the function's `::float8` reads
    /// it: summing base-10000 digits in doubles read 49.971 as 49.971000000000004, so a filter
    /// `amount EQ 49.971` matched in SQL and not in the engine.
    @Test func numericValuesReadAsTheNearestDouble() throws {
        let db = try TestDatabase()
        var random = ParityRandom(seed: Self.seed)
        var texts = [
            "49.971", "0.1", "-12.345", "123456789.123456789", "1e-20", "0", "-0.000", "99999999999999999999.5",
            "0.30000000000000004", "1.7976931348623157e308", "4.9e-324", "1234567890123456789012345678901234567890",
        ]
        for _ in 0..<2_000 {
            let units = random.int(Int64(-10_000_000_000)...Int64(10_000_000_000))
            texts.append(ParityHelpDesk.decimal(units, places: random.chance(0.5) ? 2 : 3))
        }
        let result = try db.connect().query(
            "SELECT x::numeric, x::numeric::float8 FROM unnest($1::text[]) AS x",
            [.text("{" + texts.joined(separator: ",") + "}")])
        var wrong: [String] = []
        for (n, row) in result.rows.enumerated() {
            let read = try row.double(0)
            let nearest = try row.double(1)
            if read.bitPattern != nearest.bitPattern || read != Double(texts[n]) {
                wrong.append("\(texts[n]) read as \(read)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(texts.count): \(wrong.prefix(5))")
    }

    // MARK: - The function

    /// Ordered policies with random filters over a generated help desk: the function equals the
    /// engine with every clock computed in SQL, with every clock read from a worker's store, and
    /// after changes to some tickets; for every role, an area with a name written in two ways, and
    /// tickets without an area.
    @Test func functionEqualsTheEngineComputedStoredAndStale() async throws {
        var desk = ParityHelpDesk(seed: Self.seed &+ 1, now: Self.currentInstant(), tickets: 400)
        let calendars = desk.calendarsJSON()
        // First two that read the tickets as the engine does or not at all: a number never matches
        // LIKE (a domain over numeric is a number), and a ticket without title, priority or
        // updated_at has an empty title and priority and its created_at.
        var policies = [
            desk.policyJSON(name: "p0", when: #"{"column": "weight", "op": "LIKE", "operand": "%"}"#),
            desk.policyJSON(
                name: "p1",
                when: """
                    {"op": "OR", "operand": [{"column": "title", "op": "EQ", "operand": ""},
                      {"column": "priority", "op": "EQ", "operand": ""}, {"column": "updated_at", "op": "EQ", "operand": null}]}
                    """),
        ]
        // Then filters that keep a tenth to a half of the tickets, so that every policy gets some.
        for n in 2..<7 {
            var when = desk.filter(depth: 2)
            for _ in 0..<200 {
                let filter = try RulesLoader.filter(json: when, origin: "when")
                let share = Double(desk.tickets.filter { filter.matches($0.source) }.count) / Double(desk.tickets.count)
                if share >= 0.1 && share <= 0.5 { break }
                when = desk.filter(depth: 2)
            }
            policies.append(desk.policyJSON(name: "p\(n)", when: when))
        }
        policies.append(desk.policyJSON(name: "p7", when: nil))
        let p = try await Self.prepare(desk, calendars: calendars, policies: policies)
        let connection = p.connection
        #expect(try connection.query("SELECT count(*) FROM slawatch.clocks").rows[0].int(0) == 0)

        var chosen = Set<String>()
        let scopes =
            [("ADMIN", nil), ("MESA", nil), ("AREA", "NINGUNA")] + ParityHelpDesk.areas.map { ("AREA", Optional($0)) }
        for (role, area) in scopes {
            chosen.formUnion(try await expectParity(p, desk, role: role, area: area, phase: "computed in SQL"))
        }
        #expect(chosen.count >= 4, "\(Self.seedText): policies chosen \(chosen.sorted())")

        let run = await slawatch(["run", "--once", "--rules", p.rules.path, "--database", p.db.url])
        #expect(run.status == 0, "\(run.stderr)")
        let stored = try freshClocks(connection)
        #expect(stored > 200, "\(Self.seedText): \(stored) stored clocks")
        _ = try await expectParity(p, desk, role: "ADMIN", area: nil, phase: "stored clocks")
        _ = try await expectParity(p, desk, role: "AREA", area: ParityHelpDesk.areas[2], phase: "stored clocks")

        var changed = Set<Int>()
        while changed.count < 60 { changed.insert(desk.random.int(0...(desk.tickets.count - 1))) }
        for index in changed.sorted() {
            desk.change(index, at: Self.currentInstant() + -desk.random.int(Int64(0)...Int64(60_000_000)))
        }
        try desk.write(connection, changed.sorted())
        let forgotten = desk.tickets.indices.filter { !changed.contains($0) }.prefix(15).map { desk.tickets[$0].id }
        try connection.query(
            "DELETE FROM slawatch.clocks WHERE ticket_id = ANY($1::text[])",
            [.text("{" + forgotten.joined(separator: ",") + "}")])
        let fresh = try freshClocks(connection)
        #expect(fresh > 100 && fresh < stored - 30, "\(Self.seedText): \(fresh) of \(stored) stored clocks still fresh")
        _ = try await expectParity(p, desk, role: "ADMIN", area: nil, phase: "after changes")
        _ = try await expectParity(p, desk, role: "AREA", area: ParityHelpDesk.areas[3], phase: "after changes")
    }

    /// Stored clocks computed from the ticket's current version.
    func freshClocks(_ connection: PostgresConnection) throws -> Int {
        try connection.query(
            """
            SELECT count(*) FROM parity.tickets s JOIN slawatch.clocks k ON k.ticket_id = s.ticket_id::text
            WHERE k.source_updated_us = (extract(epoch FROM COALESCE(s.updated_at, s.created_at)) * 1000000)::bigint
              AND k.source_status = s.status AND k.source_priority = s.priority
            """
        ).rows[0].int(0)
    }

    /// The function's rows at the transaction's `now()` against the engine's on the generated
    /// tickets and against `slawatch dashboard` at the same instant; returns the policies chosen.
    func expectParity(
        _ p: Prepared, _ desk: ParityHelpDesk, role: String, area: String?, phase: String
    ) async throws -> Set<String> {
        let connection = p.connection
        let (now, rows): (Instant, [DashboardRow]) = try connection.transaction {
            let now = Instant(microseconds: try connection.query("SELECT now()").rows[0].timestamp(0))
            let result = try connection.query(
                "SELECT * FROM slawatch.fn_dashboard_tickets_full_filtrado($1, $2)",
                [.text(role), PostgresParameter(area)])
            let rows = try result.rows.map { r in
                DashboardRow(
                    ticket_uuid: try r.string(0), label: try r.string(1), categoria: try r.optionalString(2),
                    correo: try r.optionalString(3), estado_code: try r.string(4),
                    prioridad_nom: try r.optionalString(5) ?? "NULL", area_asignada: try r.optionalString(6),
                    actualizado_en: try r.optionalTimestamp(7).map { Instant(microseconds: $0).iso8601 } ?? "NULL",
                    sla_horas: try r.double(8), horas_restantes: try r.double(9), vencido: try r.bool(10))
            }
            return (now, rows)
        }
        let context = "\(Self.seedText), \(phase), \(role) \(area ?? ""), now \(now.iso8601)"

        // The engine on the tickets as generated, in the dashboard's order.
        let evaluator = SLAEvaluator(rules: p.ruleSet)
        var expected: [(row: DashboardRow, updated: Instant)] = []
        var byID: [String: (ticket: ParityHelpDesk.Ticket, policy: String?)] = [:]
        var chosen = Set<String>()
        for ticket in desk.tickets {
            let outcome = evaluator.evaluate(ticket.source, changes: ticket.changes, now: now)
            var policy = p.ruleSet.policy(for: ticket.source)?.name
            if case .clock(let e) = outcome { policy = e.policy.name }
            byID[ticket.id] = (ticket, policy)
            guard role != "AREA" || (ticket.area.map { Array($0.utf8) == Array(area!.utf8) } ?? false) else { continue }
            guard case .clock(let e) = outcome else { continue }
            chosen.insert(e.policy.name)
            let t = e.ticket
            expected.append(
                (
                    DashboardRow(
                        ticket_uuid: t.ticketID, label: t.code, categoria: t.category, correo: t.requesterEmail,
                        estado_code: t.status, prioridad_nom: t.priority, area_asignada: t.area,
                        actualizado_en: t.updatedAt.iso8601,
                        sla_horas: e.reading.slaHours, horas_restantes: e.reading.hoursRemaining,
                        vencido: e.reading.isOverdue),
                    t.updatedAt
                ))
        }
        expected.sort { a, b in
            a.updated != b.updated
                ? a.updated > b.updated : a.row.label.utf8.lexicographicallyPrecedes(b.row.label.utf8)
        }

        let kinds = (try? Self.kinds(connection)) ?? "{}"
        /// The ticket, and the policy each side chooses for it.
        func explain(_ id: String) -> String {
            guard let entry = byID[id] else { return id }
            let inSQL =
                (try? connection.query(
                    """
                    SELECT p.name FROM slawatch.policies p, parity.tickets s
                    WHERE s.ticket_id = $1::uuid AND (p.when_filter IS NULL OR slawatch.filter_matches(
                        p.when_filter, slawatch.filter_subject(to_jsonb(s)), $2::jsonb))
                    ORDER BY p.position LIMIT 1
                    """, [.text(id), .text(kinds)]
                ).rows.first.map { try $0.string(0) }) ?? nil
            return "\(entry.ticket.description); policy in Swift \(entry.policy ?? "none"), in SQL \(inSQL ?? "none")"
        }
        var problems: [String] = []
        let sqlByID = Dictionary(rows.map { ($0.ticket_uuid, $0) }, uniquingKeysWith: { a, _ in a })
        let expectedByID = Dictionary(expected.map { ($0.row.ticket_uuid, $0.row) }, uniquingKeysWith: { a, _ in a })
        #expect(sqlByID.count == rows.count, "\(context): a ticket twice")
        for (row, _) in expected where sqlByID[row.ticket_uuid] == nil {
            problems.append("\(context): left out by SQL, in Swift \(row): \(explain(row.ticket_uuid))")
        }
        for row in rows where expectedByID[row.ticket_uuid] == nil {
            problems.append("\(context): left out by Swift, in SQL \(row): \(explain(row.ticket_uuid))")
        }
        for row in rows {
            guard let want = expectedByID[row.ticket_uuid] else { continue }
            let same =
                row == want && row.sla_horas.bitPattern == want.sla_horas.bitPattern
                && row.horas_restantes.bitPattern == want.horas_restantes.bitPattern
            if !same { problems.append("\(context): SQL \(row) but Swift \(want): \(explain(row.ticket_uuid))") }
        }
        if problems.isEmpty && rows.map(\.ticket_uuid) != expected.map(\.row.ticket_uuid) {
            problems.append("\(context): the same rows in another order")
        }
        for line in problems.prefix(5) { Issue.record(Comment(rawValue: line)) }
        #expect(problems.isEmpty, "\(context): \(problems.count) differences over \(expected.count) rows")

        // The CLI reads the same tickets from the database.
        var args = [
            "dashboard", "--format", "json", "--rules", p.rules.path, "--database", p.db.url, "--now", now.iso8601,
        ]
        args += ["--role", role] + (area.map { ["--area", $0] } ?? [])
        let cli = await slawatch(args)
        #expect(cli.status == 0, "\(cli.stderr)")
        let cliRows = try DashboardRow.decode(cli.stdout)
        let differ = zip(rows, cliRows).filter { $0 != $1 }
        #expect(
            cliRows.count == rows.count && differ.isEmpty,
            "\(context): the CLI has \(cliRows.count) rows, SQL \(rows.count); first differences \(differ.prefix(3))")
        return chosen
    }
}
