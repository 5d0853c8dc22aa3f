import Foundation
import Testing

/// Bad input is one line on stderr with the documented exit code, never a crash.
@Suite struct CommandErrorTests {
    func expectError(_ result: CLIResult, code: Int32, mentioning text: String) {
        #expect(result.status == code, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(text), "stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix("slawatch: "))
        #expect(result.stdout.isEmpty)
    }

    @Test func usageErrorsExitTwo() async throws {
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let url = "postgresql://nobody@127.0.0.1:1/none"
        expectError(
            await slawatch(["dashboard", "--role", "JEFE", "--rules", rules.path, "--database", url]), code: 2,
            mentioning: "--role")
        expectError(
            await slawatch(["dashboard", "--role", "AREA", "--rules", rules.path, "--database", url]), code: 2,
            mentioning: "--area")
        expectError(
            await slawatch(["dashboard", "--now", "ayer", "--rules", rules.path, "--database", url]), code: 2,
            mentioning: "--now")
        expectError(
            await slawatch(["dashboard", "--rules", "/nonexistent/rules", "--database", url]), code: 2,
            mentioning: "rules directory")
        expectError(
            await slawatch(["dashboard", "--top", "500", "--rules", rules.path, "--database", url]), code: 2,
            mentioning: "--top")
        expectError(
            await slawatch(["dashboard", "--bogus", "--rules", rules.path]), code: 2,
            mentioning: "unknown option --bogus")
        expectError(await slawatch(["frobnicate"]), code: 2, mentioning: "unknown command")
        expectError(
            await slawatch([
                "dashboard", "--filter", #"{"column": "area", "op": "XOR", "operand": 1}"#, "--rules", rules.path,
                "--database", url,
            ]),
            code: 2,
            mentioning: "The operator 'XOR' is not supported. Supported operators: EQ, NE, GT, GE, LT, LE, LIKE, IN")
    }

    @Test func unreachableDatabaseExitsThree() async throws {
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        expectError(
            await slawatch(["dashboard", "--rules", rules.path, "--database", "postgresql://slawatch@127.0.0.1:1/x"]),
            code: 3, mentioning: "cannot connect")
        expectError(
            await slawatch(
                ["migrate", "--rules", rules.path], environment: ["DATABASE_URL": "postgresql://slawatch@127.0.0.1:1/x"]
            ), code: 3, mentioning: "cannot connect")
    }

    @Test func sourceViewWithoutRequiredColumnExitsOne() async throws {
        let db = try TestDatabase()
        try db.loadReferenceSchema()
        try db.connect().execute(
            "CREATE OR REPLACE VIEW public.mis_tickets AS SELECT ticket_id, code, title FROM slawatch_source.tickets")
        let rules = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules,
            "source.json": #"{ source: { tickets: "public.mis_tickets" } }"#,
        ])
        expectError(
            await slawatch(["dashboard", "--rules", rules.path, "--database", db.url]), code: 1,
            mentioning: "has no column category")
        try db.connect().execute("DROP VIEW public.mis_tickets")
        expectError(
            await slawatch(["dashboard", "--rules", rules.path, "--database", db.url]), code: 1,
            mentioning: "does not exist")
    }
}
