import Foundation
import SlawatchCore
import Testing

// The forecast: running clocks whose due_at falls in (now, now + within], with the due time in the
// policy calendar's local time; and the report section it adds, within the report's scope.
// Now is 2026-03-29T00:00:00Z, an hour before Europe/Madrid moves from +01:00 to +02:00.

private let forecastRules = #"""
    {
      calendars: {
        "24x7": {type: "always"},
        madrid: {timezone: "Europe/Madrid", week: {
          mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"],
          fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}},
      },
      policies: [
        {name: "madrid", when: {column: "area", op: "EQ", operand: "MADRID"}, calendar: "madrid",
         targets: {ALTA: 4, BAJA: 0.5}, pause_statuses: ["EN_ESPERA"], stop_statuses: ["CERRADO"]},
        {name: "resto", calendar: "24x7", targets: {ALTA: 8}, pause_statuses: ["EN_ESPERA"], stop_statuses: ["CERRADO"]},
      ],
      channels: {consola: {type: "log"}},
      reports: [
        {name: "soporte", schedule: "0 8 * * *", channels: ["consola"], forecast: "8h",
         filter: {column: "area", op: "EQ", operand: "SOPORTE"}},
        {name: "sin", schedule: "0 8 * * *", channels: ["consola"]},
      ],
    }
    """#

private func at(_ text: String) -> Instant { Instant(iso8601: text)! }
private let now = at("2026-03-29T00:00:00Z")
private let hour: Int64 = 3_600_000_000

private func evaluate(
    _ code: String, area: String, priority: String = "ALTA", created: String, status: String = "EN_PROCESO",
    changes: [(String, String)] = []
) throws -> EvaluatedTicket {
    let rules = try RulesLoader.load(files: [("sla.json", Data(forecastRules.utf8))], environment: [:])
    let ticket = SourceTicket(
        ticketID: code, code: code, title: "título \(code)", category: nil, requesterEmail: nil, status: status,
        priority: priority, area: area, areaManagerEmail: nil, createdAt: at(created),
        updatedAt: changes.last.map { at($0.1) } ?? at(created))
    guard
        case .clock(let e) = SLAEvaluator(rules: rules).evaluate(
            ticket, changes: changes.map { StatusChange(status: $0.0, at: at($0.1)) }, now: now)
    else { throw ForecastFixtureError() }
    return e
}

private struct ForecastFixtureError: Error {}

@Suite struct ForecastTests {
    @Test func aTicketDueExactlyAtTheHorizonIsListed() throws {
        // 8 h around the clock from now: due at now + 8 h exactly.
        let ticket = try evaluate("A", area: "SOPORTE", created: "2026-03-29T00:00:00Z")
        #expect(Forecast(now: now, within: 8 * hour).item(ticket)?.dueAt == at("2026-03-29T08:00:00Z"))
        #expect(Forecast(now: now, within: 8 * hour - 1).item(ticket) == nil)
    }

    @Test func aPausedStoppedOrBreachedTicketIsNotListed() throws {
        let paused = try evaluate(
            "P", area: "SOPORTE", created: "2026-03-28T23:00:00Z", status: "EN_ESPERA",
            changes: [("EN_ESPERA", "2026-03-28T23:30:00Z")])
        #expect(paused.reading.state == .paused)
        // Were it running, it would be due within the horizon.
        #expect(paused.reading.dueAt! <= now + 8 * hour)
        #expect(Forecast(now: now, within: 8 * hour).item(paused) == nil)
        let stopped = try evaluate(
            "S", area: "SOPORTE", created: "2026-03-28T23:00:00Z", status: "CERRADO",
            changes: [("CERRADO", "2026-03-28T23:30:00Z")])
        #expect(Forecast(now: now, within: 8 * hour).item(stopped) == nil)
        let breached = try evaluate("B", area: "SOPORTE", created: "2026-03-28T10:00:00Z")
        #expect(breached.reading.isOverdue)
        #expect(Forecast(now: now, within: 8 * hour).item(breached) == nil)
    }

    @Test func dueTimesAcrossADaylightSavingChangeCarryTheirOwnOffset() throws {
        let forecast = Forecast(now: now, within: 8 * hour)
        // Half an hour: 00:30Z, still winter time (+01:00).
        let before = try #require(
            forecast.item(try evaluate("M1", area: "MADRID", priority: "BAJA", created: "2026-03-29T00:00:00Z")))
        #expect(before.dueLocal == "2026-03-29T01:30:00+01:00")
        #expect(before.zone == "Europe/Madrid")
        // Four hours: 04:00Z, after the change at 01:00Z (+02:00).
        let after = try #require(forecast.item(try evaluate("M2", area: "MADRID", created: "2026-03-29T00:00:00Z")))
        #expect(after.dueAt == at("2026-03-29T04:00:00Z"))
        #expect(after.dueLocal == "2026-03-29T06:00:00+02:00")
        // A 24x7 calendar has no zone: UTC.
        let utc = try #require(forecast.item(try evaluate("U", area: "SOPORTE", created: "2026-03-28T20:00:00Z")))
        #expect(utc.dueLocal == "2026-03-29T04:00:00Z")
        let items = forecast.items([
            try evaluate("M2", area: "MADRID", created: "2026-03-29T00:00:00Z"),
            try evaluate("U", area: "SOPORTE", created: "2026-03-28T20:00:00Z"),
            try evaluate("M1", area: "MADRID", priority: "BAJA", created: "2026-03-29T00:00:00Z"),
        ])
        // By due_at, then code.
        #expect(items.map(\.code) == ["M1", "M2", "U"])
        let json = Forecast.json(items)
        #expect(
            json.contains(
                #"{"code": "M1", "area": "MADRID", "priority": "BAJA", "due_at": "2026-03-29T00:30:00Z", "due_local": "2026-03-29T01:30:00+01:00", "horas_restantes": 0.5}"#
            ))
        let text = Forecast.text(items, within: 8 * hour)
        #expect(text.hasPrefix("Se vencerán en las próximas 8 horas (3)\n"))
        #expect(text.contains("\nMADRID (2)\n"))
    }

    @Test func theReportSectionHoldsOnlyItsScopesTickets() throws {
        let rules = try RulesLoader.load(files: [("sla.json", Data(forecastRules.utf8))], environment: [:])
        let tickets = [
            try evaluate("S1", area: "SOPORTE", created: "2026-03-28T20:00:00Z"),
            try evaluate("M1", area: "MADRID", created: "2026-03-29T00:00:00Z"),
        ]
        let report = try #require(rules.reports.first { $0.name == "soporte" })
        #expect(report.forecastMicros == 8 * hour)
        let matching = tickets.filter { report.filter!.matches($0) }
        let content = ReportContent.build(
            report: report, matching: matching, scope: tickets, area: nil, periodStart: now + (-24 * hour),
            periodEnd: now, previousStart: now + (-48 * hour))
        #expect(content.forecast.map(\.code) == ["S1"])
        #expect(content.text(language: "es").contains("Se vencerán en las próximas 8 horas (1):\n  S1"))
        #expect(content.html(language: "es").contains("Se vencerán en las próximas 8 horas (1)"))
        #expect(content.chatText(language: "es").contains("Se vencerán en las próximas 8 horas: 1\n• S1"))
        #expect(content.json().contains(#""forecast_within": "8h", "forecast": [{"code": "S1""#))
        // A report without the key has no section.
        let plain = ReportContent.build(
            report: try #require(rules.reports.first { $0.name == "sin" }), matching: tickets, scope: tickets,
            area: nil, periodStart: now + (-24 * hour), periodEnd: now, previousStart: now + (-48 * hour))
        #expect(!plain.text(language: "es").contains("Se vencerán"))
        #expect(!plain.json().contains("forecast"))
    }

    @Test func checkValidatesTheForecastKey() {
        let bad = forecastRules.replacing(#"forecast: "8h""#, with: #"forecast: "ocho""#)
        do {
            _ = try RulesLoader.load(files: [("sla.json", Data(bad.utf8))], environment: [:])
            Issue.record("a forecast that is not a duration was accepted")
        } catch {
            #expect(error.issues.map(\.path) == ["reports[0].forecast"])
        }
    }

    @Test func rulesForEvaluationOnlyMayLeaveChannelsOut() throws {
        let text = forecastRules.replacing(#"channels: {consola: {type: "log"}},"#, with: "")
        #expect(throws: RulesError.self) {
            try RulesLoader.load(files: [("sla.json", Data(text.utf8))], environment: [:])
        }
        let rules = try RulesLoader.loadForEvaluation(files: [("sla.json", Data(text.utf8))], environment: [:])
        #expect(rules.policies.count == 2)
    }
}
