import Foundation
import SlawatchCore
import Testing

// The calendar building blocks: working ranges, civil dates, instants.

/// A namespace, so that these suites' names cannot clash with other files of the test target.
enum CalendarTests {}

private var utcCalendar: Calendar {
    var c = Calendar(identifier: .gregorian)
    c.timeZone = TimeZone(identifier: "UTC")!
    return c
}

extension CalendarTests {
    @Suite struct WorkingRanges {
        @Test func parsesLocalRanges() {
            let morning = WorkingRange("08:00-12:00")
            #expect(morning?.startMinute == 480)
            #expect(morning?.endMinute == 720)
            let afternoon = WorkingRange("13:00-24:00")
            #expect(afternoon?.startMinute == 780)
            #expect(afternoon?.endMinute == 1440)
            let whole = WorkingRange("00:00-24:00")
            #expect(whole?.startMinute == 0)
            #expect(whole?.endMinute == 1440)
            #expect(WorkingRange("02:45-03:45")?.startMinute == 165)
            #expect(WorkingRange("02:45-03:45")?.endMinute == 225)
            #expect(WorkingRange("13:00-24:00")?.description == "13:00-24:00")
            #expect(WorkingRange("08:05-12:59")?.description == "08:05-12:59")
        }

        @Test(arguments: [
            "18:00-08:00",  // backwards
            "8:00-12:00",  // one-digit hour
            "25:00-26:00",  // no such hour
            "08:00-08:00",  // empty
            "24:00-24:00",
            "08:00-24:01",
            "12:60-13:00",
            "08:00",
            "08:00-12:00-13:00",
            "",
            "-",
            "ab:cd-ef:gh",
            "08:00-1200",
            "-8:00-12:00",
        ])
        func rejectsMalformedRanges(_ text: String) {
            #expect(WorkingRange(text) == nil)
        }

        @Test func minuteInitializerChecksBounds() {
            #expect(WorkingRange(startMinute: 0, endMinute: 1440) != nil)
            #expect(WorkingRange(startMinute: -1, endMinute: 10) == nil)
            #expect(WorkingRange(startMinute: 10, endMinute: 1441) == nil)
            #expect(WorkingRange(startMinute: 600, endMinute: 600) == nil)
            #expect(WorkingRange(startMinute: 601, endMinute: 600) == nil)
        }
    }
}

extension CalendarTests {
    @Suite struct CivilDates {
        @Test func parsesAndPrints() {
            let christmas = CivilDate("2026-12-25")
            #expect(christmas?.year == 2026)
            #expect(christmas?.month == 12)
            #expect(christmas?.day == 25)
            #expect(christmas?.description == "2026-12-25")
            #expect(CivilDate(year: 2026, month: 3, day: 9)?.description == "2026-03-09")
            #expect(CivilDate("2024-02-29") != nil)  // leap year
            #expect(CivilDate("2000-02-29") != nil)  // divisible by 400
            #expect(CivilDate(year: 2026, month: 12, day: 25) == christmas)
        }

        @Test(arguments: [
            "2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00", "2026-1-01", "26-01-01",
            "2026/01/01", "2026-01-01x", "2026-01-01T00:00:00Z", "", "garbage",
        ])
        func rejectsBadDates(_ text: String) {
            #expect(CivilDate(text) == nil)
        }

        @Test func knownDaysAndWeekdays() {
            #expect(CivilDate("1970-01-01")!.daysSinceEpoch == 0)
            #expect(CivilDate("1970-01-01")!.weekdayIndex == 3)  // Thursday
            #expect(CivilDate("1969-12-31")!.daysSinceEpoch == -1)
            #expect(CivilDate("1969-12-31")!.weekdayIndex == 2)  // Wednesday
            #expect(CivilDate("2026-03-23")!.daysSinceEpoch == 20_535)
            #expect(CivilDate("2026-03-23")!.weekdayIndex == 0)  // Monday
            #expect(CivilDate("2026-03-20")!.weekdayIndex == 4)  // Friday
            #expect(CivilDate("2026-03-29")!.weekdayIndex == 6)  // Sunday, Madrid springs forward
            #expect(CivilDate("2026-10-25")!.weekdayIndex == 6)  // Sunday, Madrid falls back
            #expect(CivilDate("1900-01-01")!.daysSinceEpoch == -25_567)
            #expect(CivilDate("1900-01-01")!.weekdayIndex == 0)  // Monday
            #expect(CivilDate(daysSinceEpoch: 20_535) == CivilDate("2026-03-23"))
        }

        /// Every day from 1900 to 2100 against Foundation's Gregorian calendar and the brute-force
        /// reference's arithmetic: day numbers, fields, weekdays, and the round trip through text.
        @Test func everyDayAgreesWithFoundation() {
            let calendar = utcCalendar
            var mismatches: [String] = []
            for day in Int64(-25_567)...Int64(47_482) {  // 1900-01-01 ... 2100-01-01
                let date = CivilDate(daysSinceEpoch: day)
                let f = calendar.dateComponents(
                    [.year, .month, .day, .weekday], from: Date(timeIntervalSince1970: Double(day) * 86_400))
                // Foundation's weekday: 1 = Sunday ... 7 = Saturday; ours: 0 = Monday ... 6 = Sunday.
                let foundationWeekday = (f.weekday! + 5) % 7
                if date.year != f.year || date.month != f.month || date.day != f.day || date.daysSinceEpoch != day
                    || date.weekdayIndex != foundationWeekday || CivilDate(date.description) != date
                    || ReferenceClock.dayNumber(year: date.year, month: date.month, day: date.day) != day
                    || ReferenceClock.weekdayIndex(dayNumber: day) != foundationWeekday
                {
                    mismatches.append(
                        "day \(day): \(date) weekday \(date.weekdayIndex), Foundation \(f.year!)-\(f.month!)-\(f.day!) weekday \(foundationWeekday)"
                    )
                }
                if mismatches.count > 10 { break }
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
        }
    }
}

extension CalendarTests {
    @Suite struct Instants {
        @Test func parsesUTCWithZ() {
            #expect(Instant(iso8601: "2026-03-24T10:30:00Z") == Instant(seconds: 1_774_348_200))
            #expect(Instant(iso8601: "2026-03-24t10:30:00z") == Instant(seconds: 1_774_348_200))
            #expect(Instant(iso8601: "2026-03-24T10:30Z") == Instant(seconds: 1_774_348_200))  // seconds optional
            #expect(Instant(iso8601: "1970-01-01T00:00:00Z") == Instant(microseconds: 0))
        }

        @Test func parsesOffsetsAndSpaces() {
            #expect(Instant(iso8601: "2026-03-24T10:30:00-05:00") == Instant(seconds: 1_774_366_200))  // 15:30Z
            #expect(Instant(iso8601: "2026-03-24T10:30:00+05:30") == Instant(seconds: 1_774_328_400))  // 05:00Z
            #expect(Instant(iso8601: "2026-03-24T10:30:00+0530") == Instant(seconds: 1_774_328_400))
            #expect(Instant(iso8601: "2026-03-24 10:30:00+00") == Instant(seconds: 1_774_348_200))  // PostgreSQL's text
            #expect(Instant(iso8601: "2026-03-24 15:30:00+00:00") == Instant(iso8601: "2026-03-24T10:30:00-05:00"))
            #expect(Instant(iso8601: "2026-03-24") == Instant(seconds: 1_774_310_400))  // a bare date: midnight UTC
        }

        @Test func parsesFractions() {
            #expect(Instant(iso8601: "2026-03-24T10:30:00.5-05:00") == Instant(microseconds: 1_774_366_200_500_000))
            #expect(Instant(iso8601: "2026-03-24T10:30:00.000001Z") == Instant(microseconds: 1_774_348_200_000_001))
            #expect(Instant(iso8601: "2026-03-24T10:30:00.123456Z") == Instant(microseconds: 1_774_348_200_123_456))
            #expect(Instant(iso8601: "2026-03-24 10:30:00.25+00") == Instant(microseconds: 1_774_348_200_250_000))
        }

        @Test(arguments: [
            "garbage", "", "2026-03-24T10:30:00", "2026-03-24T25:00:00Z", "2026-03-24T24:00:00Z",
            "2026-03-24T10:60:00Z",
            "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-24T10:30:00.Z", "2026-03-24T10:30:00Zjunk",
            "2026-03-24X10:30:00Z", "2026-3-24T10:30:00Z", "2026-03-24T10:30:00+5", "2026-03-24T1:30:00Z",
            "T10:30:00Z", "2026-03-24T", "2026-03-24T10:30:00+",
        ])
        func rejectsGarbage(_ text: String) {
            #expect(Instant(iso8601: text) == nil)
        }

        @Test func formatsUTCWithZAndOnlyNeededFractions() {
            #expect(Instant(microseconds: 0).iso8601 == "1970-01-01T00:00:00Z")
            #expect(Instant(seconds: 1_774_348_200).iso8601 == "2026-03-24T10:30:00Z")
            #expect(Instant(microseconds: 1_774_366_200_500_000).iso8601 == "2026-03-24T15:30:00.5Z")
            #expect(Instant(microseconds: 1_774_348_200_000_001).iso8601 == "2026-03-24T10:30:00.000001Z")
            #expect(Instant(microseconds: 1_774_348_200_120_000).iso8601 == "2026-03-24T10:30:00.12Z")
            #expect(Instant(microseconds: -1).iso8601 == "1969-12-31T23:59:59.999999Z")
            #expect(Instant(seconds: -86_400).iso8601 == "1969-12-31T00:00:00Z")
            #expect(Instant(microseconds: 951_782_400_000_000).iso8601 == "2000-02-29T00:00:00Z")
        }

        /// Random instants from 1900 to 2200: format then parse gives the same instant; whole seconds
        /// format as Foundation's ISO 8601 formatter does.
        @Test func roundTripsAndAgreesWithFoundation() {
            var r = ReferenceRandom(seed: 0x1509_8601)
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")!
            var mismatches: [String] = []
            for _ in 0..<20_000 {
                let micros = r.int(Int64(-2_208_988_800_000_000)...Int64(7_258_118_400_000_000))
                let instant = Instant(microseconds: r.chance(0.3) ? micros / 1_000_000 * 1_000_000 : micros)
                let text = instant.iso8601
                if Instant(iso8601: text) != instant { mismatches.append("\(instant.microseconds) -> \(text)") }
                if instant.microseconds % 1_000_000 == 0 {
                    let foundation = formatter.string(
                        from: Date(timeIntervalSince1970: Double(instant.microseconds / 1_000_000)))
                    if foundation != text { mismatches.append("\(text) but Foundation \(foundation)") }
                }
                if mismatches.count > 10 { break }
            }
            #expect(mismatches.isEmpty, "\(mismatches)")
        }

        @Test func ordersAndSubtracts() {
            let a = Instant(seconds: 100)
            let b = Instant(seconds: 160)
            #expect(a < b)
            #expect(b - a == 60_000_000)
            #expect(a + 60_000_000 == b)
            #expect(Instant(microseconds: -1).seconds == -1)  // rounded down
            #expect(Instant(microseconds: 1_999_999).seconds == 1)
        }
    }
}
