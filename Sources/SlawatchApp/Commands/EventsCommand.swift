import Foundation
import PostgresClient
import SlawatchCore

/// `slawatch events` and `slawatch deliveries`: what the worker recorded and what became of it.
enum EventsCommand {
    static func run(_ context: CommandContext) throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        var since: Instant?
        if let text = context.args["since"] {
            guard let instant = Instant(iso8601: text) else { throw .usage("--since expects an ISO 8601 instant, found '\(text)'") }
            since = instant
        }
        let connection = try context.connect()
        let rows = try query(connection, """
            SELECT id, ticket_code, kind, level, target_us, crossed_at, detected_at, notified
            FROM slawatch.events WHERE $1::timestamptz IS NULL OR detected_at >= $1::timestamptz
            ORDER BY detected_at, id
            """, [PostgresParameter(since?.iso8601)]) { r in
            [
                ("id", JSONText.string(try r.string(0))), ("label", JSONText.string(try r.string(1))), ("kind", JSONText.string(try r.string(2))),
                ("level", JSONText.number(try r.double(3))), ("sla_horas", JSONText.number(Double(try r.int(4)) / 3_600_000_000)),
                ("crossed_at", JSONText.optional(try r.optionalTimestamp(5).map { Instant(microseconds: $0).iso8601 })),
                ("detected_at", JSONText.string(Instant(microseconds: try r.timestamp(6)).iso8601)), ("notified", try r.bool(7) ? "true" : "false"),
            ]
        }
        context.output(render(rows, format: format, columns: ["detected_at", "label", "kind", "level", "crossed_at", "notified"]))
    }

    static func query(_ connection: PostgresConnection, _ sql: String, _ parameters: [PostgresParameter], _ row: (PostgresRow) throws -> [(String, String)]) throws(CommandError) -> [[(String, String)]] {
        do {
            return try connection.query(sql, parameters).rows.map(row)
        } catch let error as PostgresError where error.sqlState == "42P01" {
            throw .runtime("slawatch's schema is missing: run slawatch migrate first")
        } catch {
            throw .runtime("\(error)")
        }
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
        let connection = try context.connect()
        if let retry = context.args["retry"] {
            guard let id = Int64(retry) else { throw .usage("--retry expects a delivery id, found '\(retry)'") }
            let updated: Int
            do {
                updated = try connection.query(
                    """
                    UPDATE slawatch.deliveries SET status = 'pending', due_at = $2::timestamptz, attempts = 0, claimed_by = NULL, claimed_until = NULL
                    WHERE id = $1 AND status = 'dead'
                    """, [PostgresParameter(Int(id)), .text(context.now.iso8601)]).affectedRows
            } catch {
                throw .runtime("\(error)")
            }
            guard updated == 1 else { throw .usage("delivery \(id) is not dead (or does not exist); only a dead delivery can be retried") }
            context.output("delivery \(id) queued again; the next `slawatch run` cycle sends it\n")
            return
        }
        let status = context.args["status"]
        if let status, !["pending", "sent", "failed", "dead"].contains(status) {
            throw .usage("--status expects pending, sent, failed or dead, found '\(status)'")
        }
        let rows = try EventsCommand.query(connection, """
            SELECT d.id, e.ticket_code, e.kind, d.channel, d.recipient, d.status, d.attempts, d.due_at, d.sent_at, d.last_error,
                   c.disabled_at, d.errors::text
            FROM slawatch.deliveries d JOIN slawatch.events e ON e.id = d.event_id
            LEFT JOIN slawatch.channel_state c ON c.channel = d.channel AND c.disabled_at IS NOT NULL
            WHERE $1::text IS NULL OR d.status = $1::text
            ORDER BY d.id
            """, [PostgresParameter(status)]) { r in
            [
                ("id", String(try r.int(0))), ("label", JSONText.string(try r.string(1))), ("kind", JSONText.string(try r.string(2))),
                ("channel", JSONText.string(try r.string(3) + (r.isNull(10) ? "" : " (disabled)"))),
                ("recipient", JSONText.string(try r.string(4))), ("status", JSONText.string(try r.string(5))), ("attempts", String(try r.int(6))),
                ("due_at", JSONText.string(Instant(microseconds: try r.timestamp(7)).iso8601)),
                ("sent_at", JSONText.optional(try r.optionalTimestamp(8).map { Instant(microseconds: $0).iso8601 })),
                ("last_error", JSONText.optional(try r.optionalString(9))), ("errors", try r.string(11)),
            ]
        }
        context.output(EventsCommand.render(rows, format: format, columns: ["id", "label", "kind", "channel", "recipient", "status", "attempts", "last_error"]))
    }
}
