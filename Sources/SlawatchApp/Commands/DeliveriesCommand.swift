import Foundation
import SlawatchCore
import SlawatchStore

enum DeliveriesCommand {
    static func run(_ context: CommandContext) async throws(CommandError) {
        let format = try context.format(allowed: ["text", "json"], default: "text")
        let database = try await context.database()
        if let retry = context.args["retry"] {
            guard let id = Int64(retry) else { throw .usage("--retry expects a delivery id, found '\(retry)'") }
            let retried = try await database.command {
                try EventLog(connection: $0).retry(deliveryID: id, now: context.now)
            }
            guard retried else {
                throw .usage("delivery \(id) is not dead (or does not exist); only a dead delivery can be retried")
            }
            context.output("delivery \(id) queued again; the next `slawatch run` cycle sends it\n")
            return
        }
        let status = context.args["status"]
        if let status, !["pending", "sent", "failed", "dead", "superseded"].contains(status) {
            throw .usage("--status expects pending, sent, failed, dead or superseded, found '\(status)'")
        }
        let deliveries = try await database.command { try EventLog(connection: $0).deliveries(status: status) }
        let rows = deliveries.map { d in
            [
                ("id", String(d.id)), ("label", JSONText.string(d.ticketCode)), ("kind", JSONText.string(d.kind)),
                ("channel", JSONText.string(d.channel + (d.channelDisabled ? " (disabled)" : ""))),
                ("recipient", JSONText.string(d.recipient)), ("status", JSONText.string(d.status)),
                ("attempts", String(d.attempts)),
                ("due_at", JSONText.string(d.dueAt.iso8601)),
                ("sent_at", JSONText.optional(d.sentAt?.iso8601)),
                ("last_error", JSONText.optional(d.lastError)), ("errors", d.errorsJSON),
                ("message", JSONText.optional(d.messageID)),
                ("superseded_by", d.supersededBy.map { String($0) } ?? "null"),
            ]
        }
        context.output(
            EventsCommand.render(
                rows, format: format,
                columns: ["id", "label", "kind", "channel", "recipient", "status", "attempts", "message", "last_error"])
        )
    }
}
