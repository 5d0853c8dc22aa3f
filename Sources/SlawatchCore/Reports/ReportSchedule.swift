import Foundation

/// When a report runs: the instants its cron expression names in its time zone.
///
/// A local time that a spring-forward change skips runs once, at the same distance after the
/// change (02:30 in a 02:00→03:00 gap runs at 03:30); a local time that a fall-back change repeats
/// runs once, at its first occurrence. So a daily 02:30 report runs exactly once every day.
public struct ReportSchedule: Sendable {
    public let cron: CronSchedule
    public let timeZoneIdentifier: String
    private let zone: TimeZone

    public init(cron: CronSchedule, timeZoneIdentifier: String) {
        self.cron = cron
        self.timeZoneIdentifier = timeZoneIdentifier
        zone = TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(identifier: "UTC")!
    }

    /// The first scheduled instant strictly after `instant`, within five years; nil if none.
    public func next(after instant: Instant) -> Instant? {
        let startDay = localDay(instant) - 1
        var best: Instant?
        var foundDay: Int64 = .max
        for day in startDay...(startDay + 5 * 366 + 2) {
            // A time two local days later is later than any found so far, whatever the offsets.
            if foundDay != .max, day > foundDay + 1 { break }
            let date = CivilDate(daysSinceEpoch: day)
            guard cron.matchesDay(date) else { continue }
            for hour in cron.hours.sorted() {
                for minute in cron.minutes.sorted() {
                    let t = resolve(localSeconds: day * 86_400 + Int64(hour * 3600 + minute * 60))
                    if t > instant, best == nil || t < best! {
                        best = t
                        foundDay = min(foundDay, day)
                    }
                }
            }
        }
        return best
    }

    /// The last scheduled instant at or before `instant`, looking back at most `limit` days.
    public func previous(atOrBefore instant: Instant, limitDays: Int64 = 5 * 366) -> Instant? {
        let endDay = localDay(instant) + 1
        var day = endDay
        while day >= endDay - limitDays {
            let date = CivilDate(daysSinceEpoch: day)
            if cron.matchesDay(date) {
                var best: Instant?
                for hour in cron.hours.sorted() {
                    for minute in cron.minutes.sorted() {
                        let t = resolve(localSeconds: day * 86_400 + Int64(hour * 3600 + minute * 60))
                        if t <= instant, best == nil || t > best! { best = t }
                    }
                }
                if let best { return best }
            }
            day -= 1
        }
        return nil
    }

    private func offset(_ second: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second))))
    }

    private func localDay(_ instant: Instant) -> Int64 {
        floorDiv(instant.seconds + offset(instant.seconds), 86_400)
    }

    /// The instant a local wall-clock time stands for: the first of two in a fall-back overlap;
    /// in a spring-forward gap, as if the offset before the change still held.
    func resolve(localSeconds l: Int64) -> Instant {
        let before = offset(l - 86_400)
        let after = offset(l + 86_400)
        if before == after { return Instant(seconds: l - before) }
        let a = l - before
        let b = l - after
        let aValid = offset(a) == before
        let bValid = offset(b) == after
        switch (aValid, bValid) {
        case (true, true): return Instant(seconds: min(a, b))
        case (true, false): return Instant(seconds: a)
        case (false, true): return Instant(seconds: b)
        case (false, false): return Instant(seconds: a)
        }
    }
}
