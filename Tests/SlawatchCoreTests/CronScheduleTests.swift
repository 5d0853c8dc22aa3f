import Foundation
import SlawatchCore
import Testing

// The 5-field cron of report schedules (the README's Reports).

private func date(_ text: String) throws -> CivilDate {
    try #require(CivilDate(text), "bad test date \(text)")
}

private func parseError(_ text: String) -> String? {
    do throws(CronSchedule.ParseError) {
        _ = try CronSchedule(text)
        return nil
    } catch {
        return error.description
    }
}

@Suite("CronSchedule")
struct CronScheduleTests {
    // MARK: - Parsing

    @Test("a weekday-morning schedule")
    func weekdayMorning() throws {
        let cron = try CronSchedule("0 8 * * 1-5")
        #expect(cron.minutes == [0])
        #expect(cron.hours == [8])
        #expect(cron.daysOfMonth == Set(1...31))
        #expect(cron.months == Set(1...12))
        #expect(cron.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(cron.description == "0 8 * * 1-5")
    }

    @Test("lists, ranges and steps")
    func listsRangesSteps() throws {
        let cron = try CronSchedule("0,30 8-10,14 1-10/3 */4 *")
        #expect(cron.minutes == [0, 30])
        #expect(cron.hours == [8, 9, 10, 14])
        #expect(cron.daysOfMonth == [1, 4, 7, 10])
        #expect(cron.months == [1, 5, 9])
        #expect(cron.daysOfWeek == Set(0...6))
    }

    @Test("*/15 in the minute field")
    func everyFifteenMinutes() throws {
        let cron = try CronSchedule("*/15 * * * *")
        #expect(cron.minutes == [0, 15, 30, 45])
        #expect(cron.hours == Set(0...23))
    }

    @Test("a step from a single value runs to the end of the field")
    func stepFromValue() throws {
        let cron = try CronSchedule("5/20 * * * *")
        #expect(cron.minutes == [5, 25, 45])
    }

    @Test("names of days and months, in any case")
    func names() throws {
        let cron = try CronSchedule("0 8 * JAN MON-FRI")
        #expect(cron.months == [1])
        #expect(cron.daysOfWeek == [1, 2, 3, 4, 5])

        let lower = try CronSchedule("0 8 * jun-aug,dec sat,sun")
        #expect(lower.months == [6, 7, 8, 12])
        #expect(lower.daysOfWeek == [0, 6])
    }

    @Test("Sunday is both 0 and 7")
    func sundayZeroAndSeven() throws {
        #expect(try CronSchedule("0 9 * * 0").daysOfWeek == [0])
        #expect(try CronSchedule("0 9 * * 7").daysOfWeek == [0])
        #expect(try CronSchedule("0 9 * * 5-7").daysOfWeek == [5, 6, 0])
        #expect(try CronSchedule("0 9 * * SUN").daysOfWeek == [0])
    }

    @Test("tabs and repeated spaces separate fields")
    func whitespace() throws {
        let cron = try CronSchedule("0\t8  *   * 1-5")
        #expect(cron.hours == [8])
        #expect(cron.description == "0 8 * * 1-5")
    }

    // MARK: - Errors

    @Test(
        "a wrong number of fields",
        arguments: [
            ("0 8 * *", 4),
            ("0 8 * * 1-5 2026", 6),
            ("", 0),
            ("@daily", 1),
        ])
    func wrongFieldCount(text: String, count: Int) {
        #expect(
            parseError(text)
                == "expected 5 cron fields (minute hour day-of-month month day-of-week), found \(count) in \"\(text)\"")
    }

    @Test(
        "a value out of range names the field and the bounds",
        arguments: [
            ("60 * * * *", #"minute field "60": "60" is not a valid minute (0-59)"#),
            ("0 0 0 * *", #"day of month field "0": "0" is not a valid day of month (1-31)"#),
            ("0 0 32 * *", #"day of month field "32": "32" is not a valid day of month (1-31)"#),
            ("0 0 * 13 *", #"month field "13": "13" is not a valid month (1-12 or a name)"#),
            ("0 0 * * 8", #"day of week field "8": "8" is not a valid day of week (0-7 or a name)"#),
            ("0 0 * * MONDAY", #"day of week field "MONDAY": "MONDAY" is not a valid day of week (0-7 or a name)"#),
            ("0 0 * FOO *", #"month field "FOO": "FOO" is not a valid month (1-12 or a name)"#),
            ("MON 0 * * *", #"minute field "MON": "MON" is not a valid minute (0-59)"#),
        ])
    func outOfRange(text: String, message: String) {
        #expect(parseError(text) == message)
    }

    @Test("an hour out of range")
    func hourOutOfRange() throws {
        let message = try #require(parseError("0 24 * * *"))
        #expect(message.hasPrefix(#"hour field "24": "24" is not a"#))
        #expect(message.hasSuffix("hour (0-23)"))
    }

    @Test("an inverted range")
    func invertedRange() {
        #expect(parseError("0 8 * * 5-1") == #"day of week field "5-1": range 5-1 is inverted"#)
        #expect(parseError("0 18-8 * * *") == #"hour field "18-8": range 18-8 is inverted"#)
        #expect(parseError("0 8 * DEC-JAN *") == #"month field "DEC-JAN": range 12-1 is inverted"#)
    }

    @Test("a zero or non-numeric step")
    func badStep() {
        #expect(parseError("*/0 * * * *") == #"minute field "*/0": step "0" must be a positive number"#)
        #expect(parseError("0 */x * * *") == #"hour field "*/x": step "x" must be a positive number"#)
    }

    @Test(
        "malformed fields", arguments: ["1,,2 * * * *", "/5 * * * *", "1-2-3 * * * *", "*/5/2 * * * *", "0 8 * * -1"])
    func malformed(text: String) throws {
        let message = try #require(parseError(text))
        #expect(message.contains("field"))
    }

    // MARK: - Matching

    @Test("a weekday-morning schedule matches weekday mornings only")
    func matchesWeekdayMorning() throws {
        let cron = try CronSchedule("0 8 * * 1-5")
        // 2026-03-02 is a Monday, 2026-03-06 a Friday, 2026-03-07 a Saturday, 2026-03-01 a Sunday.
        #expect(cron.matches(date: try date("2026-03-02"), hour: 8, minute: 0))
        #expect(cron.matches(date: try date("2026-03-06"), hour: 8, minute: 0))
        #expect(!cron.matches(date: try date("2026-03-07"), hour: 8, minute: 0))
        #expect(!cron.matches(date: try date("2026-03-01"), hour: 8, minute: 0))
        #expect(!cron.matches(date: try date("2026-03-02"), hour: 8, minute: 1))
        #expect(!cron.matches(date: try date("2026-03-02"), hour: 9, minute: 0))
        #expect(cron.matchesDay(try date("2026-03-02")))
        #expect(!cron.matchesDay(try date("2026-03-07")))
    }

    @Test("every fifteen minutes")
    func matchesEveryFifteen() throws {
        let cron = try CronSchedule("*/15 * * * *")
        let day = try date("2026-07-15")
        for minute in 0..<60 {
            #expect(cron.matches(date: day, hour: 13, minute: minute) == (minute % 15 == 0), "minute \(minute)")
        }
    }

    @Test("the month field restricts the date")
    func matchesMonth() throws {
        let cron = try CronSchedule("30 6 1 JAN *")
        #expect(cron.matches(date: try date("2027-01-01"), hour: 6, minute: 30))
        #expect(!cron.matches(date: try date("2027-02-01"), hour: 6, minute: 30))
        #expect(!cron.matches(date: try date("2027-01-02"), hour: 6, minute: 30))
    }

    @Test("Sunday as 0 and as 7 matches a Sunday")
    func matchesSunday() throws {
        let sunday = try date("2026-03-01")
        let monday = try date("2026-03-02")
        for text in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
            let cron = try CronSchedule(text)
            #expect(cron.matches(date: sunday, hour: 9, minute: 0), "\(text)")
            #expect(!cron.matches(date: monday, hour: 9, minute: 0), "\(text)")
        }
    }

    @Test("day of month and day of week both restricted: either matches (Vixie cron)")
    func vixieEither() throws {
        // Midnight on the 13th of any month, and midnight on any Friday.
        let cron = try CronSchedule("0 0 13 * 5")
        #expect(cron.matches(date: try date("2026-03-13"), hour: 0, minute: 0))  // Friday the 13th
        #expect(cron.matches(date: try date("2026-04-13"), hour: 0, minute: 0))  // a Monday
        #expect(cron.matches(date: try date("2026-03-20"), hour: 0, minute: 0))  // a Friday
        #expect(!cron.matches(date: try date("2026-03-19"), hour: 0, minute: 0))  // Thursday the 19th
        #expect(!cron.matches(date: try date("2026-04-13"), hour: 0, minute: 1))
        #expect(cron.matchesDay(try date("2026-04-13")))
        #expect(cron.matchesDay(try date("2026-03-20")))
        #expect(!cron.matchesDay(try date("2026-03-19")))
    }

    @Test("only one of day of month and day of week restricted: that one decides")
    func vixieOnlyOne() throws {
        let byDay = try CronSchedule("0 0 13 * *")
        #expect(byDay.matches(date: try date("2026-04-13"), hour: 0, minute: 0))
        #expect(!byDay.matches(date: try date("2026-03-20"), hour: 0, minute: 0))

        let byWeekday = try CronSchedule("0 0 * * 5")
        #expect(byWeekday.matches(date: try date("2026-03-20"), hour: 0, minute: 0))
        #expect(!byWeekday.matches(date: try date("2026-04-13"), hour: 0, minute: 0))
    }
}
