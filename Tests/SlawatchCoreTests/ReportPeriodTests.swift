import SlawatchCore
import Testing

// A scheduled report's run and period (README, Reports): the latest scheduled instant a worker
// finds due, the earlier ones missed while no worker ran, skipping a run one period late or more,
// and the period's start and the previous period's start, across daylight-saving changes.

private let hour: Int64 = 3_600_000_000

private func at(_ text: String) throws -> Instant {
    try #require(Instant(iso8601: text), "bad test instant \(text)")
}

private func schedule(_ cron: String, _ zone: String) throws -> ReportSchedule {
    ReportSchedule(cron: try CronSchedule(cron), timeZoneIdentifier: zone)
}

@Suite struct ReportPeriodTests {
    /// Mon–Fri at 08:00 in Bogotá (UTC−5): 13:00Z. 2026-03-20 is a Friday.
    static func weekdays() throws -> ReportSchedule { try schedule("0 8 * * 1-5", "America/Bogota") }

    @Test func aDailyPeriodIsTheDayBefore() throws {
        let period = ReportPeriod(endingAt: try at("2026-03-24T08:00:00Z"), schedule: try schedule("0 8 * * *", "UTC"))
        #expect(period.length == 24 * hour)
        #expect(period.start == (try at("2026-03-23T08:00:00Z")))
        #expect(period.previousStart == (try at("2026-03-22T08:00:00Z")))
        #expect(period.end == (try at("2026-03-24T08:00:00Z")))
    }

    @Test func aPeriodIsTheShorterGapToItsNeighbours() throws {
        // Friday's weekday digest covers a day, as does Monday's; Monday's starts on Friday.
        let friday = ReportPeriod(endingAt: try at("2026-03-20T13:00:00Z"), schedule: try Self.weekdays())
        #expect(friday.length == 24 * hour)
        #expect(friday.start == (try at("2026-03-19T13:00:00Z")))
        #expect(friday.previousStart == (try at("2026-03-18T13:00:00Z")))
        let monday = ReportPeriod(endingAt: try at("2026-03-23T13:00:00Z"), schedule: try Self.weekdays())
        #expect(monday.length == 24 * hour)
        #expect(monday.start == (try at("2026-03-20T13:00:00Z")))
        #expect(monday.previousStart == (try at("2026-03-19T13:00:00Z")))
    }

    @Test func aScheduleWithoutNeighboursHasADayLongPeriod() throws {
        // February 30 never comes.
        let end = try at("2026-03-24T08:00:00Z")
        let never = try schedule("0 0 30 2 *", "UTC")
        let period = ReportPeriod(endingAt: end, schedule: never)
        #expect(period.length == 24 * hour)
        #expect(period.start == end + (-24 * hour))
        #expect(period.previousStart == end + (-48 * hour))
        #expect(ReportPeriod.due(never, after: try at("2026-01-01T00:00:00Z"), now: end) == nil)
    }

    @Test func nothingIsDueBeforeTheNextInstant() throws {
        let daily = try schedule("0 8 * * *", "UTC")
        #expect(
            ReportPeriod.due(daily, after: try at("2026-03-24T08:00:00Z"), now: try at("2026-03-24T09:00:00Z")) == nil)
        #expect(
            ReportPeriod.due(daily, after: try at("2026-03-24T07:00:00Z"), now: try at("2026-03-24T07:59:59Z")) == nil)
        let due = try #require(
            ReportPeriod.due(daily, after: try at("2026-03-24T07:00:00Z"), now: try at("2026-03-24T08:00:00Z")))
        #expect(due.missed.isEmpty)
        #expect(due.period.end == (try at("2026-03-24T08:00:00Z")))
        #expect(!due.isLate)
    }

    @Test func theLatestInstantRunsAndTheEarlierOnesWereMissed() throws {
        // Armed on Thursday before the digest, back on Monday an hour after it.
        let due = try #require(
            ReportPeriod.due(
                try Self.weekdays(), after: try at("2026-03-19T12:00:00Z"), now: try at("2026-03-23T14:00:00Z")))
        #expect(due.missed == [try at("2026-03-19T13:00:00Z"), try at("2026-03-20T13:00:00Z")])
        #expect(due.period.end == (try at("2026-03-23T13:00:00Z")))
        #expect(due.period.start == (try at("2026-03-20T13:00:00Z")))
        #expect(!due.isLate)
    }

    @Test func aRunOnePeriodLateOrMoreIsSkipped() throws {
        let weekdays = try Self.weekdays()
        let from = try at("2026-03-20T12:00:00Z")
        // Friday's digest, found on Saturday: late from exactly one period (a day) after it.
        let justInTime = try #require(
            ReportPeriod.due(weekdays, after: from, now: try at("2026-03-21T13:00:00Z") + (-1)))
        #expect(justInTime.period.end == (try at("2026-03-20T13:00:00Z")))
        #expect(!justInTime.isLate)
        #expect(try #require(ReportPeriod.due(weekdays, after: from, now: try at("2026-03-21T13:00:00Z"))).isLate)
        // Not sent on Monday morning.
        let monday = try #require(ReportPeriod.due(weekdays, after: from, now: try at("2026-03-23T12:00:00Z")))
        #expect(monday.period.end == (try at("2026-03-20T13:00:00Z")))
        #expect(monday.missed.isEmpty)
        #expect(monday.isLate)
    }

    @Test func aBoundedLookStopsAtItsLimit() throws {
        let due = try #require(
            ReportPeriod.due(
                try schedule("0 8 * * *", "UTC"), after: try at("2026-03-01T00:00:00Z"),
                now: try at("2026-03-24T09:00:00Z"),
                limit: 3))
        #expect(due.missed == [try at("2026-03-01T08:00:00Z"), try at("2026-03-02T08:00:00Z")])
        #expect(due.period.end == (try at("2026-03-03T08:00:00Z")))
        #expect(due.isLate)
    }

    @Test func aDailyReportAcrossSpringForwardCoversTwentyThreeHours() throws {
        // 02:30 does not exist in Madrid on 2026-03-29: it runs at 03:30 CEST, 01:30Z as the day before.
        let daily = try schedule("30 2 * * *", "Europe/Madrid")
        let end = try at("2026-03-29T01:30:00Z")
        let period = ReportPeriod(endingAt: end, schedule: daily)
        // 24 h back to Saturday's run, 23 h on to Monday's (00:30Z): the period is the shorter.
        #expect(period.length == 23 * hour)
        #expect(period.start == (try at("2026-03-28T01:30:00Z")))
        #expect(period.previousStart == (try at("2026-03-27T01:30:00Z")))
        #expect(!period.isLate(at: end + 23 * hour + (-1)))
        #expect(period.isLate(at: end + 23 * hour))
        let due = try #require(
            ReportPeriod.due(daily, after: try at("2026-03-28T02:00:00Z"), now: try at("2026-03-29T12:00:00Z")))
        #expect(due.period == period)
        #expect(due.missed.isEmpty && !due.isLate)
        // 09:00 on the day of the change is 23 h after the day before's.
        let morning = ReportPeriod(
            endingAt: try at("2026-03-29T07:00:00Z"), schedule: try schedule("0 9 * * *", "Europe/Madrid"))
        #expect(morning.length == 23 * hour)
        #expect(morning.start == (try at("2026-03-28T08:00:00Z")))
    }

    @Test func aDailyReportAcrossFallBackKeepsADayLongPeriod() throws {
        // 02:30 happens twice in Madrid on 2026-10-25: it runs at the first, 00:30Z.
        let daily = try schedule("30 2 * * *", "Europe/Madrid")
        let sunday = ReportPeriod(endingAt: try at("2026-10-25T00:30:00Z"), schedule: daily)
        #expect(sunday.length == 24 * hour)
        #expect(sunday.start == (try at("2026-10-24T00:30:00Z")))
        // Monday's run is 25 h after Sunday's and 24 h before Tuesday's; its period starts on Sunday.
        let monday = ReportPeriod(endingAt: try at("2026-10-26T01:30:00Z"), schedule: daily)
        #expect(monday.length == 24 * hour)
        #expect(monday.start == (try at("2026-10-25T00:30:00Z")))
        #expect(monday.previousStart == (try at("2026-10-24T00:30:00Z")))
    }
}
