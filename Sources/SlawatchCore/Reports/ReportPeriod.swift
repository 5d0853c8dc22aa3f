/// The period a scheduled report run covers: from the schedule's previous instant to the run's
/// own, beside the period before it for comparison (README, Reports).
///
/// Its length is the shorter of the gaps to the neighbouring scheduled instants, so that Friday's
/// weekday digest is not sent on Monday morning; across a daylight-saving change the gaps are real
/// time, 23 or 25 hours for a daily report.
public struct ReportPeriod: Sendable, Hashable {
    /// The scheduled instant of the run; the period ends there.
    public let end: Instant
    /// The schedule's instant before `end` (`end` less `length` when there is none).
    public let start: Instant
    /// The schedule's instant before `start` (`start` less `length` when there is none).
    public let previousStart: Instant
    /// The shorter of the gaps from `end` to the scheduled instants before and after it; a day
    /// when the schedule has neither.
    public let length: Int64

    /// The period of the run scheduled at `end`.
    public init(endingAt end: Instant, schedule: ReportSchedule) {
        let before = schedule.previous(atOrBefore: end + (-1))
        let after = schedule.next(after: end)
        let length = [before.map { end - $0 }, after.map { $0 - end }].compactMap { $0 }.min() ?? 86_400_000_000
        self.end = end
        self.length = length
        start = before ?? (end + (-length))
        previousStart = schedule.previous(atOrBefore: start + (-1)) ?? (start + (-length))
    }

    /// Whether a run of this period made at `now` would be one period late or more: such a run
    /// is recorded as skipped rather than sent.
    public func isLate(at now: Instant) -> Bool { now - end >= length }

    /// The run a report owes at `now`: its scheduled instants after `from` (when it was armed, or
    /// its last run) up to `now`, of which the latest is the one to run.
    public struct Due: Sendable, Hashable {
        /// Instants before the latest, missed while no worker ran: each at least one period late,
        /// recorded as skipped.
        public let missed: [Instant]
        /// The period of the latest instant at or before `now`.
        public let period: ReportPeriod
        /// The latest instant is one period late or more: it is recorded as skipped, not sent.
        public let isLate: Bool
    }

    /// The run `schedule` owes at `now` when its last run (or the instant it was armed) is `from`;
    /// nil when no instant after `from` has come yet. At most `limit` instants are looked at, so
    /// that a worker down for years does not enumerate every minute it missed: then the latest is
    /// the last one looked at.
    public static func due(_ schedule: ReportSchedule, after from: Instant, now: Instant, limit: Int = 10_000) -> Due? {
        var instants: [Instant] = []
        var cursor = from
        while let next = schedule.next(after: cursor), next <= now, instants.count < limit {
            instants.append(next)
            cursor = next
        }
        guard let latest = instants.last else { return nil }
        let period = ReportPeriod(endingAt: latest, schedule: schedule)
        return Due(missed: Array(instants.dropLast()), period: period, isLate: period.isLate(at: now))
    }
}
