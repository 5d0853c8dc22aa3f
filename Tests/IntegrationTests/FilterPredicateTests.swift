import Foundation
import PostgresClient
import SlawatchCore
import SlawatchStore
import Testing

/// The SQL predicate the HTTP API compiles a filter to (`FilterPredicate`) keeps exactly the rows
/// `slawatch.filter_matches` keeps, on the generated help desk of `DashboardParityTests` (same seed,
/// same conditions: every column with every operator, nested groups, the conditions on which SQL and the
/// engine once disagreed), plus conditions on columns whose types the predicate leaves to
/// `filter_matches`.
@Suite struct FilterPredicateTests {
    @Test func compiledPredicateKeepsTheRowsFilterMatchesKeeps() async throws {
        var desk = ParityHelpDesk(
            seed: DashboardParityTests.seed, now: DashboardParityTests.currentInstant(), tickets: 300)
        let calendars = desk.calendarsJSON()
        var policies: [String] = []
        for column in ParityHelpDesk.filterColumns {
            for op in ParityHelpDesk.operators {
                for _ in 0..<4 {
                    policies.append(desk.policyJSON(name: "c\(policies.count)", when: desk.condition(column, op)))
                }
            }
        }
        for _ in 0..<60 { policies.append(desk.policyJSON(name: "c\(policies.count)", when: desk.filter(depth: 3))) }
        let extra: [(String, String, String)] = [
            ("status", "IN", "[]"), ("status", "IN", #"["x", null]"#), ("title", "IN", #"[null, ""]"#),
            ("created_at", "GE", #""2026-01-01""#), ("due_by", "LT", #""not a date""#),
            ("code", "GT", #""\u00e9""#), ("code", "LE", #""""#), ("note", "LIKE", #""%\\\\""#),
            ("updated_at", "NE", "null"), ("amount", "IN", #"[1, "2", null]"#), ("vip", "EQ", "true"),
        ]
        for (column, op, operand) in DashboardParityTests.onceDifferent + extra {
            let condition = #"{"column": "\#(column)", "op": "\#(op)", "operand": \#(operand)}"#
            policies.append(desk.policyJSON(name: "c\(policies.count)", when: condition))
        }
        let p = try await DashboardParityTests.prepare(desk, calendars: calendars, policies: policies)
        // The columns with their base types, as the API's layout reads them.
        let types = try p.connection.query(
            """
            SELECT a.attname::text, (
                WITH RECURSIVE d(t) AS (
                    SELECT a.atttypid UNION ALL SELECT ty.typbasetype FROM pg_type ty JOIN d ON ty.oid = d.t WHERE ty.typtype = 'd')
                SELECT d.t FROM d JOIN pg_type ty ON ty.oid = d.t WHERE ty.typtype <> 'd')::bigint
            FROM pg_attribute a WHERE a.attrelid = 'parity.tickets'::regclass AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """
        ).rows.map { (name: try $0.string(0), type: UInt32(try $0.int(1))) }
        let kinds = try DashboardParityTests.kinds(p.connection)
        var mismatches: [String] = []
        var compiledAll = 0
        for (position, policy) in p.ruleSet.policies.enumerated() {
            guard let filter = policy.when else { continue }
            var parameters: [PostgresParameter] = [.int8(Int64(position)), .text(kinds)]
            let predicate = FilterPredicate.sql(
                filter, alias: "s", columnTypes: types, view: "\"parity\".\"tickets\""
            ) { value in
                parameters.append(value)
                return "$\(parameters.count)"
            }
            if !predicate.contains("filter_matches") { compiledAll += 1 }
            let row = try p.connection.query(
                """
                SELECT string_agg(CASE WHEN \(predicate) THEN '1' ELSE '0' END, '' ORDER BY s.ticket_id),
                       string_agg(CASE WHEN slawatch.filter_matches(
                                    (SELECT when_filter FROM slawatch.policies WHERE position = $1),
                                    slawatch.filter_subject(to_jsonb(s)), $2::jsonb) THEN '1' ELSE '0' END,
                                  '' ORDER BY s.ticket_id)
                FROM parity.tickets s
                """, parameters
            ).rows[0]
            let compiled = try row.string(0)
            let reference = try row.string(1)
            if compiled != reference {
                mismatches.append("\(DashboardParityTests.seedText): policy \(position): \(predicate)")
            }
        }
        for line in mismatches.prefix(12) { Issue.record(Comment(rawValue: line)) }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(policies.count) filters differ")
        // Most conditions compile to plain SQL; the test would prove little otherwise.
        #expect(compiledAll > policies.count / 2, "\(compiledAll) of \(policies.count) compiled entirely")
    }
}
