import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch events` and `slawatch deliveries`: what the worker recorded and what became of it.
enum EventsCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        var since: Instant?
        if let text = context.args["since"] {
            guard let instant = Instant(iso8601: text) else {
                throw .usage("--since expects an ISO 8601 instant, found '\(text)'")
            }
            since = instant
        }
        let events = try await context.database().command { try EventLog(connection: $0).events(since: since) }
        let rows = events.map { e in
            [
                ("id", JSONText.string(e.id)), ("label", JSONText.string(e.ticketCode)),
                ("kind", JSONText.string(e.kind)),
                ("level", JSONText.number(e.level)),
                ("sla_horas", JSONText.number(Double(e.targetMicros) / 3_600_000_000)),
                ("crossed_at", JSONText.optional(e.crossedAt?.iso8601)),
                ("detected_at", JSONText.string(e.detectedAt.iso8601)), ("notified", e.notified ? "true" : "false"),
            ]
        }
        context.output(
            render(rows, format: format, columns: ["detected_at", "label", "kind", "level", "crossed_at", "notified"]))
    }

    static func render(_ rows: [[(String, String)]], format: String, columns: [String]) -> String {
        if format == "json" {
            return rows.isEmpty
                ? "[]\n" : "[\n" + rows.map { "  " + JSONText.object($0) }.joined(separator: ",\n") + "\n]\n"
        }
        let body = rows.map { row in
            columns.map { column -> String in
                let value = row.first { $0.0 == column }?.1 ?? ""
                if value == "null" { return "-" }
                return value.hasPrefix("\"") ? String(value.dropFirst().dropLast()) : value
            }
        }
        return TextTable.render(header: columns.map { $0.uppercased() }, rows: body) + "\(rows.count) rows\n"
    }
}
