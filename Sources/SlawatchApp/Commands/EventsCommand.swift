import Foundation
import SlawatchCore
import SlawatchStore

/// `slawatch events` and `slawatch deliveries`: what the worker recorded and what became of it.
enum EventsCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        var since: Instant?
        if let text = context.args["since"] {
            guard let instant = Instant(iso8601: text) else { throw .usage("--since expects an ISO 8601 instant, found '\(text)'") }
            since = instant
        }
        let events = try await context.database().command { try EventLog(connection: $0).events(since: since) }
        let rows = events.map { e in
            [
                ("id", JSONText.string(e.id)), ("label", JSONText.string(e.ticketCode)), ("kind", JSONText.string(e.kind)),
                ("level", JSONText.number(e.level)), ("sla_horas", JSONText.number(Double(e.targetMicros) / 3_600_000_000)),
                ("crossed_at", JSONText.optional(e.crossedAt?.iso8601)),
                ("detected_at", JSONText.string(e.detectedAt.iso8601)), ("notified", e.notified ? "true" : "false"),
            ]
        }
        context.output(render(rows, format: format, columns: ["detected_at", "label", "kind", "level", "crossed_at", "notified"]))
    }

    static func render(_ rows: [[(String, String)]], format: String, columns: [String]) -> String {
        if format == "json" {
            return rows.isEmpty ? "[]\n" : "[\n" + rows.map { "  " + JSONText.object($0) }.joined(separator: ",\n") + "\n]\n"
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

enum DeliveriesCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        let database = try await context.database()
        if let retry = context.args["retry"] {
            guard let id = Int64(retry) else { throw .usage("--retry expects a delivery id, found '\(retry)'") }
            let retried = try await database.command { try EventLog(connection: $0).retry(deliveryID: id, now: context.now) }
            guard retried else { throw .usage("delivery \(id) is not dead (or does not exist); only a dead delivery can be retried") }
            context.output("delivery \(id) queued again; the next `slawatch run` cycle sends it\n")
            return
        }
        let status = context.args["status"]
        if let status, !["pending", "sent", "failed", "dead"].contains(status) {
            throw .usage("--status expects pending, sent, failed or dead, found '\(status)'")
        }
        let deliveries = try await database.command { try EventLog(connection: $0).deliveries(status: status) }
        let rows = deliveries.map { d in
            [
                ("id", String(d.id)), ("label", JSONText.string(d.ticketCode)), ("kind", JSONText.string(d.kind)),
                ("channel", JSONText.string(d.channel + (d.channelDisabled ? " (disabled)" : ""))),
                ("recipient", JSONText.string(d.recipient)), ("status", JSONText.string(d.status)), ("attempts", String(d.attempts)),
                ("due_at", JSONText.string(d.dueAt.iso8601)),
                ("sent_at", JSONText.optional(d.sentAt?.iso8601)),
                ("last_error", JSONText.optional(d.lastError)), ("errors", d.errorsJSON),
            ]
        }
        context.output(EventsCommand.render(rows, format: format, columns: ["id", "label", "kind", "channel", "recipient", "status", "attempts", "last_error"]))
    }
}
