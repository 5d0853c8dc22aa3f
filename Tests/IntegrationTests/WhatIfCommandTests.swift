import Foundation
import Testing

// `slawatch whatif` and `slawatch forecast` end to end on the known help desk (DashboardTests),
// now Tuesday 2026-03-24 10:00 in Bogotá, and a report's forecast section per area.

/// The known rules with general's ALTA target cut from 8 h to 3 h, MEDIA without a target and BAJA
/// given one of 1 h; no channels, routes or reports.
private let proposedRules = KnownHelpDesk.rules.replacing(
    "targets: { ALTA: 8, MEDIA: 24 }", with: "targets: { ALTA: 3, BAJA: 1 }")

@Suite struct WhatIfCommandTests {
    @Test func whatIfComparesBothRuleSetsAndWritesNothing() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let current = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let proposed = try TemporaryRules(["sla.json": proposedRules])
        let base = ["--rules", current.path, "--database", db.url, "--now", KnownHelpDesk.now]
        let result = await slawatch(
            ["whatif", "--proposed", proposed.path, "--since", "2026-03-01T00:00:00Z", "--format", "json"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["since", "until", "now", "current", "proposed", "changed"])
        #expect(object["since"] as? String == "2026-03-01T00:00:00Z")
        #expect(object["until"] as? String == KnownHelpDesk.now)
        #expect(object["now"] as? String == KnownHelpDesk.now)
        // The totals, exactly as written. TKT-2026-00007 is created after now, so after --until (now).
        #expect(
            result.stdout.contains(
                #""current": {"total": {"tickets": 5, "breached": 1, "stopped": 1, "met": 1, "attainment": 1, "events": {"sla.warning": 2, "sla.breached": 1, "sla.escalated": 0, "sla.met_after_breach": 0}}"#
            ))
        #expect(
            result.stdout.contains(
                #""proposed": {"total": {"tickets": 5, "breached": 3, "stopped": 0, "met": 0, "attainment": null, "events": {"sla.warning": 4, "sla.breached": 3, "sla.escalated": 0, "sla.met_after_breach": 0}}"#
            ))
        let currentSide = try #require(object["current"] as? [String: Any])
        #expect(Set(currentSide.keys) == ["total", "by_policy", "by_area", "by_priority"])
        #expect(Set((currentSide["by_policy"] as? [String: Any] ?? [:]).keys) == ["criticos", "general"])
        #expect(
            Set((currentSide["by_area"] as? [String: Any] ?? [:]).keys)
                == ["", "FACTURACION", "MESA", "TECNOLOGIA"])
        #expect(Set((currentSide["by_priority"] as? [String: Any] ?? [:]).keys) == ["ALTA", "CRITICA", "MEDIA"])
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.map { $0["code"] as? String } == ["TKT-2026-00003", "TKT-2026-00004", "TKT-2026-00005"])
        // 4 h of 8 now, 4 h of 3 proposed: breached when the third hour was used up, Tuesday 09:00 local.
        #expect(
            result.stdout.contains(
                #"{"code": "TKT-2026-00003", "current": {"policy": "general", "breached": false, "due_at": "2026-03-24T20:00:00Z"}, "proposed": {"policy": "general", "breached": true, "due_at": "2026-03-24T14:00:00Z"}}"#
            ))
        // MEDIA loses its clock; BAJA gets one, and 2 h of 1 is breached.
        #expect((changed[1]["proposed"] as Any?) is NSNull)
        #expect((changed[2]["current"] as Any?) is NSNull)
        #expect(
            result.stdout.contains(
                #""proposed": {"policy": "general", "breached": true, "due_at": "2026-03-24T14:00:00Z"}}"#))
        // Nothing written: not even the schema.
        let written = try db.connect().query("SELECT to_regclass('slawatch.clocks') IS NULL").rows[0].bool(0)
        #expect(written)

        let text = await slawatch(["whatif", "--proposed", proposed.path] + base)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Tickets cuyo resultado cambia (3)"))
        #expect(text.stdout.contains("Por área"))
        let html = await slawatch(["whatif", "--proposed", proposed.path, "--format", "html"] + base)
        #expect(html.status == 0, "\(html.stderr)")
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        #expect(html.stdout.contains("Cumplimiento por área"))
    }

    @Test func anIdenticalProposalChangesNothing() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let current = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let result = await slawatch([
            "whatif", "--proposed", current.path, "--format", "json", "--rules", current.path, "--database", db.url,
            "--now", KnownHelpDesk.now,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["changed"] as? [Any])?.isEmpty == true)
        #expect(NSDictionary(dictionary: object["current"] as? [String: Any] ?? [:]).isEqual(object["proposed"]))
        // The default window is the 30 days before now.
        #expect(object["since"] as? String == "2026-02-22T15:00:00Z")
    }

    @Test func aBadProposedSetIsReportedAsCheckReportsItWithExitCode2() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let current = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let bad = try TemporaryRules(["sla.json": KnownHelpDesk.rules.replacing("ALTA: 8", with: #"ALTA: "ocho""#)])
        let result = await slawatch([
            "whatif", "--proposed", bad.path, "--rules", current.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr.contains("sla.json: policies[1].targets.ALTA: expected a number of hours, found \"ocho\""))
        let check = await slawatch(["check", "--rules", bad.path])
        #expect(check.status == 2)
        #expect(result.stderr == check.stderr)
        // Reports naming channels that the proposed set does not define are fine for a what-if.
        let withReports = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules,
            "reports.json": #"{reports: [{name: "r", schedule: "0 8 * * *", channels: ["jefes"]}]}"#,
        ])
        let accepted = await slawatch([
            "whatif", "--proposed", withReports.path, "--rules", current.path, "--database", db.url, "--now",
            KnownHelpDesk.now,
        ])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let missing = await slawatch(["whatif", "--rules", current.path, "--database", db.url])
        #expect(missing.status == 2)
    }

    @Test func forecastListsRunningClocksDueWithinTheHorizon() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules(["sla.json": KnownHelpDesk.rules])
        let base = ["--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now]
        let result = await slawatch(["forecast", "--format", "json"] + base)
        #expect(result.status == 0, "\(result.stderr)")
        // Breached (00001), stopped (00004) and clockless (00005) tickets are not listed.
        #expect(
            result.stdout == """
                [
                  {"code": "TKT-2026-00002", "area": "FACTURACION", "priority": "CRITICA", "due_at": "2026-03-24T17:30:00Z", "due_local": "2026-03-24T17:30:00Z", "horas_restantes": 2.5},
                  {"code": "TKT-2026-00003", "area": "TECNOLOGIA", "priority": "ALTA", "due_at": "2026-03-24T20:00:00Z", "due_local": "2026-03-24T15:00:00-05:00", "horas_restantes": 4},
                  {"code": "TKT-2026-00007", "area": "COMPRAS", "priority": "CRITICA", "due_at": "2026-03-24T20:00:00Z", "due_local": "2026-03-24T20:00:00Z", "horas_restantes": 4},
                  {"code": "TKT-2026-00006", "area": null, "priority": "ALTA", "due_at": "2026-03-24T22:00:00Z", "due_local": "2026-03-24T17:00:00-05:00", "horas_restantes": 6}
                ]

                """)
        // Due exactly at the horizon (20:00Z) is listed; 22:00Z is not.
        let five = await slawatch(["forecast", "--within", "5h", "--format", "json"] + base)
        #expect(five.status == 0, "\(five.stderr)")
        let codes = try #require(try JSONSerialization.jsonObject(with: Data(five.stdout.utf8)) as? [[String: Any]])
            .map { $0["code"] as? String }
        #expect(codes == ["TKT-2026-00002", "TKT-2026-00003", "TKT-2026-00007"])
        let text = await slawatch(["forecast", "--within", "5h"] + base)
        #expect(text.stdout.hasPrefix("Se vencerán en las próximas 5 horas (3)\n"))
        #expect(text.stdout.contains("\nTECNOLOGIA (1)\n"))
        #expect(text.stdout.contains("2026-03-24T15:00:00-05:00 America/Bogota"))
        let bad = await slawatch(["forecast", "--within", "pronto"] + base)
        #expect(bad.status == 2)
    }

    @Test func aPerAreaReportsForecastSectionHoldsOnlyItsAreasTickets() async throws {
        let db = try TestDatabase()
        try KnownHelpDesk.load(into: db)
        let rules = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules,
            "reports.json": """
            {channels: {consola: {type: "log"}},
             reports: [{name: "por_area", schedule: "0 8 * * *", per_area: true, forecast: "8h", channels: ["consola"]}]}
            """,
        ])
        let result = await slawatch([
            "report", "por_area", "--print", "--format", "json", "--rules", rules.path, "--database", db.url, "--now",
            KnownHelpDesk.now,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let scopes = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        var byArea: [String: [String]] = [:]
        for scope in scopes {
            let area = try #require(scope["area"] as? String)
            let items = try #require(scope["forecast"] as? [[String: Any]])
            #expect(items.allSatisfy { $0["area"] as? String == area })
            byArea[area] = items.compactMap { $0["code"] as? String }
        }
        #expect(
            byArea == [
                "COMPRAS": ["TKT-2026-00007"], "FACTURACION": ["TKT-2026-00002"], "MESA": [],
                "TECNOLOGIA": ["TKT-2026-00003"],
            ])
        let text = await slawatch([
            "report", "por_area", "--print", "--rules", rules.path, "--database", db.url, "--now", KnownHelpDesk.now,
        ])
        #expect(text.stdout.contains("Se vencerán en las próximas 8 horas (1):\n  TKT-2026-00003"))
        let badForecast = try TemporaryRules([
            "sla.json": KnownHelpDesk.rules,
            "reports.json": """
            {channels: {consola: {type: "log"}},
             reports: [{name: "r", schedule: "0 8 * * *", forecast: 8, channels: ["consola"]}]}
            """,
        ])
        let check = await slawatch(["check", "--rules", badForecast.path])
        #expect(check.status == 2)
        #expect(check.stderr.contains("reports[0].forecast: expected a duration"))
    }
}
