import Foundation
import SlawatchCore
import Testing

// When a scheduled report runs: a 5-field cron evaluated in the report's IANA time zone, across
// daylight-saving changes (the README's Reports).

private func at(_ text: String) throws -> Instant {
    try #require(Instant(iso8601: text), "bad test instant \(text)")
}

private func schedule(_ cron: String, _ zone: String) throws -> ReportSchedule {
    ReportSchedule(cron: try CronSchedule(cron), timeZoneIdentifier: zone)
}

/// Every scheduled instant in (`from`, `to`], by repeated `next(after:)`.
private func enumerate(_ s: ReportSchedule, from: Instant, to: Instant, limit: Int = 100_000) -> [Instant] {
    var result: [Instant] = []
    var cursor = from
    while let next = s.next(after: cursor), next <= to, result.count < limit {
        result.append(next)
        cursor = next
    }
    return result
}

/// The zone's UTC offset at a whole second, from Foundation.
private func offset(_ zone: TimeZone, _ second: Int64) -> Int64 {
    Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second))))
}

/// The local calendar day an instant falls on in a zone.
private func localDate(_ instant: Instant, _ zone: TimeZone) -> CivilDate {
    let s = instant.seconds
    let local = s + offset(zone, s)
    return CivilDate(daysSinceEpoch: local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
}

/// An independent reference for the instants a cron names in a zone, built from the zone's offset
/// segments (found by scanning UTC in quarter hours and bisecting to the second):
/// a local wall-clock time stands for its first occurrence; a time that a spring-forward change
/// skips stands for that time read with the offset from before the change.
private struct ReferenceZone {
    let zone: TimeZone
    /// Ascending; segment i holds from its `start` (UTC seconds) until segment i+1's.
    let segments: [(start: Int64, offset: Int64)]

    init(_ identifier: String, from: Int64, to: Int64) throws {
        let zone = try #require(TimeZone(identifier: identifier), "unknown zone \(identifier)")
        self.zone = zone
        var segments = [(start: from, offset: offset(zone, from))]
        var t = from
        while t < to {
            let n = t + 900
            let current = segments[segments.count - 1].offset
            if offset(zone, n) != current {
                var lo = t
                var hi = n
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if offset(zone, mid) == current { lo = mid } else { hi = mid }
                }
                segments.append((hi, offset(zone, hi)))
            }
            t = n
        }
        self.segments = segments
    }

    /// UTC seconds for local wall-clock seconds `l`.
    func instant(local l: Int64) -> Int64 {
        for (i, segment) in segments.enumerated() {
            let localStart = segment.start + segment.offset
            let localEnd = i + 1 < segments.count ? segments[i + 1].start + segment.offset : Int64.max
            if l < localStart {
                // Not in any earlier segment and before this one: skipped by a spring-forward change.
                return l - (i > 0 ? segments[i - 1].offset : segment.offset)
            }
            if l < localEnd { return l - segment.offset }
        }
        return l - segments[segments.count - 1].offset
    }

    /// The cron's instants in (`from`, `to`] (UTC seconds), ascending and distinct.
    func instants(_ cron: CronSchedule, from: Int64, to: Int64) -> [Instant] {
        var found = Set<Int64>()
        let firstDay = (from + offset(zone, from)) / 86_400 - 2
        let lastDay = (to + offset(zone, to)) / 86_400 + 2
        for day in firstDay...lastDay {
            let date = CivilDate(daysSinceEpoch: day)
            for hour in cron.hours {
                for minute in cron.minutes where cron.matches(date: date, hour: hour, minute: minute) {
                    let t = instant(local: day * 86_400 + Int64(hour * 3600 + minute * 60))
                    if t > from && t <= to { found.insert(t) }
                }
            }
        }
        return found.sorted().map { Instant(seconds: $0) }
    }
}

/// Zones with daylight saving in 2026 (both hemispheres, changes at midnight, a 30-minute change,
/// a negative change), and some without.
private let dstZones = [
    "Europe/Madrid", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "America/Havana",
    "Africa/Casablanca", "Australia/Sydney", "Europe/London",
]
private let fixedZones = ["America/Bogota", "Asia/Kolkata", "Asia/Kathmandu", "UTC"]

@Suite("ReportSchedule")
struct ReportScheduleTests {
    // MARK: - Plain schedules

    @Test("0 8 * * 1-5 in Bogotá runs at the next weekday's 13:00Z")
    func weekdayMorningInBogota() throws {
        let s = try schedule("0 8 * * 1-5", "America/Bogota")
        // Tuesday 12:59Z is 07:59 in Bogotá: the same morning.
        #expect(s.next(after: try at("2026-03-24T12:59:00Z")) == (try at("2026-03-24T13:00:00Z")))
        // Exactly at a run: strictly after it, the next day's.
        #expect(s.next(after: try at("2026-03-24T13:00:00Z")) == (try at("2026-03-25T13:00:00Z")))
        // Friday after the run, Saturday and Sunday: Monday 2026-03-30.
        #expect(s.next(after: try at("2026-03-27T13:00:00Z")) == (try at("2026-03-30T13:00:00Z")))
        #expect(s.next(after: try at("2026-03-28T10:00:00Z")) == (try at("2026-03-30T13:00:00Z")))
        #expect(s.next(after: try at("2026-03-29T23:59:59Z")) == (try at("2026-03-30T13:00:00Z")))
        // Late Friday evening in Bogotá is already Saturday in UTC: still Monday.
        #expect(s.next(after: try at("2026-03-28T03:00:00Z")) == (try at("2026-03-30T13:00:00Z")))
        // Sunday 22:00 in Bogotá is Monday 03:00Z: Monday's run that morning.
        #expect(s.next(after: try at("2026-03-30T03:00:00Z")) == (try at("2026-03-30T13:00:00Z")))
        // A week of runs: Monday to Friday only.
        let week = enumerate(s, from: try at("2026-03-29T00:00:00Z"), to: try at("2026-04-05T00:00:00Z"))
        #expect(
            week.map(\.iso8601) == [
                "2026-03-30T13:00:00Z", "2026-03-31T13:00:00Z", "2026-04-01T13:00:00Z", "2026-04-02T13:00:00Z",
                "2026-04-03T13:00:00Z",
            ])
    }

    @Test("names of months and days")
    func names() throws {
        let s = try schedule("0 9 * JAN MON-FRI", "UTC")
        // 2027-01-01 is a Friday.
        #expect(s.next(after: try at("2026-12-31T12:00:00Z")) == (try at("2027-01-01T09:00:00Z")))
        // After the last January weekday (Friday the 29th), the next is Monday 2028-01-03.
        #expect(s.next(after: try at("2027-01-29T09:00:00Z")) == (try at("2028-01-03T09:00:00Z")))
        let january = enumerate(s, from: try at("2027-01-01T00:00:00Z"), to: try at("2027-02-01T00:00:00Z"))
        #expect(january.count == 21)  // the weekdays of January 2027
        let lower = try schedule("30 7 * jun-aug sat,sun", "Europe/Madrid")
        // Saturday 2026-06-06 07:30 in Madrid (UTC+2) = 05:30Z.
        #expect(lower.next(after: try at("2026-06-01T00:00:00Z")) == (try at("2026-06-06T05:30:00Z")))
        #expect(lower.next(after: try at("2026-06-06T05:30:00Z")) == (try at("2026-06-07T05:30:00Z")))
        #expect(lower.next(after: try at("2026-08-31T00:00:00Z")) == (try at("2027-06-05T05:30:00Z")))
    }

    @Test("steps: */15 in a zone with a 45-minute offset")
    func steps() throws {
        let s = try schedule("*/15 * * * *", "Asia/Kathmandu")
        // 10:07Z is 15:52 in Kathmandu (UTC+5:45): the next quarter is 16:00 local = 10:15Z.
        #expect(s.next(after: try at("2026-06-01T10:07:00Z")) == (try at("2026-06-01T10:15:00Z")))
        #expect(s.next(after: try at("2026-06-01T10:15:00Z")) == (try at("2026-06-01T10:30:00Z")))
        let hour = enumerate(s, from: try at("2026-06-01T10:00:00Z"), to: try at("2026-06-01T11:00:00Z"))
        #expect(
            hour.map(\.iso8601) == [
                "2026-06-01T10:15:00Z", "2026-06-01T10:30:00Z", "2026-06-01T10:45:00Z", "2026-06-01T11:00:00Z",
            ])
        let every2h = try schedule("0 8-18/2 * * *", "America/Bogota")
        let day = enumerate(every2h, from: try at("2026-06-01T05:00:00Z"), to: try at("2026-06-02T05:00:00Z"))
        #expect(
            day.map(\.iso8601) == [
                "2026-06-01T13:00:00Z", "2026-06-01T15:00:00Z", "2026-06-01T17:00:00Z",
                "2026-06-01T19:00:00Z", "2026-06-01T21:00:00Z", "2026-06-01T23:00:00Z",
            ])
    }

    @Test("lists of hours and days")
    func lists() throws {
        let s = try schedule("0 9,13,17 * * 1,3,5", "Europe/Madrid")
        // Monday 2026-06-01, Madrid is UTC+2.
        let runs = enumerate(s, from: try at("2026-06-01T08:00:00Z"), to: try at("2026-06-04T00:00:00Z"))
        #expect(
            runs.map(\.iso8601) == [
                "2026-06-01T11:00:00Z", "2026-06-01T15:00:00Z", "2026-06-03T07:00:00Z",
                "2026-06-03T11:00:00Z", "2026-06-03T15:00:00Z",
            ])
    }

    @Test("a day that exists only in leap years, and a day-of-month missing from short months")
    func rareDays() throws {
        #expect(
            try schedule("0 12 29 FEB *", "UTC").next(after: try at("2026-01-01T00:00:00Z"))
                == (try at("2028-02-29T12:00:00Z")))
        let s = try schedule("0 6 31 * *", "America/Bogota")
        let runs = enumerate(s, from: try at("2026-01-01T00:00:00Z"), to: try at("2027-01-01T00:00:00Z"))
        #expect(
            runs.map { String($0.iso8601.prefix(10)) } == [
                "2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31", "2026-12-31",
            ])
    }

    // MARK: - Day of month OR day of week (Vixie cron)

    @Test("day of month and day of week both restricted: a day matching either runs")
    func vixieEither() throws {
        let s = try schedule("0 0 13 * 5", "UTC")
        // After Friday the 13th of March: the next Friday, not the next 13th.
        #expect(s.next(after: try at("2026-03-13T00:00:00Z")) == (try at("2026-03-20T00:00:00Z")))
        // After Friday 2026-04-10: Monday the 13th.
        #expect(s.next(after: try at("2026-04-10T00:00:00Z")) == (try at("2026-04-13T00:00:00Z")))
        #expect(s.previous(atOrBefore: try at("2026-04-16T00:00:00Z")) == (try at("2026-04-13T00:00:00Z")))
        let runs = enumerate(s, from: try at("2025-12-31T12:00:00Z"), to: try at("2026-12-31T12:00:00Z"))
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = try #require(TimeZone(identifier: "UTC"))
        var expected: [Instant] = []
        var day = try at("2026-01-01T00:00:00Z")
        while day < (try at("2027-01-01T00:00:00Z")) {
            let date = Date(timeIntervalSince1970: Double(day.seconds))
            if utc.component(.day, from: date) == 13 || utc.component(.weekday, from: date) == 6 {
                expected.append(day)
            }
            day = day + 86_400_000_000
        }
        #expect(runs == expected)
        // 52 Fridays and 12 thirteenths, three of them Fridays (February, March, November).
        #expect(runs.count == 61)

        // Only one of the two restricted: that one alone decides.
        #expect(
            enumerate(
                try schedule("0 0 13 * *", "UTC"), from: try at("2025-12-31T12:00:00Z"),
                to: try at("2026-12-31T12:00:00Z")
            ).count == 12)
        #expect(
            enumerate(
                try schedule("0 0 * * FRI", "UTC"), from: try at("2025-12-31T12:00:00Z"),
                to: try at("2026-12-31T12:00:00Z")
            ).count == 52)
    }

    // MARK: - Daylight saving

    @Test("Madrid: 02:30 runs once on the spring-forward day, at 03:30 local")
    func madridSpringForward() throws {
        let s = try schedule("30 2 * * *", "Europe/Madrid")
        // 2026-03-29 02:00 CET → 03:00 CEST at 01:00Z. The local day runs from 23:00Z to 22:00Z.
        let day = enumerate(s, from: try at("2026-03-28T23:00:00Z"), to: try at("2026-03-29T22:00:00Z"))
        #expect(day.map(\.iso8601) == ["2026-03-29T01:30:00Z"])
        #expect(s.next(after: try at("2026-03-28T02:00:00Z")) == (try at("2026-03-29T01:30:00Z")))
        #expect(s.next(after: try at("2026-03-29T01:30:00Z")) == (try at("2026-03-30T00:30:00Z")))
        #expect(s.previous(atOrBefore: try at("2026-03-29T12:00:00Z")) == (try at("2026-03-29T01:30:00Z")))
    }

    @Test("Madrid: 02:30 runs once on the fall-back day, at its first occurrence")
    func madridFallBack() throws {
        let s = try schedule("30 2 * * *", "Europe/Madrid")
        // 2026-10-25 03:00 CEST → 02:00 CET at 01:00Z: 02:30 happens at 00:30Z and again at 01:30Z.
        let day = enumerate(s, from: try at("2026-10-24T22:00:00Z"), to: try at("2026-10-25T23:00:00Z"))
        #expect(day.map(\.iso8601) == ["2026-10-25T00:30:00Z"])
        #expect(s.next(after: try at("2026-10-25T00:30:00Z")) == (try at("2026-10-26T01:30:00Z")))
        // Between the two 02:30s, and just after the second: nothing until the next day.
        #expect(s.next(after: try at("2026-10-25T01:00:00Z")) == (try at("2026-10-26T01:30:00Z")))
        #expect(s.previous(atOrBefore: try at("2026-10-25T01:30:00Z")) == (try at("2026-10-25T00:30:00Z")))
    }

    @Test("New York: 02:30 on the spring-forward day, 01:30 on the fall-back day, each once")
    func newYork() throws {
        // 2026-03-08 02:00 EST → 03:00 EDT at 07:00Z: 02:30 runs at 03:30 EDT = 07:30Z.
        let s = try schedule("30 2 * * *", "America/New_York")
        #expect(
            enumerate(s, from: try at("2026-03-08T05:00:00Z"), to: try at("2026-03-09T04:00:00Z")).map(\.iso8601) == [
                "2026-03-08T07:30:00Z"
            ])
        #expect(s.next(after: try at("2026-03-07T07:30:00Z")) == (try at("2026-03-08T07:30:00Z")))
        #expect(s.next(after: try at("2026-03-08T07:30:00Z")) == (try at("2026-03-09T06:30:00Z")))
        // 2026-11-01 02:00 EDT → 01:00 EST at 06:00Z: 02:30 happens once (EST), 01:30 twice.
        #expect(
            enumerate(s, from: try at("2026-11-01T04:00:00Z"), to: try at("2026-11-02T05:00:00Z")).map(\.iso8601) == [
                "2026-11-01T07:30:00Z"
            ])
        let early = try schedule("30 1 * * *", "America/New_York")
        #expect(
            enumerate(early, from: try at("2026-11-01T04:00:00Z"), to: try at("2026-11-02T05:00:00Z")).map(\.iso8601)
                == ["2026-11-01T05:30:00Z"])
        #expect(early.next(after: try at("2026-11-01T05:30:00Z")) == (try at("2026-11-02T06:30:00Z")))
        #expect(
            enumerate(early, from: try at("2026-03-08T05:00:00Z"), to: try at("2026-03-09T04:00:00Z")).map(\.iso8601)
                == ["2026-03-08T06:30:00Z"])
    }

    @Test("midnight changes: Santiago and Havana run a 00:00 report once on both change days")
    func midnightChanges() throws {
        // Santiago 2026-09-06 00:00 -04 → 01:00 -03 at 04:00Z; 2026-04-05 00:00 -03 → 23:00 -04 (the 4th) at 03:00Z.
        let santiago = try schedule("0 0 * * *", "America/Santiago")
        #expect(santiago.next(after: try at("2026-09-05T05:00:00Z")) == (try at("2026-09-06T04:00:00Z")))
        #expect(santiago.next(after: try at("2026-09-06T04:00:00Z")) == (try at("2026-09-07T03:00:00Z")))
        #expect(santiago.next(after: try at("2026-04-04T04:00:00Z")) == (try at("2026-04-05T04:00:00Z")))
        // Havana 2026-11-01 01:00 -04 → 00:00 -05 at 05:00Z: midnight and 00:30 happen twice; the first counts.
        let havana = try schedule("0,30 0 * * *", "America/Havana")
        #expect(
            enumerate(havana, from: try at("2026-11-01T03:00:00Z"), to: try at("2026-11-02T03:00:00Z")).map(\.iso8601)
                == [
                    "2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z",
                ])
        // Havana 2026-03-08 00:00 -05 → 01:00 -04 at 05:00Z: both skipped times run once, after the change.
        let spring = enumerate(havana, from: try at("2026-03-08T03:00:00Z"), to: try at("2026-03-09T03:00:00Z"))
        #expect(spring.map(\.iso8601) == ["2026-03-08T05:00:00Z", "2026-03-08T05:30:00Z"])
    }

    @Test("Lord Howe: a 30-minute change")
    func lordHowe() throws {
        // 2026-10-04 02:00 +10:30 → 02:30 +11 at 15:30Z (the 3rd): 02:15 is skipped, runs at 02:45 +11 = 15:45Z.
        let s = try schedule("15 2 * * *", "Australia/Lord_Howe")
        #expect(s.next(after: try at("2026-10-03T00:00:00Z")) == (try at("2026-10-03T15:45:00Z")))
        #expect(s.next(after: try at("2026-10-03T15:45:00Z")) == (try at("2026-10-04T15:15:00Z")))
        // 2026-04-05 02:00 +11 → 01:30 +10:30 at 15:00Z (the 4th): 01:45 happens twice; the first counts.
        let repeated = try schedule("45 1 * * *", "Australia/Lord_Howe")
        #expect(
            enumerate(repeated, from: try at("2026-04-04T12:00:00Z"), to: try at("2026-04-05T12:00:00Z")).map(\.iso8601)
                == ["2026-04-04T14:45:00Z"])
    }

    @Test("a daily report runs once every day of a year, in every zone", arguments: dstZones + fixedZones)
    func dailyForAYear(zone: String) throws {
        let tz = try #require(TimeZone(identifier: zone))
        // The local year 2026: from just before its first midnight to just before the next year's
        // (no zone here changes its offset around New Year).
        let newYear2026 = try at("2026-01-01T00:00:00Z").seconds
        let newYear2027 = try at("2027-01-01T00:00:00Z").seconds
        let from = Instant(seconds: newYear2026 - offset(tz, newYear2026)) + (-1)
        let to = Instant(seconds: newYear2027 - offset(tz, newYear2027)) + (-1)
        for cron in ["30 2 * * *", "0 0 * * *", "30 1 * * *", "59 23 * * *"] {
            let s = try schedule(cron, zone)
            let runs = enumerate(s, from: from, to: to)
            #expect(runs.count == 365, "\(zone) \(cron)")
            #expect(Set(runs).count == runs.count, "\(zone) \(cron)")
            #expect(zip(runs, runs.dropFirst()).allSatisfy { $0 < $1 }, "\(zone) \(cron): not strictly increasing")
            // One run per local day: every day of 2026, once.
            let days = runs.map { localDate($0, tz) }
            #expect(Set(days).count == 365, "\(zone) \(cron): \(days.count - Set(days).count) days with two runs")
            #expect(
                days.first?.description == "2026-01-01" && days.last?.description == "2026-12-31", "\(zone) \(cron)")
            // Consecutive runs are a day apart, give or take the change of offset.
            for (a, b) in zip(runs, runs.dropFirst()) {
                let gap = b - a
                #expect(gap >= 22 * 3_600_000_000 && gap <= 26 * 3_600_000_000, "\(zone) \(cron): \(a) → \(b)")
            }
        }
    }

    @Test("every instant of a year agrees with an independent reference", arguments: dstZones + fixedZones)
    func agreesWithReference(zone: String) throws {
        let from = try at("2025-12-31T12:00:00Z")
        let to = try at("2026-12-31T12:00:00Z")
        let reference = try ReferenceZone(zone, from: from.seconds - 3 * 86_400, to: to.seconds + 3 * 86_400)
        for cron in ["30 2 * * *", "0 0 * * *", "45 1 * * *", "0 8 * * 1-5", "15 3 1,15 * *", "0 0 13 * 5"] {
            let s = try schedule(cron, zone)
            let runs = enumerate(s, from: from, to: to)
            let expected = reference.instants(try CronSchedule(cron), from: from.seconds, to: to.seconds)
            #expect(
                runs == expected,
                "\(zone) \(cron): first difference \(String(describing: zip(runs, expected).first { $0 != $1 }))")
        }
        // Every half hour, over the weeks around the changes (and the whole of March and October).
        let halfHourly = try schedule("*/30 * * * *", zone)
        for (start, end) in [
            ("2026-03-01T00:00:00Z", "2026-04-12T00:00:00Z"), ("2026-09-01T00:00:00Z", "2026-11-08T00:00:00Z"),
        ] {
            let runs = enumerate(halfHourly, from: try at(start), to: try at(end))
            let expected = reference.instants(halfHourly.cron, from: try at(start).seconds, to: try at(end).seconds)
            #expect(runs == expected, "\(zone) */30 \(start): \(runs.count) runs, \(expected.count) expected")
            #expect(zip(runs, runs.dropFirst()).allSatisfy { $0 < $1 })
        }
    }

    @Test("previous(atOrBefore:) is consistent with next(after:)", arguments: dstZones + ["America/Bogota"])
    func previousAgreesWithNext(zone: String) throws {
        for cron in ["30 2 * * *", "0 8 * * 1-5", "0 0 * * *", "*/30 1-3 * * *"] {
            let s = try schedule(cron, zone)
            let runs = enumerate(s, from: try at("2025-12-31T12:00:00Z"), to: try at("2026-12-31T12:00:00Z"))
            #expect(!runs.isEmpty)
            for (i, run) in runs.enumerated() {
                #expect(s.previous(atOrBefore: run) == run, "\(zone) \(cron) at \(run)")
                #expect(s.next(after: run + (-1)) == run, "\(zone) \(cron) just before \(run)")
                guard i > 0 else { continue }
                let before = runs[i - 1]
                #expect(s.previous(atOrBefore: run + (-1)) == before, "\(zone) \(cron) just before \(run)")
                let middle = Instant(microseconds: before.microseconds + (run - before) / 2)
                #expect(s.previous(atOrBefore: middle) == before, "\(zone) \(cron) between \(before) and \(run)")
                #expect(s.next(after: middle) == run, "\(zone) \(cron) between \(before) and \(run)")
                #expect(s.next(after: before) == run)
            }
        }
    }

    @Test("a schedule that never matches has no next instant")
    func never() throws {
        // February 31st does not exist.
        let s = try schedule("0 0 31 FEB *", "UTC")
        #expect(s.next(after: try at("2026-01-01T00:00:00Z")) == nil)
        #expect(s.previous(atOrBefore: try at("2026-01-01T00:00:00Z")) == nil)
    }
}
