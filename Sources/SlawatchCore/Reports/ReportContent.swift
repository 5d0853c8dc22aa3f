/// One rendered digest: what a manager reads in ten seconds.
///
/// Counts by `sla_status` and priority, the breached and at-risk tickets ordered by
/// `horas_restantes`, and SLA attainment over the report's period (tickets that stopped within
/// their target, out of all that stopped in the period) beside the previous period's. The counts
/// and the list cover the tickets the report's filter keeps; attainment covers every ticket of the
/// report's scope (its area, for a per-area report), since a filter such as "breached or at risk"
/// would leave no stopped ticket to measure.
public struct ReportContent: Sendable {
    public struct Item: Sendable, Hashable {
        public let code: String
        public let title: String
        public let priority: String
        public let area: String?
        public let status: SLAStatus
        public let hoursRemaining: Double
    }

    public let reportName: String
    public let title: String
    public let area: String?
    public let periodStart: Instant
    public let periodEnd: Instant
    public let total: Int
    public let byStatus: [SLAStatus: Int]
    /// Priority → status → count.
    public let byPriority: [String: [SLAStatus: Int]]
    public let attention: [Item]
    public let attained: (met: Int, stopped: Int)
    public let previousAttained: (met: Int, stopped: Int)
    /// The report's `forecast` horizon (microseconds); nil when it has none.
    public var forecastWithin: Int64? = nil
    /// The running clocks of the tickets the filter keeps that will breach within the horizon, by
    /// `due_at`.
    public var forecast: [ForecastItem] = []

    /// `now`: the instant the tickets were evaluated at, from which the forecast's horizon counts
    /// (`periodEnd` when not given).
    public static func build(
        report: Report, matching: [EvaluatedTicket], scope: [EvaluatedTicket], area: String?,
        periodStart: Instant, periodEnd: Instant, previousStart: Instant, now: Instant? = nil
    ) -> ReportContent {
        var byStatus: [SLAStatus: Int] = [:]
        var byPriority: [String: [SLAStatus: Int]] = [:]
        for t in matching {
            byStatus[t.reading.status, default: 0] += 1
            byPriority[t.ticket.priority, default: [:]][t.reading.status, default: 0] += 1
        }
        let attention = matching.filter { $0.reading.status == .breached || $0.reading.status == .at_risk }
            .sorted { ($0.reading.hoursRemaining, $0.ticket.code) < ($1.reading.hoursRemaining, $1.ticket.code) }
            .map {
                Item(
                    code: $0.ticket.code, title: $0.ticket.title, priority: $0.ticket.priority, area: $0.ticket.area,
                    status: $0.reading.status, hoursRemaining: $0.reading.hoursRemaining)
            }
        func attainment(_ from: Instant, _ to: Instant) -> (Int, Int) {
            var met = 0
            var stopped = 0
            for t in scope where t.reading.state == .stopped {
                guard let since = t.reading.stoppedSince, since >= from, since < to else { continue }
                stopped += 1
                if !t.reading.isOverdue { met += 1 }
            }
            return (met, stopped)
        }
        var content = ReportContent(
            reportName: report.name, title: report.title ?? "Informe de SLA", area: area, periodStart: periodStart,
            periodEnd: periodEnd,
            total: matching.count, byStatus: byStatus, byPriority: byPriority, attention: attention,
            attained: attainment(periodStart, periodEnd), previousAttained: attainment(previousStart, periodStart))
        if let within = report.forecastMicros {
            content.forecastWithin = within
            content.forecast = Forecast(now: now ?? periodEnd, within: within).items(matching)
        }
        return content
    }

    public var isQuiet: Bool { attention.isEmpty }

    static let priorityOrder = ["CRITICA", "ALTA", "MEDIA", "BAJA"]
    var priorities: [String] {
        byPriority.keys.sorted { a, b in
            let ia = Self.priorityOrder.firstIndex(of: a) ?? Int.max
            let ib = Self.priorityOrder.firstIndex(of: b) ?? Int.max
            return ia != ib ? ia < ib : a < b
        }
    }

    struct Words {
        let en: Bool
        var area: String { en ? "Area" : "Área" }
        var noArea: String { en ? "no area" : "sin área" }
        var period: String { en ? "Period" : "Periodo" }
        var quiet: String { en ? "Nothing overdue or at risk. 🎉" : "Nada vencido ni en riesgo. 🎉" }
        var attention: String { en ? "Breached and at risk" : "Vencidos y en riesgo" }
        var byStatus: String { en ? "By SLA status" : "Por estado de SLA" }
        var byPriority: String { en ? "By priority" : "Por prioridad" }
        var attainment: String { en ? "SLA attainment" : "Cumplimiento de SLA" }
        var previous: String { en ? "previous period" : "periodo anterior" }
        var over: String { en ? "h over" : "h vencido" }
        var left: String { en ? "h left" : "h restantes" }
        var none: String { en ? "no ticket stopped" : "ningún ticket cerrado" }
        var noForecast: String { en ? "none" : "ninguno" }
        func status(_ s: SLAStatus) -> String {
            switch s {
            case .breached: return en ? "breached" : "vencido"
            case .at_risk: return en ? "at risk" : "en riesgo"
            case .on_track: return en ? "on track" : "a tiempo"
            case .paused: return en ? "paused" : "en pausa"
            case .met: return en ? "met" : "cumplido"
            }
        }
    }

    func hours(_ h: Double, _ w: Words) -> String {
        let value = Notice.hours(abs(h), w.en)
        return h < 0 ? "\(value) \(w.over)" : "\(value) \(w.left)"
    }

    func attainmentText(_ a: (met: Int, stopped: Int), _ w: Words) -> String {
        guard a.stopped > 0 else { return w.none }
        let percent = Double(a.met) * 100 / Double(a.stopped)
        return "\(Notice.hours(percent, w.en)) % (\(a.met)/\(a.stopped))"
    }

    public func subject(language: String) -> String {
        let w = Words(en: language == "en")
        let scope = area.map { " — \($0)" } ?? ""
        let counts =
            isQuiet
            ? w.quiet
            : "\(byStatus[.breached] ?? 0) \(w.status(.breached)), \(byStatus[.at_risk] ?? 0) \(w.status(.at_risk))"
        return "\(title)\(scope): \(counts)"
    }

    public func text(language: String) -> String {
        let w = Words(en: language == "en")
        var out = title + (area.map { " — \(w.area) \($0)" } ?? "") + "\n"
        out += "\(w.period): \(periodStart.iso8601) → \(periodEnd.iso8601)\n\n"
        if isQuiet { out += w.quiet + "\n\n" }
        out +=
            w.byStatus + ": "
            + SLAStatus.allCases.map { "\(w.status($0)) \(byStatus[$0] ?? 0)" }.joined(separator: ", ") + "\n"
        if !priorities.isEmpty {
            out += w.byPriority + ":\n"
            for p in priorities {
                out +=
                    "  \(p): "
                    + SLAStatus.allCases.compactMap { s in byPriority[p]?[s].map { "\(w.status(s)) \($0)" } }.joined(
                        separator: ", ") + "\n"
            }
        }
        if !attention.isEmpty {
            out += "\n\(w.attention) (\(attention.count)):\n"
            for item in attention {
                out +=
                    "  \(item.code)  \(item.priority)  \(item.area ?? w.noArea)  \(hours(item.hoursRemaining, w))  \(item.title)\n"
            }
        }
        out +=
            "\n\(w.attainment): \(attainmentText(attained, w)); \(w.previous): \(attainmentText(previousAttained, w))\n"
        if let within = forecastWithin {
            out += "\n\(Forecast.title(within, english: w.en)) (\(forecast.count)):\n"
            if forecast.isEmpty { out += "  " + w.noForecast + "\n" }
            for item in forecast {
                out += "  \(item.code)  \(item.priority)  \(item.area ?? w.noArea)  \(item.dueLocal)  \(item.title)\n"
            }
        }
        return out
    }

    /// HTML for mail clients: tables and inline styles only; the bar chart is table cells with a
    /// background color and a width, which Outlook, Gmail and Apple Mail all render.
    public func html(language: String) -> String {
        let w = Words(en: language == "en")
        func e(_ s: String) -> String { MailContent.escape(s) }
        let colors: [SLAStatus: String] = [
            .breached: "#c62828", .at_risk: "#ef6c00", .on_track: "#2e7d32", .paused: "#757575", .met: "#1565c0",
        ]
        var out =
            "<!DOCTYPE html><html lang=\"\(language)\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:Arial,Helvetica,sans-serif;color:#222\">"
        out += "<h1 style=\"font-size:20px;margin:0 0 4px\">\(e(title))\(area.map { " — " + e($0) } ?? "")</h1>"
        out +=
            "<p style=\"color:#666;font-size:12px;margin:0 0 16px\">\(w.period): \(periodStart.iso8601) → \(periodEnd.iso8601)</p>"
        if isQuiet { out += "<p style=\"font-size:16px\">\(e(w.quiet))</p>" }
        let maxCount = max(1, SLAStatus.allCases.map { byStatus[$0] ?? 0 }.max() ?? 1)
        out +=
            "<h2 style=\"font-size:15px\">\(w.byStatus)</h2><table role=\"presentation\" cellpadding=\"2\" cellspacing=\"0\" style=\"font-size:13px\">"
        for status in SLAStatus.allCases {
            let count = byStatus[status] ?? 0
            let width = max(2, count * 240 / maxCount)
            out +=
                "<tr><td style=\"width:90px\">\(w.status(status))</td><td><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\"><tr>"
                + "<td width=\"\(width)\" height=\"14\" bgcolor=\"\(colors[status]!)\" style=\"background:\(colors[status]!);width:\(width)px;height:14px;font-size:0;line-height:0\">&nbsp;</td>"
                + "<td style=\"padding-left:6px\">\(count)</td></tr></table></td></tr>"
        }
        out += "</table>"
        if !priorities.isEmpty {
            out +=
                "<h2 style=\"font-size:15px\">\(w.byPriority)</h2><table cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\"><tr><th></th>"
            out +=
                SLAStatus.allCases.map { "<th style=\"border-bottom:1px solid #ccc\">\(w.status($0))</th>" }.joined()
                + "</tr>"
            for p in priorities {
                out +=
                    "<tr><th align=\"left\">\(e(p))</th>"
                    + SLAStatus.allCases.map { "<td align=\"right\">\(byPriority[p]?[$0] ?? 0)</td>" }.joined()
                    + "</tr>"
            }
            out += "</table>"
        }
        if !attention.isEmpty {
            out +=
                "<h2 style=\"font-size:15px\">\(w.attention) (\(attention.count))</h2><table cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\">"
            for item in attention {
                let color = item.status == .breached ? colors[.breached]! : colors[.at_risk]!
                out +=
                    "<tr><td><b>\(e(item.code))</b></td><td>\(e(item.title))</td><td>\(e(item.priority))</td><td>\(e(item.area ?? w.noArea))</td>"
                    + "<td style=\"color:\(color);white-space:nowrap\">\(e(hours(item.hoursRemaining, w)))</td></tr>"
            }
            out += "</table>"
        }
        out +=
            "<h2 style=\"font-size:15px\">\(w.attainment)</h2><p style=\"font-size:14px\">\(e(attainmentText(attained, w))) <span style=\"color:#666\">(\(w.previous): \(e(attainmentText(previousAttained, w))))</span></p>"
        if let within = forecastWithin {
            out += "<h2 style=\"font-size:15px\">\(e(Forecast.title(within, english: w.en))) (\(forecast.count))</h2>"
            if forecast.isEmpty { out += "<p style=\"font-size:14px\">\(e(w.noForecast))</p>" }
            if !forecast.isEmpty {
                out +=
                    "<table cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\">"
                for item in forecast {
                    out +=
                        "<tr><td><b>\(e(item.code))</b></td><td>\(e(item.title))</td><td>\(e(item.priority))</td><td>\(e(item.area ?? w.noArea))</td>"
                        + "<td style=\"color:\(colors[.at_risk]!);white-space:nowrap\">\(e(item.dueLocal))</td></tr>"
                }
                out += "</table>"
            }
        }
        return out + "<p style=\"color:#888;font-size:11px\">slawatch · \(e(reportName))</p></body></html>"
    }

    /// A compact summary for chat channels: counts, attainment and the top items.
    public func chatText(language: String, top: Int = 5) -> String {
        let w = Words(en: language == "en")
        var lines = [subject(language: language)]
        for item in attention.prefix(top) {
            lines.append(
                "• \(item.code) (\(item.priority), \(item.area ?? w.noArea)): \(hours(item.hoursRemaining, w)) — \(item.title)"
            )
        }
        if attention.count > top {
            lines.append(language == "en" ? "…and \(attention.count - top) more" : "…y \(attention.count - top) más")
        }
        lines.append(
            "\(w.attainment): \(attainmentText(attained, w)) (\(w.previous): \(attainmentText(previousAttained, w)))")
        if let within = forecastWithin {
            lines.append("\(Forecast.title(within, english: w.en)): \(forecast.count)")
            for item in forecast.prefix(top) {
                lines.append(
                    "• \(item.code) (\(item.priority), \(item.area ?? w.noArea)): \(item.dueLocal) — \(item.title)")
            }
            if forecast.count > top {
                lines.append(language == "en" ? "…and \(forecast.count - top) more" : "…y \(forecast.count - top) más")
            }
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let items = attention.map {
            JSONText.object([
                ("label", JSONText.string($0.code)), ("title", JSONText.string($0.title)),
                ("prioridad_nom", JSONText.string($0.priority)),
                ("area_asignada", JSONText.optional($0.area)), ("sla_status", JSONText.string($0.status.rawValue)),
                ("horas_restantes", JSONText.number($0.hoursRemaining)),
            ])
        }
        let status = JSONText.object(SLAStatus.allCases.map { ($0.rawValue, String(byStatus[$0] ?? 0)) })
        let priority = JSONText.object(
            priorities.map { p in
                (p, JSONText.object(SLAStatus.allCases.map { ($0.rawValue, String(byPriority[p]?[$0] ?? 0)) }))
            })
        func att(_ a: (met: Int, stopped: Int)) -> String {
            JSONText.object([("met", String(a.met)), ("stopped", String(a.stopped))])
        }
        var fields = [
            ("report", JSONText.string(reportName)), ("title", JSONText.string(title)),
            ("area", JSONText.optional(area)),
            ("period_start", JSONText.string(periodStart.iso8601)), ("period_end", JSONText.string(periodEnd.iso8601)),
            ("total", String(total)), ("by_status", status), ("by_priority", priority),
            ("attention", "[" + items.joined(separator: ", ") + "]"),
            ("attainment", att(attained)), ("previous_attainment", att(previousAttained)),
        ]
        // Only a report with a `forecast` key has the section, so other reports' JSON is unchanged.
        if let within = forecastWithin {
            fields.append(("forecast_within", JSONText.string(DurationText.format(within))))
            fields.append(("forecast", "[" + forecast.map { $0.json() }.joined(separator: ", ") + "]"))
        }
        return JSONText.object(fields)
    }
}

extension ChannelPayload {
    /// A report for a chat or webhook channel: the compact summary, or for webhooks the whole
    /// report as JSON under `"type": "sla.report"`.
    public static func report(for kind: Channel.Kind, content: ReportContent, language: String, at: Instant) -> String {
        let text = content.chatText(language: language)
        switch kind {
        case .slack:
            return JSONText.object([("text", JSONText.string(slackEscape(text)))])
        case .teams:
            let card = JSONText.object([
                ("$schema", "\"http://adaptivecards.io/schemas/adaptive-card.json\""), ("type", "\"AdaptiveCard\""),
                ("version", "\"1.4\""),
                (
                    "body",
                    "["
                        + text.split(separator: "\n").enumerated().map { i, line in
                            JSONText.object(
                                [("type", "\"TextBlock\""), ("text", JSONText.string(String(line))), ("wrap", "true")]
                                    + (i == 0 ? [("weight", "\"Bolder\"")] : []))
                        }.joined(separator: ", ") + "]"
                ),
            ])
            return JSONText.object([
                ("type", "\"message\""),
                (
                    "attachments",
                    "["
                        + JSONText.object([
                            ("contentType", "\"application/vnd.microsoft.card.adaptive\""), ("content", card),
                        ]) + "]"
                ),
            ])
        case .googlechat:
            return JSONText.object([("text", JSONText.string(String(text.prefix(4000))))])
        case .discord:
            return JSONText.object([
                ("content", JSONText.string(text.count <= 2000 ? text : String(text.prefix(1999)) + "…")),
                ("allowed_mentions", "{\"parse\": []}"),
            ])
        case .webhook, .log, .email:
            return JSONText.object([
                ("type", "\"sla.report\""), ("timestamp", JSONText.string(at.iso8601)), ("data", content.json()),
            ])
        }
    }
}
