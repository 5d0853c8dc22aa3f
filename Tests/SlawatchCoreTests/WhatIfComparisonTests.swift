import Foundation
import SlawatchCore
import Testing

// What-if by hand: a proposal identical to the current rules changes nothing, and each kind of
// change a manager proposes (a holiday, a pause status removed, a priority without target, the
// policies reordered) changes exactly the tickets it should. Office hours in Bogotá (UTC-5, no
// daylight saving): Mon-Fri 08:00-12:00 and 13:00-18:00; now is Tuesday 2026-03-24 17:00 local.

private func rules(
    holiday: Bool = false, pause: String = "\"EN_ESPERA\"", targets: String = "ALTA: 16, MEDIA: 24, BAJA: 4",
    swapped: Bool = false
) -> String {
    let facturacion = """
        {name: "facturacion", when: {column: "area", op: "EQ", operand: "FACTURACION"}, calendar: "24x7",
         targets: {ALTA: 4, MEDIA: 8}, pause_statuses: ["EN_ESPERA"], stop_statuses: ["RESUELTO", "CERRADO"],
         warn_at: [50], escalate_after: ["1h"]}
        """
    let general = """
        {name: "general", calendar: "oficina", targets: {\(targets)}, pause_statuses: [\(pause)],
         stop_statuses: ["RESUELTO", "CERRADO"], warn_at: [50, 75]}
        """
    let day = "[\"08:00-12:00\", \"13:00-18:00\"]"
    return """
        {
          calendars: {
            "24x7": {type: "always"},
            oficina: {timezone: "America/Bogota", week: {mon: \(day), tue: \(day), wed: \(day), thu: \(day), fri: \(day)},
                      holidays: [\(holiday ? "\"2026-03-23\"" : "")]},
          },
          policies: [\(swapped ? general + ", " + facturacion : facturacion + ", " + general)],
        }
        """
}

private func load(_ text: String) throws -> RuleSet {
    try RulesLoader.load(files: [("sla.json", Data(text.utf8))], environment: [:])
}

private func at(_ text: String) -> Instant { Instant(iso8601: text)! }

private let now = at("2026-03-24T22:00:00Z")

private struct Case {
    var code: String
    var area: String?
    var priority: String
    var created: String
    var status = "EN_PROCESO"
    var changes: [(String, String)] = []
}

private let cases = [
    // Monday 08:00 local: 9 h on Monday and 8 h on Tuesday, 17 h of 16.
    Case(code: "T1", area: "TECNOLOGIA", priority: "ALTA", created: "2026-03-23T13:00:00Z"),
    // On hold since Monday 09:00 local: 1 h counted while EN_ESPERA pauses, 17 h otherwise, of 4.
    Case(
        code: "T2", area: "TECNOLOGIA", priority: "BAJA", created: "2026-03-23T13:00:00Z", status: "EN_ESPERA",
        changes: [("EN_ESPERA", "2026-03-23T14:00:00Z")]),
    // Tuesday 08:00 local, 8 h of 24.
    Case(code: "T3", area: "TECNOLOGIA", priority: "MEDIA", created: "2026-03-24T13:00:00Z"),
    // Tuesday 08:00 local in Facturación: 9 h of 4 around the clock, 8 h of 16 on office hours.
    Case(code: "T4", area: "FACTURACION", priority: "ALTA", created: "2026-03-24T13:00:00Z"),
    // Closed within its target: the same under every proposal.
    Case(
        code: "T5", area: nil, priority: "ALTA", created: "2026-03-24T13:00:00Z", status: "CERRADO",
        changes: [("CERRADO", "2026-03-24T15:00:00Z")]),
    // Created before the window: never counted.
    Case(code: "T6", area: "TECNOLOGIA", priority: "BAJA", created: "2026-01-05T13:00:00Z"),
]

private func compare(_ current: String, _ proposed: String) throws -> WhatIfReport {
    let comparison = WhatIfComparison(
        current: try load(current), proposed: try load(proposed), since: at("2026-03-01T00:00:00Z"), until: now,
        now: now)
    for c in cases {
        let ticket = SourceTicket(
            ticketID: c.code, code: c.code, title: c.code, category: nil, requesterEmail: nil, status: c.status,
            priority: c.priority, area: c.area, areaManagerEmail: nil, createdAt: at(c.created),
            updatedAt: c.changes.last.map { at($0.1) } ?? at(c.created))
        comparison.add(ticket, history: c.changes.map { StatusChange(status: $0.0, at: at($0.1)) })
    }
    return comparison.report
}

@Suite struct WhatIfComparisonTests {
    @Test func anIdenticalProposalChangesNothing() throws {
        let report = try compare(rules(), rules())
        #expect(report.current == report.proposed)
        #expect(report.changed.isEmpty)
        #expect(report.current.total.tickets == 5)
        #expect(report.current.total.breached == 2)  // T1 and T4
        #expect(report.current.total.stopped == 1)
        #expect(report.current.total.met == 1)
        #expect(report.current.total.attainment == 1)
        let text = report.text()
        #expect(text.contains("Tickets cuyo resultado cambia (0)"))
        // Every difference is zero.
        for line in text.split(separator: "\n") where line.hasPrefix("  vencidos") || line.hasPrefix("  sla.") {
            #expect(line.hasSuffix(" 0") || line.hasSuffix(" 0 pp"), "\(line)")
        }
    }

    @Test func aHolidayInsideATicketsLifeMovesItsDeadline() throws {
        let report = try compare(rules(), rules(holiday: true))
        #expect(
            report.changed == [
                ChangedTicket(
                    code: "T1", area: "TECNOLOGIA", priority: "ALTA",
                    current: TicketOutcome(policy: "general", breached: true, dueAt: at("2026-03-24T21:00:00Z")),
                    proposed: TicketOutcome(policy: "general", breached: false, dueAt: at("2026-03-25T21:00:00Z")))
            ])
        #expect(report.current.byArea["TECNOLOGIA"]!.breached == 1)
        #expect(report.proposed.byArea["TECNOLOGIA"]!.breached == 0)
    }

    @Test func aPauseStatusRemovedRunsTheClockOnHold() throws {
        let report = try compare(rules(), rules(pause: ""))
        #expect(report.changed.map(\.code) == ["T2"])
        #expect(report.changed.first?.current?.breached == false)
        #expect(report.changed.first?.proposed?.breached == true)
        #expect(report.current.byPriority["BAJA"]!.breached == 0)
        #expect(report.proposed.byPriority["BAJA"]!.breached == 1)
        // Breached, and past both warning levels, under the proposal.
        #expect(report.proposed.byPriority["BAJA"]!.events == [.warning: 2, .breached: 1])
    }

    @Test func aPriorityThatLosesItsTargetLosesItsClock() throws {
        let report = try compare(rules(), rules(targets: "ALTA: 16, BAJA: 4"))
        #expect(report.changed.map(\.code) == ["T3"])
        #expect(report.changed.first?.current?.policy == "general")
        #expect(report.changed.first?.proposed == nil)
        #expect(report.proposed.total.tickets == report.current.total.tickets - 1)
        #expect(report.proposed.byPriority["MEDIA"] == nil)
        #expect(report.json().contains(#""code": "T3", "current": {"policy": "general", "breached": false"#))
        #expect(report.json().contains(#""proposed": null}"#))
    }

    @Test func swappingThePoliciesOrderMovesTicketsBetweenThem() throws {
        let report = try compare(rules(), rules(swapped: true))
        #expect(report.changed.map(\.code) == ["T4"])
        #expect(report.changed.first?.current?.policy == "facturacion")
        #expect(report.changed.first?.current?.breached == true)
        #expect(report.changed.first?.proposed?.policy == "general")
        #expect(report.changed.first?.proposed?.breached == false)
        #expect(report.proposed.byPolicy["facturacion"] == nil)
        #expect(report.current.byPolicy["facturacion"]!.events == [.warning: 1, .breached: 1, .escalated: 1])
    }

    @Test func theJSONHasTheDocumentedShape() throws {
        let report = try compare(rules(), rules(holiday: true))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["since", "until", "now", "current", "proposed", "changed"])
        #expect(object["since"] as? String == "2026-03-01T00:00:00Z")
        let current = try #require(object["current"] as? [String: Any])
        #expect(Set(current.keys) == ["total", "by_policy", "by_area", "by_priority"])
        let total = try #require(current["total"] as? [String: Any])
        #expect(Set(total.keys) == ["tickets", "breached", "stopped", "met", "attainment", "events"])
        #expect(
            Set((total["events"] as? [String: Any] ?? [:]).keys)
                == ["sla.warning", "sla.breached", "sla.escalated", "sla.met_after_breach"])
        let areas = try #require(current["by_area"] as? [String: Any])
        #expect(Set(areas.keys) == ["", "FACTURACION", "TECNOLOGIA"])
        // Nothing stopped in Tecnología: attainment is null.
        #expect((areas["TECNOLOGIA"] as? [String: Any])?["attainment"] is NSNull)
        let changed = try #require(object["changed"] as? [[String: Any]])
        #expect(changed.count == 1)
        #expect(Set(changed[0].keys) == ["code", "current", "proposed"])
        #expect(Set((changed[0]["current"] as? [String: Any] ?? [:]).keys) == ["policy", "breached", "due_at"])
    }

    @Test func theHTMLChartsAttainmentPerAreaWithoutScript() throws {
        let html = try compare(rules(), rules(holiday: true)).html()
        #expect(html.contains("Cumplimiento por área"))
        #expect(html.contains("bgcolor=\"#757575\""))
        #expect(html.contains("bgcolor=\"#1565c0\""))
        #expect(!html.lowercased().contains("<script"))
    }
}
