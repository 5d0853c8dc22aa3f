import Foundation
import SlawatchCore
import Testing

// An operand that does not fit its column's type is an error naming the column and the type (README,
// "Filters"), wherever the type is known: the contract's columns and the computed ones in rules.

private func messages(_ text: String) -> [String] {
    let files = [
        (
            path: "rules/calendars.json",
            contents: Data(
                #"{"calendars": {"24x7": {"type": "always"}}, "channels": {"consola": {"type": "log"}}}"#.utf8)
        ),
        (path: "rules/sla.json", contents: Data(text.utf8)),
    ]
    do throws(RulesError) {
        _ = try RulesLoader.load(files: files, environment: [:])
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

/// A rules file with a policy whose `when` is `condition`.
private func policyWhen(_ condition: String) -> String {
    #"{"policies": [{"name": "p", "when": \#(condition), "calendar": "24x7", "targets": {"ALTA": 8}}]}"#
}

/// A rules file with a route whose `when` and a report whose `filter` are `condition`.
private func routeAndReport(_ condition: String) -> String {
    #"""
    {"routes": [{"when": \#(condition), "events": ["sla.breached"], "channels": ["consola"]}],
     "reports": [{"name": "r", "schedule": "0 8 * * *", "filter": \#(condition), "channels": ["consola"]}]}
    """#
}

private let instantExpectation = #"an ISO 8601 instant in a string, such as "2026-03-24T10:30:00Z" or "2026-03-24""#

@Suite("Column types of filter operands")
struct ColumnTypeTests {
    @Test("a timestamp column with an operand that is not an instant")
    func timestampOperand() {
        #expect(
            messages(policyWhen(#"{"column": "created_at", "op": "GT", "operand": "yesterday"}"#)) == [
                #"rules/sla.json: policies[0].when.operand: column created_at is timestamptz: expected \#(instantExpectation), found "yesterday""#
            ])
        #expect(
            messages(policyWhen(#"{"column": "updated_at", "op": "LT", "operand": 20260324}"#)) == [
                "rules/sla.json: policies[0].when.operand: column updated_at is timestamptz: expected \(instantExpectation), found 20260324"
            ])
        #expect(
            messages(policyWhen(#"{"column": "created_at", "op": "GE", "operand": "2026-03-24T05:00:00-05:00"}"#))
                .isEmpty)
    }

    @Test("computed columns in routes and reports")
    func computedColumns() {
        #expect(
            messages(routeAndReport(#"{"column": "horas_restantes", "op": "GT", "operand": "abc"}"#)) == [
                #"rules/sla.json: routes[0].when.operand: column horas_restantes is number: expected a number, such as 8 or -1.5, found "abc""#,
                #"rules/sla.json: reports[0].filter.operand: column horas_restantes is number: expected a number, such as 8 or -1.5, found "abc""#,
            ])
        #expect(
            messages(routeAndReport(#"{"column": "vencido", "op": "EQ", "operand": 1}"#)) == [
                "rules/sla.json: routes[0].when.operand: column vencido is boolean: expected true or false, found 1",
                "rules/sla.json: reports[0].filter.operand: column vencido is boolean: expected true or false, found 1",
            ])
        #expect(messages(routeAndReport(#"{"column": "due_at", "op": "LT", "operand": "pronto"}"#)).count == 2)
        #expect(messages(routeAndReport(#"{"column": "sla_status", "op": "EQ", "operand": true}"#)).count == 2)
        // What compares correctly stays valid: numeric strings, "true", null, ISO dates.
        #expect(
            messages(
                routeAndReport(
                    #"""
                    {"op": "AND", "operand": [
                      {"column": "horas_restantes", "op": "LT", "operand": "-1.5"},
                      {"column": "sla_horas", "op": "IN", "operand": [4, "8", null]},
                      {"column": "vencido", "op": "EQ", "operand": "TRUE"},
                      {"column": "due_at", "op": "LT", "operand": "2026-04-01"},
                      {"column": "sla_status", "op": "IN", "operand": ["breached", "at_risk"]},
                      {"column": "due_at", "op": "EQ", "operand": null}
                    ]}
                    """#)
            ).isEmpty)
    }

    @Test("an IN list names the element that does not fit")
    func inListElement() {
        #expect(
            messages(
                policyWhen(
                    #"{"op": "OR", "operand": [{"column": "area", "op": "EQ", "operand": "TI"}, {"column": "priority", "op": "IN", "operand": ["ALTA", 3]}]}"#
                )) == [
                    "rules/sla.json: policies[0].when.operand[1].operand[1]: column priority is text: expected a string, found 3"
                ])
    }

    @Test("LIKE on a column that is not text")
    func likeOnNonText() {
        #expect(
            messages(policyWhen(#"{"column": "created_at", "op": "LIKE", "operand": "2026%"}"#)) == [
                "rules/sla.json: policies[0].when.op: column created_at is timestamptz, and LIKE applies to text columns only"
            ])
        #expect(messages(policyWhen(#"{"column": "ticket_id", "op": "LIKE", "operand": "7d3c%"}"#)).isEmpty)
    }

    @Test("ticket_id is a uuid")
    func uuidOperand() {
        #expect(
            messages(policyWhen(#"{"column": "ticket_id", "op": "EQ", "operand": "TKT-1"}"#)) == [
                #"rules/sla.json: policies[0].when.operand: column ticket_id is uuid: expected a uuid in a string, such as "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001", found "TKT-1""#
            ])
        #expect(
            messages(
                policyWhen(#"{"column": "ticket_id", "op": "NE", "operand": "7D3C0B8E-3C1A-4C55-9A0E-2B7F5B1D0001"}"#)
            ).isEmpty)
    }

    @Test("a further view column's type is known only at run time: not checked in rules")
    func extraColumnsUnchecked() {
        #expect(messages(policyWhen(#"{"column": "reopen_count", "op": "GT", "operand": "many"}"#)).isEmpty)
    }

    @Test("a computed column in a policy's when is reported once, as computed")
    func computedInPolicy() {
        #expect(
            messages(policyWhen(#"{"column": "vencido", "op": "EQ", "operand": 3}"#)) == [
                #"rules/sla.json: policies[0].when.column: "vencido" is computed from the policy itself and cannot choose the policy"#
            ])
    }

    @Test("typeMismatches walks groups and names each condition's place")
    func typeMismatchesPaths() throws {
        let filter = try RulesLoader.filter(
            json:
                #"{"op": "AND", "operand": [{"column": "n", "op": "GT", "operand": 1}, {"op": "OR", "operand": [{"column": "t", "op": "EQ", "operand": "x"}, {"column": "n", "op": "EQ", "operand": "x"}]}]}"#,
            origin: "--filter")
        let types: [String: ColumnType] = ["n": .number, "t": .text]
        let found = filter.typeMismatches { types[$0] }
        #expect(found.map(\.path) == ["operand[1].operand[1].operand"])
        #expect(found.map(\.message) == [#"column n is number: expected a number, such as 8 or -1.5, found "x""#])
        #expect(filter.typeMismatches { _ in nil }.isEmpty)
    }

    @Test("a NaN operand compares with nothing and does not fit a number column")
    func nanOperand() {
        #expect(messages(routeAndReport(#"{"column": "sla_horas", "op": "GT", "operand": NaN}"#)).count == 2)
    }
}
