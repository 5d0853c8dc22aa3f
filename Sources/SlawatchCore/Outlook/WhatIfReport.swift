/// `slawatch whatif` for people: the figures of both rule sets side by side (current, proposed,
/// difference) in total and by policy, area and priority, then the changed tickets; as text for
/// a terminal, or as HTML whose attainment chart per area is table cells (as `ReportContent`'s:
/// no script, renders in mail clients and browsers).
public struct WhatIfReport: Sendable {
    public let since: Instant
    public let until: Instant
    public let now: Instant
    public let current: OutcomeSummary
    public let proposed: OutcomeSummary
    public let changed: [ChangedTicket]

    public init(_ comparison: WhatIfComparison) {
        since = comparison.since
        until = comparison.until
        now = comparison.now
        current = comparison.current
        proposed = comparison.proposed
        changed = comparison.sortedChanged
    }

    /// `{"since", "until", "now", "current": S, "proposed": S, "changed": [...]}`, a key per line
    /// and a changed ticket per line.
    public func json() -> String {
        let list = changed.map { "    " + $0.json() }
        let fields = [
            ("since", JSONText.string(since.iso8601)), ("until", JSONText.string(until.iso8601)),
            ("now", JSONText.string(now.iso8601)), ("current", current.json()), ("proposed", proposed.json()),
            ("changed", list.isEmpty ? "[]" : "[\n" + list.joined(separator: ",\n") + "\n  ]"),
        ]
        return "{\n" + fields.map { "  " + JSONText.string($0.0) + ": " + $0.1 }.joined(separator: ",\n") + "\n}\n"
    }

    static let noArea = "(sin área)"

    /// The rows of one side-by-side table: a label, and the current and proposed value of a figure.
    private struct Figure: Sendable {
        let label: String
        let value: @Sendable (OutcomeGroup) -> Double?
        let isPercent: Bool
    }

    private static let figures: [Figure] = [
        Figure(label: "tickets con reloj", value: { Double($0.tickets) }, isPercent: false),
        Figure(label: "vencidos", value: { Double($0.breached) }, isPercent: false),
        Figure(label: "cerrados", value: { Double($0.stopped) }, isPercent: false),
        Figure(label: "cumplidos", value: { Double($0.met) }, isPercent: false),
        Figure(label: "cumplimiento", value: { $0.attainment.map { $0 * 100 } }, isPercent: true),
    ]
    private static let eventFigures: [Figure] = EventKind.allCases.map { kind in
        Figure(label: kind.rawValue, value: { Double($0.events[kind] ?? 0) }, isPercent: false)
    }

    static func count(_ v: Double?) -> String { v.map { String(Int64($0)) } ?? "–" }
    static func percent(_ v: Double?) -> String {
        guard let v else { return "–" }
        return Notice.hours(v, false) + " %"
    }
    static func difference(_ a: Double?, _ b: Double?, percent: Bool) -> String {
        guard let a, let b else { return "–" }
        let d = b - a
        let magnitude = percent ? Notice.hours(abs(d), false) + " pp" : String(Int64(abs(d)))
        if percent ? (d * 10).rounded() == 0 : d == 0 { return percent ? "0 pp" : "0" }
        return (d > 0 ? "+" : "-") + magnitude
    }

    private static func cells(_ f: Figure, _ a: OutcomeGroup, _ b: OutcomeGroup) -> [String] {
        let x = f.value(a)
        let y = f.value(b)
        let show = f.isPercent ? percent : count
        return [show(x), show(y), difference(x, y, percent: f.isPercent)]
    }

    private static func eventTotal(_ g: OutcomeGroup) -> Double { Double(g.events.values.reduce(0, +)) }

    /// The groups of a section in code point order, each with both sides (an empty group where a
    /// rule set has none of it).
    private func section(_ a: [String: OutcomeGroup], _ b: [String: OutcomeGroup]) -> [(
        String, OutcomeGroup, OutcomeGroup
    )] {
        Set(a.keys).union(b.keys).sorted(by: OutcomeSummary.codePointOrder).map {
            ($0, a[$0] ?? OutcomeGroup(), b[$0] ?? OutcomeGroup())
        }
    }

    private var sections: [(title: String, groups: [(String, OutcomeGroup, OutcomeGroup)])] {
        [
            ("Por política", section(current.byPolicy, proposed.byPolicy)),
            ("Por área", section(current.byArea, proposed.byArea)),
            ("Por prioridad", section(current.byPriority, proposed.byPriority)),
        ]
    }

    private static func outcomeText(_ o: TicketOutcome?) -> String {
        guard let o else { return "sin reloj" }
        return "\(o.policy), \(o.breached ? "vencido" : "a tiempo"), vence \(o.dueAt?.iso8601 ?? "nunca")"
    }

    // MARK: - Text

    public func text() -> String {
        var out = "What-if: tickets creados en [\(since.iso8601), \(until.iso8601)), evaluados a \(now.iso8601)\n\n"
        out += "Total\n"
        let rows = (Self.figures + Self.eventFigures).map { [$0.label] + Self.cells($0, current.total, proposed.total) }
        out += Self.table(["", "ACTUAL", "PROPUESTA", "DIFERENCIA"], rows, right: [1, 2, 3])
        let grouped: [Figure] = [
            Self.figures[0], Self.figures[1], Self.figures[4],
            Figure(label: "eventos", value: Self.eventTotal, isPercent: false),
        ]
        for (title, groups) in sections {
            out += "\n\(title)\n"
            var header = [""]
            for f in grouped { header += [f.label.uppercased(), "PROPUESTA", "DIF"] }
            let body = groups.map { name, a, b in
                [name.isEmpty ? Self.noArea : name] + grouped.flatMap { Self.cells($0, a, b) }
            }
            out += Self.table(header, body, right: Set(1..<header.count))
        }
        out += "\nTickets cuyo resultado cambia (\(changed.count))\n"
        if changed.isEmpty {
            out += "  ninguno\n"
        } else {
            let body = changed.map { c in
                [c.code, c.area ?? Self.noArea, c.priority, Self.outcomeText(c.current), Self.outcomeText(c.proposed)]
            }
            out += Self.table(["TICKET", "ÁREA", "PRIORIDAD", "ACTUAL", "PROPUESTA"], body, right: [])
        }
        return out
    }

    /// Columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]], right: Set<Int>) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            let text = cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return right.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ")
            return "  " + String(text.reversed().drop { $0 == " " }.reversed()) + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    // MARK: - HTML

    /// The same tables, and a bar chart of attainment per area (current beside proposed) made of
    /// table cells with a width and a background color.
    public func html() -> String {
        func e(_ s: String) -> String { MailContent.escape(s) }
        let currentColor = "#757575"
        let proposedColor = "#1565c0"
        var out =
            "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>What-if</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;color:#222\">"
        out += "<h1 style=\"font-size:20px;margin:0 0 4px\">What-if</h1>"
        out +=
            "<p style=\"color:#666;font-size:12px;margin:0 0 16px\">Tickets creados en [\(since.iso8601), \(until.iso8601)), evaluados a \(now.iso8601)</p>"
        let th = "style=\"border-bottom:1px solid #ccc;padding:4px 8px\""
        let td = "style=\"padding:2px 8px\" align=\"right\""
        out +=
            "<h2 style=\"font-size:15px\">Total</h2><table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\">"
        out += "<tr><th \(th)></th><th \(th)>actual</th><th \(th)>propuesta</th><th \(th)>diferencia</th></tr>"
        for f in Self.figures + Self.eventFigures {
            out +=
                "<tr><th align=\"left\" style=\"padding:2px 8px\">\(e(f.label))</th>"
                + Self.cells(f, current.total, proposed.total).map { "<td \(td)>\(e($0))</td>" }.joined() + "</tr>"
        }
        out += "</table>"
        let grouped: [Figure] = [
            Self.figures[0], Self.figures[1], Self.figures[4],
            Figure(label: "eventos", value: Self.eventTotal, isPercent: false),
        ]
        for (title, groups) in sections {
            out +=
                "<h2 style=\"font-size:15px\">\(e(title))</h2><table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\"><tr><th \(th)></th>"
            out += grouped.map { "<th colspan=\"3\" \(th)>\(e($0.label))</th>" }.joined() + "</tr>"
            out +=
                "<tr><th></th>"
                + String(
                    repeating: "<td \(td)>actual</td><td \(td)>propuesta</td><td \(td)>dif.</td>", count: grouped.count)
                + "</tr>"
            for (name, a, b) in groups {
                out +=
                    "<tr><th align=\"left\" style=\"padding:2px 8px\">\(e(name.isEmpty ? Self.noArea : name))</th>"
                    + grouped.flatMap { Self.cells($0, a, b) }.map { "<td \(td)>\(e($0))</td>" }.joined() + "</tr>"
            }
            out += "</table>"
        }
        // Attainment per area: two bars per area, 240 px for 100 %.
        out += "<h2 style=\"font-size:15px\">Cumplimiento por área</h2>"
        out +=
            "<p style=\"font-size:12px;margin:0 0 6px\"><span style=\"background:\(currentColor);color:#fff;padding:0 6px\">actual</span> <span style=\"background:\(proposedColor);color:#fff;padding:0 6px\">propuesta</span></p>"
        out += "<table role=\"presentation\" cellpadding=\"2\" cellspacing=\"0\" style=\"font-size:13px\">"
        for (name, a, b) in section(current.byArea, proposed.byArea) {
            out +=
                "<tr><td rowspan=\"2\" style=\"width:140px;vertical-align:middle\">\(e(name.isEmpty ? Self.noArea : name))</td>"
            for (index, (group, color)) in [(a, currentColor), (b, proposedColor)].enumerated() {
                if index == 1 { out += "<tr>" }
                let value = group.attainment
                let width = max(2, Int(((value ?? 0) * 240).rounded()))
                out +=
                    "<td><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\"><tr>"
                    + "<td width=\"\(width)\" height=\"12\" bgcolor=\"\(color)\" style=\"background:\(color);width:\(width)px;height:12px;font-size:0;line-height:0\">&nbsp;</td>"
                    + "<td style=\"padding-left:6px\">\(e(Self.percent(value.map { $0 * 100 })))</td></tr></table></td></tr>"
            }
        }
        out += "</table>"
        out += "<h2 style=\"font-size:15px\">Tickets cuyo resultado cambia (\(changed.count))</h2>"
        if changed.isEmpty {
            out += "<p style=\"font-size:14px\">Ninguno.</p>"
        } else {
            out +=
                "<table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;font-size:13px\"><tr><th \(th)>ticket</th><th \(th)>área</th><th \(th)>prioridad</th><th \(th)>actual</th><th \(th)>propuesta</th></tr>"
            for c in changed {
                let cells = [
                    c.code, c.area ?? Self.noArea, c.priority, Self.outcomeText(c.current),
                    Self.outcomeText(c.proposed),
                ]
                out += "<tr>" + cells.map { "<td style=\"padding:2px 8px\">\(e($0))</td>" }.joined() + "</tr>"
            }
            out += "</table>"
        }
        return out + "<p style=\"color:#888;font-size:11px\">slawatch whatif</p></body></html>\n"
    }
}
