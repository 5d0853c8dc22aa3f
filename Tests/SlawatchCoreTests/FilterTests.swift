import Foundation
import SlawatchCore
import Testing

// The filter grammar of the README's Rules ("the same as the ticket list API's"), evaluated in memory.

/// A row with exactly the given columns; any other column is absent.
private struct Row: FilterSubject {
    var columns: [String: FieldValue]
    init(_ columns: [String: FieldValue]) { self.columns = columns }
    func value(of column: String) -> FieldValue? { columns[column] }
}

private func instant(_ text: String) throws -> Instant {
    try #require(Instant(iso8601: text), "bad test instant \(text)")
}

private func parse(_ json: String) throws -> Filter {
    try RulesLoader.filter(json: json, origin: "--filter")
}

private func matches(_ json: String, _ subject: some FilterSubject) throws -> Bool {
    try parse(json).matches(subject)
}

/// The issues `RulesLoader.filter(json:origin:)` reports for a filter text (empty when it parses).
private func filterIssues(_ json: String) -> [RulesIssue] {
    do throws(RulesError) {
        _ = try RulesLoader.filter(json: json, origin: "--filter")
        return []
    } catch {
        return error.issues
    }
}

private func sampleTicket(category: String? = "Facturación electrónica", extra: [String: FieldValue] = [:]) throws
    -> SourceTicket
{
    SourceTicket(
        ticketID: "7d3c0b8e-3c1a-4c55-9a0e-2b7f5b1d0001", code: "TKT-2026-00042", title: "No llega la factura",
        category: category, requesterEmail: nil, status: "EN_PROCESO", priority: "ALTA", area: "Soporte",
        areaManagerEmail: "jefe.soporte@example.com", createdAt: try instant("2026-03-24T10:00:00Z"),
        updatedAt: try instant("2026-03-24T12:30:00Z"), extra: extra)
}

@Suite("Filter")
struct FilterTests {
    // MARK: - Every operator, by column type

    @Test(
        "text column",
        arguments: [
            (#"{"column": "c", "op": "EQ", "operand": "EN_PROCESO"}"#, true),
            (#"{"column": "c", "op": "EQ", "operand": "ABIERTO"}"#, false),
            (#"{"column": "c", "op": "EQ", "operand": "en_proceso"}"#, false),
            (#"{"column": "c", "op": "NE", "operand": "ABIERTO"}"#, true),
            (#"{"column": "c", "op": "NE", "operand": "EN_PROCESO"}"#, false),
            (#"{"column": "c", "op": "GT", "operand": "ABIERTO"}"#, true),
            (#"{"column": "c", "op": "GT", "operand": "EN_PROCESO"}"#, false),
            (#"{"column": "c", "op": "GE", "operand": "EN_PROCESO"}"#, true),
            (#"{"column": "c", "op": "GE", "operand": "RESUELTO"}"#, false),
            (#"{"column": "c", "op": "LT", "operand": "RESUELTO"}"#, true),
            (#"{"column": "c", "op": "LT", "operand": "EN_PROCESO"}"#, false),
            (#"{"column": "c", "op": "LE", "operand": "EN_PROCESO"}"#, true),
            (#"{"column": "c", "op": "LE", "operand": "ABIERTO"}"#, false),
            (#"{"column": "c", "op": "LIKE", "operand": "EN_%"}"#, true),
            (#"{"column": "c", "op": "LIKE", "operand": "en_%"}"#, false),
            (#"{"column": "c", "op": "IN", "operand": ["ABIERTO", "EN_PROCESO"]}"#, true),
            (#"{"column": "c", "op": "IN", "operand": ["ABIERTO", "CERRADO"]}"#, false),
            (#"{"column": "c", "op": "IN", "operand": []}"#, false),
        ])
    func textColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, Row(["c": .text("EN_PROCESO")])) == expected)
    }

    @Test("text is ordered by code points: lower case after upper case, accents after ASCII")
    func textOrder() throws {
        #expect(try matches(#"{"column": "c", "op": "GT", "operand": "Z"}"#, Row(["c": .text("a")])))
        #expect(try matches(#"{"column": "c", "op": "GT", "operand": "z"}"#, Row(["c": .text("á")])))
        #expect(try matches(#"{"column": "c", "op": "LT", "operand": "b"}"#, Row(["c": .text("abc")])))
    }

    @Test(
        "number column",
        arguments: [
            (#"{"column": "n", "op": "EQ", "operand": 10}"#, true),
            (#"{"column": "n", "op": "EQ", "operand": 10.0}"#, true),
            (#"{"column": "n", "op": "EQ", "operand": 9}"#, false),
            (#"{"column": "n", "op": "NE", "operand": 9}"#, true),
            (#"{"column": "n", "op": "NE", "operand": 10}"#, false),
            (#"{"column": "n", "op": "GT", "operand": 9}"#, true),
            (#"{"column": "n", "op": "GT", "operand": 10}"#, false),
            (#"{"column": "n", "op": "GE", "operand": 10}"#, true),
            (#"{"column": "n", "op": "GE", "operand": 10.5}"#, false),
            (#"{"column": "n", "op": "LT", "operand": 100}"#, true),
            (#"{"column": "n", "op": "LT", "operand": 9}"#, false),
            (#"{"column": "n", "op": "LE", "operand": 10}"#, true),
            (#"{"column": "n", "op": "LE", "operand": -3}"#, false),
            (#"{"column": "n", "op": "IN", "operand": [9, 10, 11]}"#, true),
            (#"{"column": "n", "op": "IN", "operand": [1, 2]}"#, false),
            (#"{"column": "n", "op": "LIKE", "operand": "1%"}"#, false),
        ])
    func numberColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, Row(["n": .number(10)])) == expected)
    }

    @Test("numbers compare as numbers, not as text: 10 > 9")
    func typedNumericComparison() throws {
        let ten = Row(["n": .number(10)])
        #expect(try matches(#"{"column": "n", "op": "GT", "operand": 9}"#, ten))
        #expect(try !matches(#"{"column": "n", "op": "LT", "operand": 9}"#, ten))
        #expect(try matches(#"{"column": "n", "op": "LT", "operand": 9}"#, Row(["n": .number(1.5)])))
        #expect(try matches(#"{"column": "n", "op": "EQ", "operand": 40.5}"#, Row(["n": .number(40.5)])))
        #expect(try matches(#"{"column": "n", "op": "GT", "operand": -1}"#, Row(["n": .number(0)])))
    }

    @Test(
        "a number column against a numeric string operand",
        arguments: [
            (#"{"column": "n", "op": "EQ", "operand": "10"}"#, true),
            (#"{"column": "n", "op": "EQ", "operand": "10.0"}"#, true),
            (#"{"column": "n", "op": "GT", "operand": "9"}"#, true),
            (#"{"column": "n", "op": "LT", "operand": "9"}"#, false),
            (#"{"column": "n", "op": "LE", "operand": "9.5"}"#, false),
            (#"{"column": "n", "op": "GE", "operand": "9.5"}"#, true),
            (#"{"column": "n", "op": "NE", "operand": "11"}"#, true),
            (#"{"column": "n", "op": "IN", "operand": ["9", "10"]}"#, true),
            (#"{"column": "n", "op": "EQ", "operand": "ten"}"#, false),
        ])
    func numberAgainstNumericString(json: String, expected: Bool) throws {
        #expect(try matches(json, Row(["n": .number(10)])) == expected)
    }

    @Test("a JSON number operand is a number, not a boolean")
    func numberOperandIsNotBoolean() throws {
        let filter = try parse(#"{"column": "n", "op": "EQ", "operand": 1}"#)
        #expect(filter == .condition(Filter.Condition(column: "n", op: .EQ, operand: .number(1))))
        #expect(filter.matches(Row(["n": .number(1)])))
        #expect(!filter.matches(Row(["n": .bool(true)])))
        let zero = try parse(#"{"column": "n", "op": "EQ", "operand": 0}"#)
        #expect(zero.matches(Row(["n": .number(0)])))
    }

    @Test(
        "boolean column",
        arguments: [
            (#"{"column": "b", "op": "EQ", "operand": true}"#, true),
            (#"{"column": "b", "op": "EQ", "operand": false}"#, false),
            (#"{"column": "b", "op": "EQ", "operand": "true"}"#, true),
            (#"{"column": "b", "op": "NE", "operand": false}"#, true),
            (#"{"column": "b", "op": "NE", "operand": true}"#, false),
            (#"{"column": "b", "op": "GT", "operand": false}"#, true),
            (#"{"column": "b", "op": "GE", "operand": true}"#, true),
            (#"{"column": "b", "op": "LT", "operand": true}"#, false),
            (#"{"column": "b", "op": "LE", "operand": true}"#, true),
            (#"{"column": "b", "op": "IN", "operand": [true]}"#, true),
            (#"{"column": "b", "op": "IN", "operand": [false]}"#, false),
            (#"{"column": "b", "op": "LIKE", "operand": "t%"}"#, false),
        ])
    func booleanColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, Row(["b": .bool(true)])) == expected)
    }

    @Test(
        "timestamp column with ISO 8601 operands",
        arguments: [
            (#"{"column": "created_at", "op": "EQ", "operand": "2026-03-24T10:00:00Z"}"#, true),
            (#"{"column": "created_at", "op": "EQ", "operand": "2026-03-24T05:00:00-05:00"}"#, true),
            (#"{"column": "created_at", "op": "EQ", "operand": "2026-03-24T10:00:01Z"}"#, false),
            (#"{"column": "created_at", "op": "NE", "operand": "2026-03-24T10:00:01Z"}"#, true),
            (#"{"column": "created_at", "op": "NE", "operand": "2026-03-24T10:00:00Z"}"#, false),
            (#"{"column": "created_at", "op": "GT", "operand": "2026-03-24T09:59:59Z"}"#, true),
            (#"{"column": "created_at", "op": "GT", "operand": "2026-03-24T10:00:00Z"}"#, false),
            (#"{"column": "created_at", "op": "GE", "operand": "2026-03-24T10:00:00.000Z"}"#, true),
            (#"{"column": "created_at", "op": "LT", "operand": "2026-03-25"}"#, true),
            (#"{"column": "created_at", "op": "LT", "operand": "2026-03-24"}"#, false),
            (#"{"column": "created_at", "op": "LE", "operand": "2026-03-24T06:00:00-04:00"}"#, true),
            (#"{"column": "created_at", "op": "LE", "operand": "2026-03-24T09:00:00Z"}"#, false),
            (
                #"{"column": "created_at", "op": "IN", "operand": ["2026-01-01T00:00:00Z", "2026-03-24T10:00:00Z"]}"#,
                true
            ),
            (#"{"column": "created_at", "op": "EQ", "operand": "yesterday"}"#, false),
            (#"{"column": "created_at", "op": "GT", "operand": "yesterday"}"#, false),
        ])
    func timestampColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, try sampleTicket()) == expected)
    }

    // MARK: - NULL

    @Test(
        "a NULL column matches only EQ null and IN with null",
        arguments: [
            (#"{"column": "category", "op": "EQ", "operand": null}"#, true),
            (#"{"column": "category", "op": "IN", "operand": ["Redes", null]}"#, true),
            (#"{"column": "category", "op": "IN", "operand": ["Redes"]}"#, false),
            (#"{"column": "category", "op": "EQ", "operand": "Redes"}"#, false),
            (#"{"column": "category", "op": "NE", "operand": "Redes"}"#, false),
            (#"{"column": "category", "op": "NE", "operand": null}"#, false),
            (#"{"column": "category", "op": "GT", "operand": "A"}"#, false),
            (#"{"column": "category", "op": "GE", "operand": "A"}"#, false),
            (#"{"column": "category", "op": "LT", "operand": "z"}"#, false),
            (#"{"column": "category", "op": "LE", "operand": "z"}"#, false),
            (#"{"column": "category", "op": "LIKE", "operand": "%"}"#, false),
        ])
    func nullColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, try sampleTicket(category: nil)) == expected)
    }

    @Test(
        "a non-NULL column against a null operand",
        arguments: [
            (#"{"column": "category", "op": "EQ", "operand": null}"#, false),
            (#"{"column": "category", "op": "NE", "operand": null}"#, true),
            (#"{"column": "category", "op": "IN", "operand": [null]}"#, false),
        ])
    func nullOperand(json: String, expected: Bool) throws {
        #expect(try matches(json, try sampleTicket()) == expected)
    }

    @Test(
        "an unknown column behaves as NULL",
        arguments: [
            (#"{"column": "no_such_column", "op": "EQ", "operand": null}"#, true),
            (#"{"column": "no_such_column", "op": "IN", "operand": [1, null]}"#, true),
            (#"{"column": "no_such_column", "op": "EQ", "operand": "x"}"#, false),
            (#"{"column": "no_such_column", "op": "NE", "operand": "x"}"#, false),
            (#"{"column": "no_such_column", "op": "GT", "operand": 0}"#, false),
            (#"{"column": "no_such_column", "op": "LIKE", "operand": "%"}"#, false),
        ])
    func unknownColumn(json: String, expected: Bool) throws {
        #expect(try matches(json, try sampleTicket()) == expected)
        #expect(try matches(json, Row([:])) == expected)
    }

    // MARK: - Source tickets

    @Test("SourceTicket exposes the source columns and the extra ones")
    func sourceTicketColumns() throws {
        let ticket = try sampleTicket(extra: [
            "reopen_count": .number(10), "vip": .bool(true), "canal": .text("correo"),
        ])
        #expect(ticket.value(of: "code") == .text("TKT-2026-00042"))
        #expect(ticket.value(of: "priority") == .text("ALTA"))
        #expect(ticket.value(of: "requester_email") == .null)
        #expect(ticket.value(of: "created_at") == .instant(try instant("2026-03-24T10:00:00Z")))
        #expect(ticket.value(of: "reopen_count") == .number(10))
        #expect(ticket.value(of: "nothing") == nil)

        #expect(try matches(#"{"column": "reopen_count", "op": "GT", "operand": 9}"#, ticket))
        #expect(try matches(#"{"column": "vip", "op": "EQ", "operand": true}"#, ticket))
        #expect(try matches(#"{"column": "canal", "op": "IN", "operand": ["correo", "chat"]}"#, ticket))
        #expect(try matches(#"{"column": "requester_email", "op": "EQ", "operand": null}"#, ticket))
        #expect(try matches(#"{"column": "area_manager_email", "op": "LIKE", "operand": "%@example.com"}"#, ticket))
    }

    // MARK: - Groups

    @Test("nested AND / OR groups")
    func nestedGroups() throws {
        let json = #"""
            {"op": "AND", "operand": [
                {"column": "priority", "op": "IN", "operand": ["CRITICA", "ALTA"]},
                {"op": "OR", "operand": [
                    {"column": "area", "op": "EQ", "operand": "Redes"},
                    {"op": "AND", "operand": [
                        {"column": "category", "op": "LIKE", "operand": "Factura%"},
                        {"column": "status", "op": "NE", "operand": "CERRADO"}
                    ]}
                ]}
            ]}
            """#
        let filter = try parse(json)
        #expect(filter.columns == ["priority", "area", "category", "status"])
        #expect(filter.matches(try sampleTicket()))
        #expect(!filter.matches(try sampleTicket(category: "Redes")))
        #expect(!filter.matches(try sampleTicket(category: nil)))
        #expect(filter.matches(Row(["priority": .text("CRITICA"), "area": .text("Redes")])))
        #expect(!filter.matches(Row(["priority": .text("BAJA"), "area": .text("Redes")])))
    }

    @Test("an OR needs one match, an AND needs all")
    func groupSemantics() throws {
        let row = Row(["a": .number(1), "b": .number(2)])
        #expect(
            try matches(
                #"{"op": "OR", "operand": [{"column": "a", "op": "EQ", "operand": 5}, {"column": "b", "op": "EQ", "operand": 2}]}"#,
                row))
        #expect(
            try !matches(
                #"{"op": "AND", "operand": [{"column": "a", "op": "EQ", "operand": 5}, {"column": "b", "op": "EQ", "operand": 2}]}"#,
                row))
        #expect(
            try matches(
                #"{"op": "AND", "operand": [{"column": "a", "op": "EQ", "operand": 1}, {"column": "b", "op": "EQ", "operand": 2}]}"#,
                row))
        #expect(
            try !matches(
                #"{"op": "OR", "operand": [{"column": "a", "op": "EQ", "operand": 5}, {"column": "b", "op": "EQ", "operand": 5}]}"#,
                row))
    }

    @Test("an empty AND matches everything, an empty OR nothing")
    func emptyGroups() throws {
        #expect(try matches(#"{"op": "AND", "operand": []}"#, Row([:])))
        #expect(try !matches(#"{"op": "OR", "operand": []}"#, Row([:])))
    }

    @Test("the condition id is kept")
    func conditionID() throws {
        let filter = try parse(#"{"id": "c1", "column": "area", "op": "EQ", "operand": "Soporte"}"#)
        #expect(filter == .condition(Filter.Condition(id: "c1", column: "area", op: .EQ, operand: .text("Soporte"))))
    }

    // MARK: - LIKE

    @Test(
        "LIKE with % and _ on non-ASCII text",
        arguments: [
            ("Facturación%", true),
            ("%ción%", true),
            ("%electrónica", true),
            ("Factura_ión%", true),
            ("Factura__ón electrónica", true),
            ("Factura_ón%", false),
            ("Facturacion%", false),
            ("facturación%", false),
            ("%ELECTRÓNICA", false),
            ("Facturación electrónica", true),
            ("Facturación electrónic", false),
            ("Facturación electrónica_", false),
            ("%", true),
            ("_%", true),
            ("%%%a", true),
            ("F%n%a", true),
            ("F%x%a", false),
            ("", false),
        ])
    func likeWildcards(pattern: String, expected: Bool) throws {
        let filter = Filter.condition(Filter.Condition(column: "category", op: .LIKE, operand: .text(pattern)))
        #expect(filter.matches(try sampleTicket()) == expected)
    }

    @Test(
        "LIKE with backslash escapes",
        arguments: [
            ("50% off_now", #"50\% off%"#, true),
            ("50% off_now", #"50\%%"#, true),
            ("50x off_now", #"50\%%"#, false),
            ("50% off_now", #"%\_now"#, true),
            ("50% offXnow", #"%\_now"#, false),
            ("50% off_now", #"5_\%%"#, true),
            ("50% off_now", #"50\_%"#, false),
            (#"C:\temp"#, #"C:\\temp"#, true),
            (#"C:\temp"#, #"C:\temp"#, false),
            ("a_b", #"a\_b"#, true),
            ("axb", #"a\_b"#, false),
        ])
    func likeEscapes(value: String, pattern: String, expected: Bool) {
        let filter = Filter.condition(Filter.Condition(column: "t", op: .LIKE, operand: .text(pattern)))
        #expect(filter.matches(Row(["t": .text(value)])) == expected)
    }

    @Test("LIKE and EQ see composed and decomposed accents alike")
    func likeUnicodeNormalization() throws {
        let decomposed = "Facturacio\u{301}n"
        let row = Row(["t": .text(decomposed)])
        #expect(try matches(#"{"column": "t", "op": "LIKE", "operand": "Facturación"}"#, row))
        #expect(try matches(#"{"column": "t", "op": "LIKE", "operand": "Facturaci_n"}"#, row))
        #expect(try matches(#"{"column": "t", "op": "EQ", "operand": "Facturación"}"#, row))
    }

    @Test(
        "LIKE: a character is a code point of the composed text, as in the dashboard function",
        arguments: [
            ("e\u{301}cole", "_cole", true),
            ("e\u{301}\u{302}", "_", false),  // é and a circumflex: two code points composed
            ("e\u{301}\u{302}", "__", true),
            ("\u{1F1E8}\u{1F1F4}", "_", false),  // a flag: one character on screen, two code points
            ("\u{1F1E8}\u{1F1F4}", "__", true),
            ("\u{212A}elvin", "Kelvin", true),  // the Kelvin sign composes to K
            ("abc", #"abc\"#, true),  // a lone backslash ending the pattern escapes nothing
        ])
    func likeCodePoints(value: String, pattern: String, expected: Bool) {
        let filter = Filter.condition(Filter.Condition(column: "t", op: .LIKE, operand: .text(pattern)))
        #expect(filter.matches(Row(["t": .text(value)])) == expected)
    }

    @Test(
        "text is a number only when written in decimal",
        arguments: [
            ("12.5", 12.5, true), ("+12.50", 12.5, true), ("12.", 12, true), (".5", 0.5, true), ("1e2", 100, true),
            (" 12", 12, false), ("12 ", 12, false), ("0x0C", 12, false), ("1_2", 12, false), ("NaN", 0, false),
            ("inf", 0, false), ("1e400", 0, false), ("1e-400", 0, false), ("", 0, false), ("1e", 1, false),
        ])
    func textAsNumber(text: String, number: Double, expected: Bool) {
        let onText = Filter.condition(Filter.Condition(column: "t", op: .EQ, operand: .number(number)))
        #expect(onText.matches(Row(["t": .text(text)])) == expected)
        let onNumber = Filter.condition(Filter.Condition(column: "n", op: .EQ, operand: .text(text)))
        #expect(onNumber.matches(Row(["n": .number(number)])) == expected)
    }

    @Test("LIKE on long text with many % backtracks correctly")
    func likeBacktracking() {
        let text = String(repeating: "ab", count: 200) + "c"
        let yes = Filter.condition(Filter.Condition(column: "t", op: .LIKE, operand: .text("%a%b%c")))
        let no = Filter.condition(Filter.Condition(column: "t", op: .LIKE, operand: .text("%a%b%d")))
        #expect(yes.matches(Row(["t": .text(text)])))
        #expect(!no.matches(Row(["t": .text(text)])))
    }

    // MARK: - Parsing errors (RulesLoader.filter(json:origin:))

    @Test("an unknown condition operator gives the documented message")
    func unknownOperator() throws {
        let issues = filterIssues(#"{"column": "priority", "op": "BETWEEN", "operand": [1, 2]}"#)
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(issue.file == "--filter")
        #expect(
            issue.message
                == "The operator 'BETWEEN' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN")
        #expect(issue.path.hasSuffix("op"))
    }

    @Test("an unknown operator inside a group names the condition")
    func unknownOperatorInGroup() throws {
        let issues = filterIssues(
            #"{"op": "AND", "operand": [{"column": "a", "op": "EQ", "operand": 1}, {"column": "b", "op": "eq", "operand": 1}]}"#
        )
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(
            issue.message == "The operator 'eq' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN"
        )
        #expect(issue.path.hasSuffix("operand[1].op"))
    }

    @Test("an unknown group operator is rejected and names the supported ones")
    func unknownGroupOperator() throws {
        let issues = filterIssues(#"{"op": "XOR", "operand": []}"#)
        let issue = try #require(issues.first)
        #expect(issue.message.hasPrefix("The operator 'XOR' is not supported. Supported operators: "))
        #expect(issue.message.contains("AND, OR"))
        #expect(issue.message.contains("EQ, NE, GT, GE, LT, LE, LIKE, IN"))
    }

    @Test(
        "operand shapes are checked",
        arguments: [
            (#"{"column": "a", "op": "IN", "operand": "x"}"#, #"IN expects an array of values, found "x""#),
            (#"{"column": "a", "op": "EQ", "operand": [1, 2]}"#, "EQ expects a single value, found an array"),
            (#"{"column": "a", "op": "LIKE", "operand": 5}"#, "LIKE expects a text pattern, found 5"),
            (#"{"column": "a", "op": "GT", "operand": null}"#, "GT cannot compare with null"),
            (#"{"column": "a", "op": "EQ"}"#, #"missing "operand""#),
            (#"{"column": "a b", "op": "EQ", "operand": 1}"#, #"expected a column name, found "a b""#),
            (
                #"{"column": "a", "op": "EQ", "operand": 1, "value": 2}"#,
                "unknown key in a filter condition; expected id, column, op, operand"
            ),
            (#"{"op": "EQ", "operand": 1}"#, #"a condition with op EQ needs a "column""#),
        ])
    func operandShapes(json: String, message: String) throws {
        let issues = filterIssues(json)
        #expect(issues.map(\.message).contains(message), "\(issues)")
        #expect(issues.allSatisfy { $0.file == "--filter" })
    }

    @Test("invalid JSON is reported against the origin")
    func invalidJSON() throws {
        let issues = filterIssues(#"{"column": "a", "op": "EQ", "#)
        let issue = try #require(issues.first)
        #expect(issue.file == "--filter")
        #expect(issue.message == "not valid JSON")
        #expect(issue.path == "line 1, column 29")
    }

    @Test("a filter text may use the computed columns")
    func computedColumnsAllowed() throws {
        let filter = try parse(#"{"column": "sla_status", "op": "IN", "operand": ["breached", "at_risk"]}"#)
        #expect(filter.columns == ["sla_status"])
    }
}
