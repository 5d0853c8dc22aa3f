import Foundation
import PostgresClient
import SlawatchCore

/// The rules as the database function needs them: calendars as working intervals with running
/// sums, and policies in order with their filters as JSON.
///
/// Intervals cover from a year before the oldest source ticket (or before now) to five years after
/// now; `migrate` and every worker cycle that finds the coverage short write them again.
enum CompiledRules {
    static let yearMicros: Int64 = 366 * 86_400_000_000

    static func store(_ rules: RuleSet, _ connection: StoreConnection, now: Instant) throws(StoreError) {
        try connection.run("compiling the rules into the slawatch schema") { try compile(rules, $0, now: now) }
    }

    private static func compile(_ rules: RuleSet, _ connection: PostgresConnection, now: Instant) throws {
        // Unchanged rules and function with enough calendar ahead: nothing to do, and the stored
        // clocks stay valid (a cron-style `run --once` keeps its incremental cycles, and starting
        // a worker runs no DDL under the help-desk API's feet).
        let functionSQL = DashboardFunction.helpersSQL + DashboardFunction.sql(views: rules.source)
        let fingerprint = Self.fingerprint(rules, functionSQL: functionSQL)
        let stored = try storedFingerprint(connection)
        let coverage = try connection.query("SELECT min(covered_to_us) FROM slawatch.calendars").rows[0].optionalInt(0)
        let installed = try connection.query(
            "SELECT to_regprocedure('slawatch.fn_dashboard_tickets_full_filtrado(text,text)') IS NOT NULL"
        ).rows[0].bool(0)
        if stored == fingerprint, installed,
            (coverage.map { Int64($0) } ?? Int64.max) > (now + yearMicros).microseconds
        {
            return
        }
        try connection.execute(DashboardFunction.helpersSQL)
        try connection.execute(DashboardFunction.sql(views: rules.source))
        var oldest = now
        if let row = try? connection.query("SELECT min(created_at) FROM \(rules.source.tickets.quoted)").rows.first,
            let t = try? row.optionalTimestamp(0)
        {
            oldest = min(oldest, Instant(microseconds: t))
        }
        let from = oldest + (-yearMicros)
        let to = now + 5 * yearMicros
        try connection.execute(
            """
            DELETE FROM slawatch.clocks; DELETE FROM slawatch.worker_state;
            DELETE FROM slawatch.policies; DELETE FROM slawatch.calendar_intervals; DELETE FROM slawatch.calendars;
            """)
        for name in rules.calendars.keys.sorted() {
            let calendar = rules.calendars[name]!
            let always: Bool
            if case .always = calendar { always = true } else { always = false }
            try connection.query(
                "INSERT INTO slawatch.calendars(name, always, definition, covered_from_us, covered_to_us) VALUES ($1, $2, $3::jsonb, $4, $5)",
                [
                    .string(name), .bool(always), .string(definitionJSON(calendar)), .int8(from.microseconds),
                    .int8(to.microseconds),
                ])
            guard !always else { continue }
            let timeline = WorkingTimeline(calendar: calendar)
            var starts: [Int64?] = []
            var ends: [Int64?] = []
            var before: [Int64?] = []
            var sum: Int64 = 0
            for interval in timeline.intervals(from: from, to: to) {
                starts.append(interval.start.microseconds)
                ends.append(interval.end.microseconds)
                before.append(sum)
                sum += interval.end - interval.start
            }
            try connection.query(
                """
                INSERT INTO slawatch.calendar_intervals(calendar, starts_us, ends_us, working_before_us)
                SELECT $1, s, e, b FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS u(s, e, b)
                """,
                [.string(name), .int8Array(starts), .int8Array(ends), .int8Array(before)])
        }
        try connection.query(
            "INSERT INTO slawatch.worker_state (key, value_us) VALUES ('rules', $1::bigint) ON CONFLICT (key) DO UPDATE SET value_us = EXCLUDED.value_us",
            [.int8(fingerprint)])
        for (position, policy) in rules.policies.enumerated() {
            let targets =
                "{"
                + policy.targets.keys.sorted().map { "\(jsonString($0)): \(policy.targets[$0]!)" }.joined(
                    separator: ", ") + "}"
            try connection.query(
                """
                INSERT INTO slawatch.policies(position, name, calendar, when_filter, targets, pause_statuses, stop_statuses, warn_at)
                VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::text[], $7::text[], $8::float8[])
                """,
                [
                    .int8(Int64(position)), .string(policy.name), .string(policy.calendarName),
                    .string(policy.when.map(filterJSON)), .string(targets),
                    .textArray(policy.clock.pauseStatuses.sorted()),
                    .textArray(policy.clock.stopStatuses.sorted()),
                    .float8Array(policy.clock.warnAt),
                ])
        }
    }

    /// The fingerprint of the rules `migrate` last compiled into this database (``fingerprint(_:functionSQL:)``
    /// of them, kept in `slawatch.worker_state`); nil when none were.
    static func storedFingerprint(_ connection: PostgresConnection) throws -> Int64? {
        try connection.query("SELECT value_us FROM slawatch.worker_state WHERE key = 'rules'").rows.first
            .map { Int64(try $0.int(0)) }
    }

    /// A 64-bit hash of everything the compiled tables and the installed function hold, to tell
    /// whether they changed.
    static func fingerprint(_ rules: RuleSet, functionSQL: String) -> Int64 {
        var text = functionSQL + "|" + rules.source.tickets.description + "|" + rules.source.statusChanges.description
        for name in rules.calendars.keys.sorted() { text += "|" + name + definitionJSON(rules.calendars[name]!) }
        for policy in rules.policies {
            text += "|" + policy.name + policy.calendarName + (policy.when.map(filterJSON) ?? "")
            text += policy.targets.keys.sorted().map { "\($0)=\(policy.targets[$0]!)" }.joined(separator: ",")
            text +=
                policy.clock.pauseStatuses.sorted().joined(separator: ",") + ";"
                + policy.clock.stopStatuses.sorted().joined(separator: ",")
            text +=
                policy.clock.warnAt.map { "\($0)" }.joined(separator: ",") + ";"
                + policy.clock.escalateAfter.map { "\($0)" }.joined(separator: ",")
        }
        let hash = fnv1a(text)
        return Int64(bitPattern: hash & 0x7FFF_FFFF_FFFF_FFFF)
    }

    /// FNV-1a, stable across processes (Swift's own hashing is seeded per process).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func definitionJSON(_ calendar: WorkCalendar) -> String {
        switch calendar {
        case .always: return "{\"type\": \"always\"}"
        case .businessHours(let h):
            let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            let week = days.enumerated().map {
                "\"\($1)\": [" + h.week[$0].map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            }
            let holidays = h.holidays.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return
                "{\"timezone\": \(jsonString(h.timeZoneIdentifier)), \"week\": {\(week.joined(separator: ", "))}, \"holidays\": [\(holidays)]}"
        }
    }

    /// The filter in the rules' JSON grammar (README, 'Rules'), as the SQL evaluator reads it.
    static func filterJSON(_ filter: Filter) -> String {
        switch filter {
        case .group(let op, let items):
            return "{\"op\": \"\(op.rawValue)\", \"operand\": [" + items.map(filterJSON).joined(separator: ", ") + "]}"
        case .condition(let c):
            return
                "{\"column\": \(jsonString(c.column)), \"op\": \"\(c.op.rawValue)\", \"operand\": \(operandJSON(c.operand))}"
        }
    }

    static func operandJSON(_ operand: FilterOperand) -> String {
        switch operand {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return JSONText.number(n)
        case .text(let s): return jsonString(s)
        case .list(let items): return "[" + items.map(operandJSON).joined(separator: ", ") + "]"
        }
    }

    static func jsonString(_ s: String) -> String { JSONText.string(s) }
}
