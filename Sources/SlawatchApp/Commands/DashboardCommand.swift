import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch dashboard`: the dashboard's rows (README, 'The dashboard'), with the ticket list
/// API's filter, search, sort and paging options.
enum DashboardCommand {
    /// Dashboard field → the column it shows, for `--sort`.
    static let fieldColumns: [String: String] = [
        "ticket_uuid": "ticket_id", "label": "code", "categoria": "category", "correo": "requester_email",
        "estado_code": "status", "prioridad_nom": "priority", "area_asignada": "area", "actualizado_en": "updated_at",
        "sla_horas": "sla_horas", "horas_restantes": "horas_restantes", "vencido": "vencido",
    ]

    static func run(_ context: CommandContext) async throws(CommandError) {
        let args = context.args
        let format = try context.format(allowed: ["json", "table"], default: "table")
        let role = (args["role"] ?? "ADMIN").uppercased()
        guard ["ADMIN", "MESA", "AREA"].contains(role) else {
            throw .usage("--role expects ADMIN, MESA or AREA, found '\(args["role"] ?? "")'")
        }
        let area = args["area"]
        if role == "AREA" && area == nil {
            throw .usage("--role AREA needs --area NAME: an area sees only its own tickets")
        }
        var filter: Filter?
        if let text = args["filter"] {
            do { filter = try RulesLoader.filter(json: text, origin: "--filter") } catch {
                throw .usage(error.description)
            }
        }
        let top = try args.int("top")
        let offset = try args.int("offset") ?? 0
        if let top, top < 0 || top > 100 { throw .usage("--top expects a number from 0 to 100, found \(top)") }
        if offset < 0 { throw .usage("--offset expects a number of 0 or more, found \(offset)") }
        var sortColumn: String?
        if let sort = args["sort"] {
            let column = fieldColumns[sort] ?? sort
            guard QualifiedName.isIdentifier(column) else {
                throw .usage("--sort expects a column name, found '\(sort)'")
            }
            sortColumn = column
        }

        let rules = try context.loadRules()
        var columns = filter?.columns ?? []
        if let sortColumn { columns.insert(sortColumn) }
        let search = args["search"]?.lowercased() ?? ""
        let spool = try DashboardSpool(kind: format == "json" ? .json : .table, sortColumn: sortColumn)
        try await context.database().command { connection in
            // Streamed, and only what orders a shown row kept in memory (the rows themselves go to the
            // spool's file): a help desk of millions of tickets is never in memory whole.
            let source = try SourceRepository(connection: connection, rules: rules, alsoColumns: columns)
            if let filter { try ViewColumnTypes.check(filter, view: source.selectTypes) }
            let stream = try SourceStream(settings: connection.settings, source: source, withClocks: false)
            let evaluator = SLAEvaluator(rules: rules)
            while let (ticket, history, _) = try stream.next() {
                // By code points, as the function's `s.area = p_area`: an area written in another
                // Unicode normalization is another area.
                if role == "AREA", !(ticket.area?.utf8.elementsEqual(area!.utf8) ?? false) { continue }
                guard case .clock(let e) = evaluator.evaluate(ticket, changes: history, now: context.now) else {
                    continue
                }
                if let filter, !filter.matches(e) { continue }
                if !search.isEmpty
                    && ![e.ticket.code, e.ticket.title, e.ticket.category ?? ""].contains(where: {
                        $0.lowercased().contains(search)
                    })
                {
                    continue
                }
                try spool.add(e)
            }
        }
        let order = try spool.order(descending: args.has("desc"), sortName: args["sort"] ?? "")
        let page = order.dropFirst(offset).prefix(top ?? Int.max)
        // Written a thousand rows at a time: the whole text of a million rows is not needed at once.
        if format == "json" {
            if page.isEmpty {
                context.output("[]\n")
                return
            }
            var start = page.startIndex
            while start < page.endIndex {
                let end = min(start + 1_000, page.endIndex)
                var lines: [String] = []
                for index in page[start..<end] { lines.append(try spool.jsonLine(index)) }
                context.output(
                    (start == page.startIndex ? "[\n" : ",\n") + lines.joined(separator: ",\n")
                        + (end == page.endIndex ? "\n]\n" : ""))
                start = end
            }
        } else {
            // Two reads of the page: the columns' widths first, then the lines.
            var widths = TextTable.widths(of: tableHeader)
            for index in page { TextTable.widen(&widths, for: try spool.cells(index)) }
            context.output(TextTable.line(tableHeader, widths: widths, rightAligned: tableRightAligned))
            var start = page.startIndex
            while start < page.endIndex {
                let end = min(start + 1_000, page.endIndex)
                var lines = ""
                for index in page[start..<end] {
                    lines += TextTable.line(try spool.cells(index), widths: widths, rightAligned: tableRightAligned)
                }
                context.output(lines)
                start = end
            }
            context.output("\(page.count) tickets\n")
        }
    }

    /// Nulls last; otherwise by type.
    static func compare(_ a: FieldValue, _ b: FieldValue) -> Int {
        switch (a, b) {
        case (.null, .null): return 0
        case (.null, _): return 1
        case (_, .null): return -1
        case (.number(let x), .number(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.instant(let x), .instant(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.text(let x), .text(let y)):
            return x == y ? 0 : (x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1)
        default: return 0
        }
    }

    static func fields(_ e: EvaluatedTicket) -> [(String, String)] { fields(DashboardEntry(e)) }

    /// A dashboard element's fields, in order, as JSON values (the HTTP API's dashboard writes these too).
    static func fields(_ e: DashboardEntry) -> [(String, String)] {
        [
            ("ticket_uuid", JSONText.string(e.ticketID)), ("label", JSONText.string(e.code)),
            ("categoria", JSONText.optional(e.category)), ("correo", JSONText.optional(e.requesterEmail)),
            ("estado_code", JSONText.string(e.status)), ("prioridad_nom", JSONText.string(e.priority)),
            ("area_asignada", JSONText.optional(e.area)), ("actualizado_en", JSONText.string(e.updatedAt.iso8601)),
            ("sla_horas", JSONText.number(e.slaHours)), ("horas_restantes", JSONText.number(e.hoursRemaining)),
            ("vencido", e.isOverdue ? "true" : "false"),
        ]
    }

    /// `JSONText.object(fields(e))` appended as UTF-8, written in place (the CLI's spool and the HTTP API's
    /// dashboard write a million of these); DashboardTests keep the two equal.
    static func appendJSON(_ e: DashboardEntry, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        JSONText.append(key: "ticket_uuid", to: &out)
        JSONText.append(string: e.ticketID, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "label", to: &out)
        JSONText.append(string: e.code, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "categoria", to: &out)
        JSONText.append(optional: e.category, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "correo", to: &out)
        JSONText.append(optional: e.requesterEmail, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "estado_code", to: &out)
        JSONText.append(string: e.status, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "prioridad_nom", to: &out)
        JSONText.append(string: e.priority, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "area_asignada", to: &out)
        JSONText.append(optional: e.area, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "actualizado_en", to: &out)
        out.append(UInt8(ascii: "\""))
        e.updatedAt.appendISO8601(to: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "sla_horas", to: &out)
        JSONText.append(number: e.slaHours, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "horas_restantes", to: &out)
        JSONText.append(number: e.hoursRemaining, to: &out)
        out.append(contentsOf: ", ".utf8)
        JSONText.append(key: "vencido", to: &out)
        out.append(contentsOf: (e.isOverdue ? "true" : "false").utf8)
        out.append(UInt8(ascii: "}"))
    }

    static let tableHeader = [
        "TICKET", "ESTADO", "PRIORIDAD", "AREA", "SLA H", "RESTANTES", "VENCIDO", "SLA", "ACTUALIZADO", "TITULO",
    ]
    static let tableRightAligned: Set<Int> = [4, 5]

    /// A row's cells in the table format, under `tableHeader`.
    static func cells(_ e: EvaluatedTicket) -> [String] {
        let t = e.ticket
        return [
            t.code, t.status, t.priority, t.area ?? "-", hours(e.reading.slaHours), hours(e.reading.hoursRemaining),
            e.reading.isOverdue ? "sí" : "no", e.reading.status.rawValue, t.updatedAt.iso8601,
            t.title.count > 48 ? String(t.title.prefix(47)) + "…" : t.title,
        ]
    }

    static func hours(_ h: Double) -> String {
        let rounded = (h * 100).rounded() / 100
        return String(format: "%.2f", rounded)
    }
}
