import SlawatchCore
import SlawatchStore

/// What a worker's full passes and incremental cycles share: the rules with their calendars'
/// timelines, whether anything is written, and where findings are told.
struct PassContext {
    let rules: RuleSet
    let evaluator: SLAEvaluator
    /// A dry run writes nothing and prints the events it would emit.
    let dryRun: Bool
    let output: @Sendable (String) -> Void
    let log: Logger

    /// Whether some route sends reminders, so that passes need to know which tickets are active.
    var remindersWanted: Bool { rules.routes.contains { $0.repeatMicros != nil } }

    func printDryRun(_ outcome: EventStore.Outcome) {
        for (notice, planned) in outcome.notified {
            let deliveries =
                "["
                + planned.map {
                    JSONText.object([
                        ("route", String($0.route)), ("channel", JSONText.string($0.channel)),
                        ("recipient", JSONText.string($0.recipient)),
                    ])
                }.joined(separator: ", ") + "]"
            output(
                JSONText.object([
                    ("dry_run", "true"), ("event", ChannelPayload.noticeJSON(notice)), ("deliveries", deliveries),
                ]) + "\n")
        }
    }

    /// Each ticket without a clock is reported once, not every cycle.
    func reportUnmatched(_ connection: StoreConnection, _ unmatched: [UnmatchedTicket], now: Instant) throws {
        guard !unmatched.isEmpty else { return }
        if dryRun {
            for u in unmatched {
                log.warning("ticket has no SLA clock", ["ticket": u.ticket.code, "reason": u.reason])
            }
            return
        }
        for (code, reason) in try WorkerStore(connection: connection).recordUnmatched(unmatched, now: now) {
            log.warning("ticket has no SLA clock", ["ticket": code, "reason": reason])
        }
    }

    func queueReminders(_ store: EventStore, activeTickets: [String], now: Instant) throws {
        let reminders = try store.queueReminders(activeTickets: activeTickets, now: now)
        if reminders > 0 { log.info("reminders queued", ["count": String(reminders)]) }
    }
}
