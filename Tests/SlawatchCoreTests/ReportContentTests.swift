import Foundation
import SlawatchCore
import Testing

// What a scheduled report says: counts by sla_status and priority, the breached and at-risk
// tickets ordered by horas_restantes, SLA attainment over the period beside the previous period's,
// and its text, HTML, JSON and chat renderings (the README's Reports).

private let contentRules = #"""
    {
      calendars: { "24x7": { type: "always" } },
      policies: [
        {
          name: "todo",
          calendar: "24x7",
          targets: { CRITICA: 4, ALTA: 8, MEDIA: 24, BAJA: 40 },
          pause_statuses: ["EN_ESPERA"],
          stop_statuses: ["RESUELTO", "CERRADO"],
          warn_at: [50, 75],
        },
      ],
      channels: { consola: { type: "log" } },
      reports: [
        { name: "diario", schedule: "0 8 * * *", timezone: "America/Bogota", channels: ["consola"] },
        { name: "titulado", title: "Informe <semanal> & más", schedule: "0 8 * * 1", timezone: "UTC", channels: ["consola"] },
      ],
    }
    """#

private func instant(_ text: String) throws -> Instant {
    try #require(Instant(iso8601: text), "bad test instant \(text)")
}

private let now = "2026-03-24T12:00:00Z"
private let periodStart = "2026-03-23T12:00:00Z"
private let previousStart = "2026-03-22T12:00:00Z"

/// One ticket of the test help desk: opened at `created`, optionally put on hold at `paused` or
/// stopped (`RESUELTO`/`CERRADO`) at `stopped`.
private struct Spec {
    var code: String
    var title: String
    var priority: String
    var area: String? = "TECNOLOGIA"
    var created: String
    var paused: String? = nil
    var stopped: String? = nil
    var stopStatus = "RESUELTO"
}

/// Every ticket with its expected reading at `now` (24x7, targets CRITICA 4, ALTA 8, MEDIA 24, BAJA 40).
private let specs: [Spec] = [
    // 6 h of 4: 2 h over.
    Spec(
        code: "TKT-2026-00001", title: "<script>alert('x')</script> & facturación", priority: "CRITICA",
        created: "2026-03-24T06:00:00Z"),
    // 9 h of 8: 1 h over.
    Spec(code: "TKT-2026-00002", title: "VPN caída", priority: "ALTA", area: "MESA", created: "2026-03-24T03:00:00Z"),
    // 3 h of 4 (75 %): at risk, 1 h left.
    Spec(code: "TKT-2026-00003", title: "Servidor lento", priority: "CRITICA", created: "2026-03-24T09:00:00Z"),
    // 18 h of 24 (75 %): at risk, 6 h left.
    Spec(code: "TKT-2026-00004", title: "Impresora sin tóner", priority: "MEDIA", created: "2026-03-23T18:00:00Z"),
    // 1 h of 24: on track.
    Spec(code: "TKT-2026-00005", title: "Cambio de clave", priority: "MEDIA", created: "2026-03-24T11:00:00Z"),
    // Waiting since 09:00: paused.
    Spec(
        code: "TKT-2026-00006", title: "Esperando al proveedor", priority: "ALTA", created: "2026-03-24T08:00:00Z",
        paused: "2026-03-24T09:00:00Z"),
    // Resolved in the period after 2 h of 4: met.
    Spec(
        code: "TKT-2026-00007", title: "Correo rebotado", priority: "CRITICA", created: "2026-03-23T20:00:00Z",
        stopped: "2026-03-23T22:00:00Z"),
    // Resolved in the period after 13 h of 8: breached, 5 h over.
    Spec(
        code: "TKT-2026-00008", title: "Licencias vencidas", priority: "ALTA", created: "2026-03-23T00:00:00Z",
        stopped: "2026-03-23T13:00:00Z"),
    // Resolved in the previous period after 4 h of 24: met.
    Spec(
        code: "TKT-2026-00009", title: "Alta de usuario", priority: "MEDIA", created: "2026-03-22T10:00:00Z",
        stopped: "2026-03-22T14:00:00Z"),
    // Closed in the previous period after 12 h of 4: breached, 8 h over.
    Spec(
        code: "TKT-2026-00010", title: "Caída de la red", priority: "CRITICA", created: "2026-03-22T13:00:00Z",
        stopped: "2026-03-23T01:00:00Z", stopStatus: "CERRADO"),
    // Resolved before both periods: met, but outside every attainment.
    Spec(
        code: "TKT-2026-00011", title: "Monitor nuevo", priority: "MEDIA", created: "2026-03-19T10:00:00Z",
        stopped: "2026-03-19T12:00:00Z"),
    // Resolved in the period after 21.5 h of 40: met.
    Spec(
        code: "TKT-2026-00012", title: "Consulta general", priority: "BAJA", created: "2026-03-23T12:30:00Z",
        stopped: "2026-03-24T10:00:00Z"),
]

private struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

private func loadRules() throws -> RuleSet {
    try RulesLoader.load(files: [(path: "rules/sla.json", contents: Data(contentRules.utf8))], environment: [:])
}

private func evaluate(_ specs: [Spec], rules: RuleSet) throws -> [EvaluatedTicket] {
    let evaluator = SLAEvaluator(rules: rules)
    return try specs.enumerated().map { i, spec in
        var changes = [StatusChange(status: "ABIERTO", at: try instant(spec.created))]
        var status = "ABIERTO"
        var updated = spec.created
        if let paused = spec.paused {
            changes.append(StatusChange(status: "EN_ESPERA", at: try instant(paused)))
            status = "EN_ESPERA"
            updated = paused
        }
        if let stopped = spec.stopped {
            changes.append(StatusChange(status: spec.stopStatus, at: try instant(stopped)))
            status = spec.stopStatus
            updated = stopped
        }
        let ticket = SourceTicket(
            ticketID: "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - String(i + 1).count)
                + String(i + 1), code: spec.code, title: spec.title, category: nil,
            requesterEmail: nil, status: status, priority: spec.priority, area: spec.area, areaManagerEmail: nil,
            createdAt: try instant(spec.created), updatedAt: try instant(updated))
        guard case .clock(let evaluated) = evaluator.evaluate(ticket, changes: changes, now: try instant(now)) else {
            throw FixtureError(description: "\(spec.code) has no clock")
        }
        return evaluated
    }
}

private func build(
    matching: [EvaluatedTicket], scope: [EvaluatedTicket], area: String? = nil, report: String = "diario"
) throws -> ReportContent {
    let rules = try loadRules()
    let definition = try #require(rules.reports.first { $0.name == report })
    return ReportContent.build(
        report: definition, matching: matching, scope: scope, area: area, periodStart: try instant(periodStart),
        periodEnd: try instant(now), previousStart: try instant(previousStart))
}

private func fullReport() throws -> (content: ReportContent, tickets: [EvaluatedTicket]) {
    let tickets = try evaluate(specs, rules: try loadRules())
    return (try build(matching: tickets, scope: tickets), tickets)
}

/// The breached and at-risk tickets, by horas_restantes: 10 (−8), 8 (−5), 1 (−2), 2 (−1), 3 (+1), 4 (+6).
private let attentionOrder = [
    "TKT-2026-00010", "TKT-2026-00008", "TKT-2026-00001", "TKT-2026-00002", "TKT-2026-00003", "TKT-2026-00004",
]

private func json(_ text: String) throws -> [String: Any] {
    try #require(
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
}

@Suite("ReportContent")
struct ReportContentTests {
    @Test("the fixture's clocks are what the report is checked against")
    func fixture() throws {
        let tickets = try evaluate(specs, rules: try loadRules())
        let byCode = Dictionary(uniqueKeysWithValues: tickets.map { ($0.ticket.code, $0.reading) })
        let expected: [(String, SLAStatus, Double)] = [
            ("TKT-2026-00001", .breached, -2), ("TKT-2026-00002", .breached, -1), ("TKT-2026-00003", .at_risk, 1),
            ("TKT-2026-00004", .at_risk, 6), ("TKT-2026-00005", .on_track, 23), ("TKT-2026-00006", .paused, 7),
            ("TKT-2026-00007", .met, 2), ("TKT-2026-00008", .breached, -5), ("TKT-2026-00009", .met, 20),
            ("TKT-2026-00010", .breached, -8), ("TKT-2026-00011", .met, 22), ("TKT-2026-00012", .met, 18.5),
        ]
        for (code, status, hours) in expected {
            let reading = try #require(byCode[code])
            #expect(reading.status == status, "\(code)")
            #expect(reading.hoursRemaining == hours, "\(code)")
        }
    }

    @Test("counts by sla_status and by priority")
    func counts() throws {
        let (content, _) = try fullReport()
        #expect(content.total == 12)
        #expect(content.byStatus == [.breached: 4, .at_risk: 2, .on_track: 1, .paused: 1, .met: 4])
        #expect(
            content.byPriority == [
                "CRITICA": [.breached: 2, .at_risk: 1, .met: 1],
                "ALTA": [.breached: 2, .paused: 1],
                "MEDIA": [.at_risk: 1, .on_track: 1, .met: 2],
                "BAJA": [.met: 1],
            ])
        let text = content.text(language: "es")
        #expect(
            text.contains("Por estado de SLA: en pausa 1, cumplido 4, vencido 4, en riesgo 2, a tiempo 1"), "\(text)")
        #expect(
            text.contains(
                "  CRITICA: cumplido 1, vencido 2, en riesgo 1\n  ALTA: en pausa 1, vencido 2\n  MEDIA: cumplido 2, en riesgo 1, a tiempo 1\n  BAJA: cumplido 1\n"
            ), "\(text)")
        let english = content.text(language: "en")
        #expect(english.contains("By SLA status: paused 1, met 4, breached 4, at risk 2, on track 1"), "\(english)")
        #expect(content.subject(language: "es") == "Informe de SLA: 4 vencido, 2 en riesgo")
    }

    @Test("the breached and at-risk tickets, ordered by horas_restantes, with code, title, priority, area and hours")
    func attentionList() throws {
        let (content, _) = try fullReport()
        #expect(content.attention.map(\.code) == attentionOrder)
        #expect(content.attention.map(\.hoursRemaining) == [-8, -5, -2, -1, 1, 6])
        #expect(content.attention.map(\.status) == [.breached, .breached, .breached, .breached, .at_risk, .at_risk])
        let first = try #require(content.attention.first)
        #expect(first.title == "Caída de la red" && first.priority == "CRITICA" && first.area == "TECNOLOGIA")

        let text = content.text(language: "es")
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex(of: "Vencidos y en riesgo (6):"), "\(text)")
        #expect(
            Array(lines[(header + 1)...(header + 6)]) == [
                "  TKT-2026-00010  CRITICA  TECNOLOGIA  8 h vencido  Caída de la red",
                "  TKT-2026-00008  ALTA  TECNOLOGIA  5 h vencido  Licencias vencidas",
                "  TKT-2026-00001  CRITICA  TECNOLOGIA  2 h vencido  <script>alert('x')</script> & facturación",
                "  TKT-2026-00002  ALTA  MESA  1 h vencido  VPN caída",
                "  TKT-2026-00003  CRITICA  TECNOLOGIA  1 h restantes  Servidor lento",
                "  TKT-2026-00004  MEDIA  TECNOLOGIA  6 h restantes  Impresora sin tóner",
            ])
        let english = content.text(language: "en")
        #expect(english.contains("  TKT-2026-00010  CRITICA  TECNOLOGIA  8 h over  Caída de la red\n"), "\(english)")
        #expect(english.contains("  TKT-2026-00003  CRITICA  TECNOLOGIA  1 h left  Servidor lento\n"), "\(english)")
        // In the HTML too, in the same order.
        let html = content.html(language: "es")
        let positions = try attentionOrder.map { code in
            try #require(html.range(of: code), "\(code) not in the HTML").lowerBound
        }
        #expect(positions == positions.sorted())
    }

    @Test("ties in horas_restantes are ordered by code")
    func ties() throws {
        let rules = try loadRules()
        let tickets = try evaluate(
            [
                Spec(code: "TKT-2026-00202", title: "b", priority: "CRITICA", created: "2026-03-24T07:00:00Z"),
                Spec(code: "TKT-2026-00201", title: "a", priority: "CRITICA", created: "2026-03-24T07:00:00Z"),
            ], rules: rules)
        #expect(
            try build(matching: tickets, scope: tickets).attention.map(\.code) == ["TKT-2026-00201", "TKT-2026-00202"])
    }

    @Test("attainment: tickets that stopped within target out of all that stopped, this period and the previous")
    func attainment() throws {
        let (content, tickets) = try fullReport()
        // This period: 7 (met), 8 (late), 12 (met). The previous: 9 (met), 10 (late). 11 stopped before both.
        #expect(content.attained.met == 2 && content.attained.stopped == 3)
        #expect(content.previousAttained.met == 1 && content.previousAttained.stopped == 2)
        #expect(
            content.text(language: "es").contains("Cumplimiento de SLA: 66,7 % (2/3); periodo anterior: 50 % (1/2)"))
        #expect(content.text(language: "en").contains("SLA attainment: 66.7 % (2/3); previous period: 50 % (1/2)"))
        #expect(content.html(language: "es").contains("66,7 % (2/3)"))
        #expect(content.html(language: "es").contains("50 % (1/2)"))

        // Attainment covers the report's whole scope, not only what its filter keeps.
        let onlyAttention = tickets.filter {
            [.breached, .at_risk].contains($0.reading.status) && $0.reading.state != .stopped
        }
        let filtered = try build(matching: onlyAttention, scope: tickets)
        #expect(filtered.attained.met == 2 && filtered.attained.stopped == 3)
        #expect(filtered.previousAttained.met == 1 && filtered.previousAttained.stopped == 2)
        #expect(filtered.total == 4)

        // A scope where nothing stopped says so rather than dividing by zero.
        let open = tickets.filter { $0.reading.state != .stopped }
        let none = try build(matching: open, scope: open)
        #expect(none.attained.stopped == 0 && none.previousAttained.stopped == 0)
        #expect(
            none.text(language: "es").contains(
                "Cumplimiento de SLA: ningún ticket cerrado; periodo anterior: ningún ticket cerrado"))
        #expect(
            none.text(language: "en").contains("SLA attainment: no ticket stopped; previous period: no ticket stopped"))
    }

    @Test("nothing breached or at risk: a short quiet report, not an empty one")
    func quiet() throws {
        let (_, tickets) = try fullReport()
        let calm = tickets.filter { [.on_track, .paused, .met].contains($0.reading.status) }
        for matching in [calm, []] {
            let content = try build(matching: matching, scope: tickets, area: "TECNOLOGIA")
            #expect(content.isQuiet)
            #expect(content.attention.isEmpty)
            #expect(content.subject(language: "es").contains("Nada vencido ni en riesgo"))
            #expect(content.subject(language: "en").contains("Nothing overdue or at risk"))
            #expect(content.text(language: "es").contains("Nada vencido ni en riesgo"))
            #expect(content.text(language: "en").contains("Nothing overdue or at risk"))
            #expect(content.html(language: "es").contains("Nada vencido ni en riesgo"))
            #expect(content.chatText(language: "en").contains("Nothing overdue or at risk"))
            #expect(!content.text(language: "es").contains("Vencidos y en riesgo"))
            let object = try json(content.json())
            #expect((object["attention"] as? [Any])?.isEmpty == true)
        }
        #expect(!(try fullReport().content.isQuiet))
        #expect(!(try fullReport().content.text(language: "es").contains("Nada vencido")))
    }

    @Test("the HTML escapes ticket text and the report's title")
    func htmlEscapes() throws {
        let tickets = try evaluate(specs, rules: try loadRules())
        let content = try build(matching: tickets, scope: tickets, area: "I+D <Norte>", report: "titulado")
        let html = content.html(language: "es")
        #expect(!html.contains("<script>"))
        #expect(!html.contains("</script>"))
        #expect(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; facturación"))
        #expect(html.contains("Informe &lt;semanal&gt; &amp; más"))
        #expect(html.contains("I+D &lt;Norte&gt;"))
        #expect(!html.contains("<Norte>"))
        #expect(!html.contains("<semanal>"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>"))
        // The plain-text part keeps the text as it is.
        #expect(content.text(language: "es").contains("<script>alert('x')</script> & facturación"))
    }

    @Test("the HTML draws a bar per sla_status, its length following the count")
    func htmlBarChart() throws {
        let (content, _) = try fullReport()
        let html = content.html(language: "es")
        let bars = html.matches(
            of:
                /<td width="(\d+)" height="14" bgcolor="(#[0-9a-fA-F]{6})" style="background:(#[0-9a-fA-F]{6});width:(\d+)px/
        )
        #expect(bars.count == SLAStatus.allCases.count, "\(html)")
        var widthByColor: [String: Int] = [:]
        for bar in bars {
            #expect(bar.output.1 == bar.output.4)
            #expect(bar.output.2 == bar.output.3)
            widthByColor[String(bar.output.2)] = Int(bar.output.1)
        }
        #expect(Set(widthByColor.keys).count == 5, "one colour per status")
        let widths = bars.map { Int($0.output.1) ?? 0 }
        // In SLAStatus order: paused 1, met 4, breached 4, at risk 2, on track 1.
        #expect(widths.count == 5)
        if widths.count == 5 {
            #expect(widths[1] == widths[2] && widths[1] == widths.max())
            #expect(widths[3] * 2 == widths[2])
            #expect(widths[0] * 4 == widths[2] && widths[4] == widths[0])
        }
        // Each bar is followed by its count.
        for (label, count) in [("en pausa", 1), ("cumplido", 4), ("vencido", 4), ("en riesgo", 2), ("a tiempo", 1)] {
            let row = try #require(html.range(of: "<td style=\"width:90px\">\(label)</td>"), "no bar row for \(label)")
            let rest = html[row.upperBound...]
            let countCell = try #require(rest.range(of: "<td style=\"padding-left:6px\">"))
            #expect(rest[countCell.upperBound...].hasPrefix("\(count)</td>"), "\(label)")
        }
        // A zero count still draws a sliver, and no count divides by zero.
        let empty = try build(matching: [], scope: [])
        #expect(empty.html(language: "es").matches(of: /<td width="(\d+)" height="14"/).count == 5)
    }

    @Test("the JSON rendering parses and has the documented keys")
    func jsonRendering() throws {
        let (content, _) = try fullReport()
        let object = try json(content.json())
        #expect(
            Set(object.keys) == [
                "report", "title", "area", "period_start", "period_end", "total", "by_status", "by_priority",
                "attention", "attainment", "previous_attainment",
            ])
        #expect(object["report"] as? String == "diario")
        #expect(object["title"] as? String == "Informe de SLA")
        #expect(object["area"] is NSNull)
        #expect(object["period_start"] as? String == periodStart)
        #expect(object["period_end"] as? String == now)
        #expect((object["total"] as? NSNumber)?.intValue == 12)
        let byStatus = try #require(object["by_status"] as? [String: Any])
        #expect(Set(byStatus.keys) == Set(SLAStatus.allCases.map(\.rawValue)))
        #expect(
            byStatus.mapValues { ($0 as? NSNumber)?.intValue ?? -1 } == [
                "paused": 1, "met": 4, "breached": 4, "at_risk": 2, "on_track": 1,
            ])
        let byPriority = try #require(object["by_priority"] as? [String: [String: Any]])
        #expect(Set(byPriority.keys) == ["CRITICA", "ALTA", "MEDIA", "BAJA"])
        #expect((byPriority["CRITICA"]?["breached"] as? NSNumber)?.intValue == 2)
        #expect((byPriority["ALTA"]?["paused"] as? NSNumber)?.intValue == 1)
        let attention = try #require(object["attention"] as? [[String: Any]])
        #expect(attention.map { $0["label"] as? String ?? "" } == attentionOrder)
        for item in attention {
            #expect(
                Set(item.keys) == ["label", "title", "prioridad_nom", "area_asignada", "sla_status", "horas_restantes"])
        }
        #expect(attention.map { ($0["horas_restantes"] as? NSNumber)?.doubleValue ?? .nan } == [-8, -5, -2, -1, 1, 6])
        #expect(attention.first?["sla_status"] as? String == "breached")
        #expect(attention.last?["sla_status"] as? String == "at_risk")
        #expect(attention[2]["title"] as? String == "<script>alert('x')</script> & facturación")
        let attainment = try #require(object["attainment"] as? [String: Any])
        #expect((attainment["met"] as? NSNumber)?.intValue == 2 && (attainment["stopped"] as? NSNumber)?.intValue == 3)
        let previous = try #require(object["previous_attainment"] as? [String: Any])
        #expect((previous["met"] as? NSNumber)?.intValue == 1 && (previous["stopped"] as? NSNumber)?.intValue == 2)

        // A per-area report names its area.
        let tickets = try evaluate(specs, rules: try loadRules())
        let area = try json(try build(matching: tickets, scope: tickets, area: "TECNOLOGIA").json())
        #expect(area["area"] as? String == "TECNOLOGIA")
    }

    @Test("chat channels get a compact summary with at most five items")
    func chatSummary() throws {
        let (content, _) = try fullReport()
        let chat = content.chatText(language: "es")
        let lines = chat.split(separator: "\n").map(String.init)
        let items = lines.filter { $0.hasPrefix("• ") }
        #expect(items.count == 5, "\(chat)")
        #expect(items.map { String($0.dropFirst(2).prefix(14)) } == Array(attentionOrder.prefix(5)))
        #expect(!chat.contains("TKT-2026-00004"))
        #expect(lines.contains("…y 1 más"), "\(chat)")
        #expect(lines.first == content.subject(language: "es"))
        #expect(chat.contains("66,7 % (2/3)"))
        #expect(content.chatText(language: "en").split(separator: "\n").contains("…and 1 more"))
        // Short: the counts and the top items, not the tables.
        #expect(!chat.contains("Por prioridad"))
        #expect(lines.count <= 8)

        // Every chat kind carries valid JSON with the summary; the generic webhook carries the whole report.
        let at = try instant(now)
        for kind in Channel.Kind.allCases {
            let body = ChannelPayload.report(for: kind, content: content, language: "es", at: at)
            let object = try json(body)
            switch kind {
            case .slack: #expect((object["text"] as? String)?.contains("TKT-2026-00010") == true)
            case .googlechat: #expect(object["text"] as? String == chat)
            case .discord: #expect(object["content"] as? String == chat)
            case .teams: #expect(body.contains("TKT-2026-00010"))
            case .webhook, .log, .email:
                #expect(object["type"] as? String == "sla.report")
                #expect(object["timestamp"] as? String == now)
                let data = try #require(object["data"] as? [String: Any])
                #expect((data["attention"] as? [Any])?.count == 6)
            }
        }

        // Fewer than five: all of them, and no "more" line.
        let tickets = try evaluate(Array(specs.prefix(3)), rules: try loadRules())
        let small = try build(matching: tickets, scope: tickets).chatText(language: "es")
        #expect(small.split(separator: "\n").filter { $0.hasPrefix("• ") }.count == 3)
        #expect(!small.contains("más"))
    }
}
