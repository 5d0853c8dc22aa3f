import Foundation
import SlawatchCore
import SlawatchStore

/// Runs scheduled reports: each scheduled instant produces exactly one report run, whatever the
/// number of workers or restarts, because the run is claimed by inserting its (report, instant)
/// row; the report's deliveries are written in the same transaction.
///
/// A report starts counting at the first cycle that sees it (nothing is back-filled from before
/// that). A run missed while no worker was running is sent once on start when it is less than one
/// period late (the time to the next scheduled instant), and recorded as skipped otherwise.
struct ReportRunner {
    let connection: StoreConnection
    let rules: RuleSet
    let log: Logger

    private var store: ReportStore { ReportStore(connection: connection) }

    struct Run {
        let report: String
        let scheduledAt: Instant
        var deliveries = 0
        var skipped = false
    }

    /// Whether some report has a scheduled instant at or before `now` that has no run yet (or was
    /// never seen by a worker): such a cycle must evaluate every ticket.
    func anyDue(now: Instant) throws(StoreError) -> Bool {
        for report in rules.reports {
            let schedule = ReportSchedule(cron: report.schedule, timeZoneIdentifier: report.timeZoneIdentifier)
            let marks = try store.marks(of: report.name)
            guard let armed = marks.armed else { return true }
            let from = max(armed, marks.lastScheduled ?? armed)
            if let next = schedule.next(after: from), next <= now { return true }
        }
        return false
    }

    func runDue(tickets: [EvaluatedTicket], now: Instant) throws -> [Run] {
        var runs: [Run] = []
        for report in rules.reports {
            let schedule = ReportSchedule(cron: report.schedule, timeZoneIdentifier: report.timeZoneIdentifier)
            let armed = try store.arm(report.name, now: now)
            let last = try store.lastScheduledRun(of: report.name)
            let from = max(armed, last ?? armed)
            guard let due = ReportPeriod.due(schedule, after: from, now: now) else { continue }
            let latest = due.period.end
            if let first = due.missed.first {
                log.warning(
                    "report runs missed while no worker ran",
                    ["report": report.name, "count": String(due.missed.count), "first": first.iso8601])
                try recordSkipped(report.name, due.missed, note: "missed while no worker ran", now: now)
            }
            if due.isLate {
                try recordSkipped(report.name, [latest], note: "more than one period late", now: now)
                runs.append(Run(report: report.name, scheduledAt: latest, skipped: true))
                continue
            }
            let previous = due.period.start
            let beforePrevious = due.period.previousStart
            let count = try connection.transaction {
                guard try store.claimRun(report.name, scheduledAt: latest, now: now) else { return -1 }
                return try enqueue(
                    report, tickets: tickets, scheduledAt: latest, periodStart: previous, previousStart: beforePrevious,
                    now: now)
            }
            if count >= 0 { runs.append(Run(report: report.name, scheduledAt: latest, deliveries: count)) }
        }
        return runs
    }

    private func recordSkipped(_ report: String, _ instants: [Instant], note: String, now: Instant) throws(StoreError) {
        try store.recordSkipped(report, instants, note: note, now: now)
    }

    /// The report's scopes: one for the whole help desk, or one per area. `now`: when the tickets
    /// were evaluated, from which a `forecast` horizon counts (`periodEnd` when not given).
    static func contents(
        _ report: Report, tickets: [EvaluatedTicket], periodStart: Instant, periodEnd: Instant, previousStart: Instant,
        now: Instant? = nil
    ) -> [(content: ReportContent, managerEmail: String?)] {
        let matching = report.filter.map { f in tickets.filter { f.matches($0) } } ?? tickets
        guard report.perArea else {
            return [
                (
                    ReportContent.build(
                        report: report, matching: matching, scope: tickets, area: nil, periodStart: periodStart,
                        periodEnd: periodEnd, previousStart: previousStart, now: now), nil
                )
            ]
        }
        let areas = Set(tickets.compactMap(\.ticket.area)).sorted()
        return areas.map { area in
            let scope = tickets.filter { $0.ticket.area == area }
            let manager = scope.lazy.compactMap(\.ticket.areaManagerEmail).first { !$0.isEmpty }
            let content = ReportContent.build(
                report: report, matching: matching.filter { $0.ticket.area == area }, scope: scope, area: area,
                periodStart: periodStart, periodEnd: periodEnd, previousStart: previousStart, now: now)
            return (content, manager)
        }
    }

    /// Writes one delivery per (scope, channel, recipient) with the report rendered into it.
    func enqueue(
        _ report: Report, tickets: [EvaluatedTicket], scheduledAt: Instant, periodStart: Instant,
        previousStart: Instant, now: Instant, manual: Bool = false
    ) throws -> Int {
        var count = 0
        let encoder = JSONEncoder()
        for (content, manager) in Self.contents(
            report, tickets: tickets, periodStart: periodStart, periodEnd: scheduledAt, previousStart: previousStart,
            now: now)
        {
            for name in report.channels {
                guard let channel = rules.channels[name] else { continue }
                var recipients: [String] = ["-"]
                if channel.kind == .email {
                    recipients = channel.to.compactMap { entry in
                        if entry == "{{area_manager_email}}" { return manager }
                        if entry == "{{requester_email}}" { return nil }
                        return entry
                    }
                    if recipients.isEmpty {
                        log.warning(
                            "report scope has no recipient",
                            ["report": report.name, "area": content.area ?? "-", "channel": name])
                        continue
                    }
                }
                let language = channel.language
                let payload = ReportPayload(
                    subject: content.subject(language: language), text: content.text(language: language),
                    html: content.html(language: language),
                    body: ChannelPayload.report(
                        for: channel.kind, content: content, language: language, at: scheduledAt),
                    thread: "slawatch.report.\(report.name).\(content.area ?? "all")")
                let json = String(decoding: try encoder.encode(payload), as: UTF8.self)
                for recipient in Set(recipients).sorted() {
                    let key =
                        "\(manual ? "manual" : "report") \(report.name) \(scheduledAt.iso8601) \(content.area ?? "") \(name) \(recipient)"
                    count += try store.queueDelivery(
                        report: report.name, scheduledAt: scheduledAt, channel: name, recipient: recipient,
                        groupKey: key, payloadJSON: json,
                        now: now)
                }
            }
        }
        return count
    }
}
