import SlawatchCore

/// The instants of the API's bodies, in UTC.
enum APITime {
    /// `2025-07-09T10:30:00.000Z`: the ticket list's form, to the millisecond (truncated).
    static func milliseconds(_ instant: Instant) -> String {
        let (date, seconds, micros) = parts(instant)
        let ms = micros / 1000
        return "\(date)T\(clock(seconds)).\(ms < 10 ? "00" : ms < 100 ? "0" : "")\(ms)Z"
    }

    /// `2026-05-01 09:14:02`: the ticket query's form, to the second (truncated).
    static func plain(_ instant: Instant) -> String {
        let (date, seconds, _) = parts(instant)
        return "\(date) \(clock(seconds))"
    }

    private static func parts(_ instant: Instant) -> (String, Int64, Int64) {
        let day: Int64 = 86_400_000_000
        let days = instant.microseconds >= 0 ? instant.microseconds / day : -((-instant.microseconds + day - 1) / day)
        let rest = instant.microseconds - days * day
        return (CivilDate(daysSinceEpoch: days).description, rest / 1_000_000, rest % 1_000_000)
    }

    private static func clock(_ seconds: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }
}
