import Foundation
import PostgresClient
import SlawatchCore

/// Runs scheduled reports: each scheduled instant produces exactly one report run, whatever the
/// number of workers or restarts, because the run is claimed by inserting its (report, instant)
/// row; the report's deliveries are written in the same transaction.
///
/// A report starts counting at the first cycle that sees it (nothing is back-filled from before
/// that). A run missed while no worker was running is sent once on start when it is less than one
/// period late (the time to the next scheduled instant), and recorded as skipped otherwise.
struct ReportRunner {
    let connection: PostgresConnection
    let rules: RuleSet
    let log: Logger

    struct Run {
        let report: String
        let scheduledAt: Instant
        var deliveries = 0
        var skipped = false
    }

    /// Whether some report has a scheduled instant at or before `now` that has no run yet (or was
    /// never seen by a worker): such a cycle must evaluate every ticket.
    func anyDue(now: Instant) throws -> Bool {
        for report in rules.reports {
            let schedule = ReportSchedule(cron: report.schedule, timeZoneIdentifier: report.timeZoneIdentifier)
            let row = try connection.query(
                """
                SELECT (SELECT armed_at FROM slawatch.report_state WHERE report = $1),
                       (SELECT max(scheduled_at) FROM slawatch.report_runs WHERE report = $1 AND status <> 'manual')
                """, [.text(report.name)]).rows[0]
            guard let armed = try row.optionalTimestamp(0) else { return true }
            let from = Instant(microseconds: max(armed, try row.optionalTimestamp(1) ?? armed))
            if let next = schedule.next(after: from), next <= now { return true }
        }
        return false
    }

    func runDue(tickets: [EvaluatedTicket], now: Instant) throws -> [Run] {
        var runs: [Run] = []
        for report in rules.reports {
            let schedule = ReportSchedule(cron: report.schedule, timeZoneIdentifier: report.timeZoneIdentifier)
            let armed = try connection.query(
                """
                INSERT INTO slawatch.report_state (report, armed_at) VALUES ($1, $2::timestamptz)
                ON CONFLICT (report) DO UPDATE SET armed_at = slawatch.report_state.armed_at RETURNING armed_at
                """, [.text(report.name), .text(now.iso8601)]).rows[0].timestamp(0)
            let last = try connection.query(
                "SELECT max(scheduled_at) FROM slawatch.report_runs WHERE report = $1 AND status <> 'manual'", [.text(report.name)]
            ).rows[0].optionalTimestamp(0)
            let from = Instant(microseconds: max(armed, last ?? armed))
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
                let claimed = try connection.query(
                    """
                    INSERT INTO slawatch.report_runs (report, scheduled_at, status, recorded_at) VALUES ($1, $2::timestamptz, 'sent', $3::timestamptz)
                    ON CONFLICT (report, scheduled_at) DO UPDATE SET status = 'sent', recorded_at = EXCLUDED.recorded_at
                        WHERE slawatch.report_runs.status = 'manual'
                    RETURNING report
                    """, [.text(report.name), .text(latest.iso8601), .text(now.iso8601)]).rowCount
                guard claimed == 1 else { return -1 }
                return try enqueue(report, tickets: tickets, scheduledAt: latest, periodStart: previous, previousStart: beforePrevious, now: now)
            }
            if count >= 0 { runs.append(Run(report: report.name, scheduledAt: latest, deliveries: count)) }
        }
        return runs
    }

    private func recordSkipped(_ report: String, _ instants: [Instant], note: String, now: Instant) throws {
        try connection.query(
            """
            INSERT INTO slawatch.report_runs (report, scheduled_at, status, recorded_at, note)
            SELECT $1, u.at::timestamptz, 'skipped', $3::timestamptz, $4 FROM unnest($2::text[]) AS u(at)
            ON CONFLICT (report, scheduled_at) DO NOTHING
            """, [.text(report), .text(SourceRepository.textArray(instants.map(\.iso8601))), .text(now.iso8601), .text(note)])
    }

    /// The report's scopes: one for the whole help desk, or one per area.
    static func contents(_ report: Report, tickets: [EvaluatedTicket], periodStart: Instant, periodEnd: Instant, previousStart: Instant) -> [(content: ReportContent, managerEmail: String?)] {
        let matching = report.filter.map { f in tickets.filter { f.matches($0) } } ?? tickets
        guard report.perArea else {
            return [(ReportContent.build(report: report, matching: matching, scope: tickets, area: nil, periodStart: periodStart, periodEnd: periodEnd, previousStart: previousStart), nil)]
        }
        let areas = Set(tickets.compactMap(\.ticket.area)).sorted()
        return areas.map { area in
            let scope = tickets.filter { $0.ticket.area == area }
            let manager = scope.lazy.compactMap(\.ticket.areaManagerEmail).first { !$0.isEmpty }
            let content = ReportContent.build(
                report: report, matching: matching.filter { $0.ticket.area == area }, scope: scope, area: area,
                periodStart: periodStart, periodEnd: periodEnd, previousStart: previousStart)
            return (content, manager)
        }
    }

    /// Writes one delivery per (scope, channel, recipient) with the report rendered into it.
    func enqueue(_ report: Report, tickets: [EvaluatedTicket], scheduledAt: Instant, periodStart: Instant, previousStart: Instant, now: Instant, manual: Bool = false) throws -> Int {
        var count = 0
        let encoder = JSONEncoder()
        for (content, manager) in Self.contents(report, tickets: tickets, periodStart: periodStart, periodEnd: scheduledAt, previousStart: previousStart) {
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
                        log.warning("report scope has no recipient", ["report": report.name, "area": content.area ?? "-", "channel": name])
                        continue
                    }
                }
                let language = channel.language
                let payload = ReportPayload(
                    subject: content.subject(language: language), text: content.text(language: language), html: content.html(language: language),
                    body: ChannelPayload.report(for: channel.kind, content: content, language: language, at: scheduledAt),
                    thread: "slawatch.report.\(report.name).\(content.area ?? "all")")
                let json = String(decoding: try encoder.encode(payload), as: UTF8.self)
                for recipient in Set(recipients).sorted() {
                    let key = "\(manual ? "manual" : "report") \(report.name) \(scheduledAt.iso8601) \(content.area ?? "") \(name) \(recipient)"
                    let inserted = try connection.query(
                        """
                        INSERT INTO slawatch.deliveries (event_id, route, channel, recipient, group_key, status, created_at, due_at, report, report_scheduled_at, payload)
                        VALUES (NULL, -1, $1, $2, $3, 'pending', $4::timestamptz, $4::timestamptz, $5, $6::timestamptz, $7::jsonb)
                        ON CONFLICT DO NOTHING
                        """,
                        [.text(name), .text(recipient), .text(key),
                         .text(now.iso8601), .text(report.name), .text(scheduledAt.iso8601), .text(json)]).affectedRows
                    count += inserted
                }
            }
        }
        return count
    }
}
