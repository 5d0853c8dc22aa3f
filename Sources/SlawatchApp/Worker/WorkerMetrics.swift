import SlawatchCore

/// Counters since the worker started, written as Prometheus text exposition.
struct WorkerMetrics {
    var cycles = 0
    var events = 0
    var notified = 0
    var deliveries: [String: [String: Int]] = [:]
    var lastCycleSeconds = 0.0
    var backlog = 0
    var evaluated = 0

    mutating func record(_ report: CycleReport, backlog: Int, seconds: Double) {
        cycles += 1
        events += report.events
        notified += report.notified
        for (channel, outcomes) in report.tally.byChannel {
            for (outcome, count) in outcomes { deliveries[channel, default: [:]][outcome, default: 0] += count }
        }
        // Superseded when the evaluation wrote a later event's delivery; those superseded when
        // claimed are in the tally.
        for (channel, count) in report.superseded {
            deliveries[channel, default: [:]]["superseded", default: 0] += count
        }
        lastCycleSeconds = seconds
        self.backlog = backlog
        evaluated = report.evaluated
    }

    var exposition: String {
        var lines = [
            "# HELP slawatch_cycles_total Worker cycles completed.", "# TYPE slawatch_cycles_total counter",
            "slawatch_cycles_total \(cycles)",
            "# HELP slawatch_events_total Threshold events recorded.", "# TYPE slawatch_events_total counter",
            "slawatch_events_total \(events)",
            "# HELP slawatch_events_notified_total Events that were notified.",
            "# TYPE slawatch_events_notified_total counter",
            "slawatch_events_notified_total \(notified)",
            "# HELP slawatch_deliveries_total Delivery attempts by channel and outcome (superseded: not sent, stale).",
            "# TYPE slawatch_deliveries_total counter",
        ]
        for channel in deliveries.keys.sorted() {
            for outcome in deliveries[channel]!.keys.sorted() {
                lines.append(
                    "slawatch_deliveries_total{channel=\(JSONText.string(channel)),outcome=\(JSONText.string(outcome))} \(deliveries[channel]![outcome]!)"
                )
            }
        }
        lines += [
            "# HELP slawatch_cycle_duration_seconds Duration of the last cycle.",
            "# TYPE slawatch_cycle_duration_seconds gauge",
            "slawatch_cycle_duration_seconds \(lastCycleSeconds)",
            "# HELP slawatch_delivery_backlog Deliveries pending or awaiting retry.",
            "# TYPE slawatch_delivery_backlog gauge",
            "slawatch_delivery_backlog \(backlog)",
            "# HELP slawatch_tickets_evaluated Tickets with a clock in the last evaluation.",
            "# TYPE slawatch_tickets_evaluated gauge",
            "slawatch_tickets_evaluated \(evaluated)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
