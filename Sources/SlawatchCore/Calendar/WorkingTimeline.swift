import Foundation

/// The working time of one calendar, answering the two questions an SLA clock asks:
/// how much working time lies between two instants, and when a given amount of working time,
/// counted from an instant, is used up.
///
/// For business hours it holds the calendar's working intervals in UTC with a running sum, so
/// each answer is a binary search, not a walk through days. It covers a span of time and widens
/// itself (by whole years) when asked about an instant outside it. It is a reference type with
/// mutable state and is not `Sendable`: one evaluator owns it.
public final class WorkingTimeline {
    public let calendar: WorkCalendar
    private let zone: TimeZone?
    /// The longest span searched for working time that may never come (a calendar whose weekdays
    /// are all holidays, say), in seconds.
    private static let horizonSeconds: Int64 = 30 * 366 * 86_400

    // Local days [firstDay, lastDay] are generated; instants in [coveredFrom, coveredTo) (µs) are
    // fully described by the intervals.
    private var firstDay: Int64 = 0
    private var lastDay: Int64 = -1
    private var coveredFrom: Int64 = 0
    private var coveredTo: Int64 = 0
    // One value, read once per question: elementwise reads of a class's stored arrays would each
    // pay a dynamic exclusivity check, and a full pass asks millions of questions.
    private var spans = Spans()
    /// The running sum at the instant `instant(after:adding:)` was last asked from.
    private var sumAt: (instant: Int64, sum: Int64)?

    /// The working intervals in UTC, sorted and disjoint.
    private struct Spans {
        var starts: [Int64] = []
        var ends: [Int64] = []
        /// Working time before interval i, from the start of coverage.
        var before: [Int64] = []

        /// Index of the last interval starting at or before `t`, or -1.
        func lastIndex(startingAtOrBefore t: Int64) -> Int {
            var lo = 0
            var hi = starts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if starts[mid] <= t { lo = mid + 1 } else { hi = mid }
            }
            return lo - 1
        }

        func cumulative(_ t: Int64) -> Int64 {
            let i = lastIndex(startingAtOrBefore: t)
            if i < 0 { return 0 }
            return before[i] + min(t, ends[i]) - starts[i]
        }

        /// The first interval whose end brings the running sum to `target`.
        func reaching(_ target: Int64) -> Int64 {
            var lo = 0
            var hi = starts.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if before[mid] + (ends[mid] - starts[mid]) >= target { hi = mid } else { lo = mid + 1 }
            }
            return starts[lo] + (target - before[lo])
        }
    }

    public init(calendar: WorkCalendar) {
        self.calendar = calendar
        if case .businessHours(let hours) = calendar {
            zone = TimeZone(identifier: hours.timeZoneIdentifier)
        } else {
            zone = nil
        }
    }

    /// Working time in `[from, to)`, in microseconds; zero when `to <= from`.
    public func workingTime(from: Instant, to: Instant) -> Int64 {
        guard to.microseconds > from.microseconds else { return 0 }
        guard case .businessHours = calendar else { return to.microseconds - from.microseconds }
        ensureCovers(from.microseconds, to.microseconds)
        return cumulative(to.microseconds) - cumulative(from.microseconds)
    }

    /// The earliest instant `t >= from` with `workingTime(from, t) == amount`; `from` itself when
    /// `amount` is zero; nil when the calendar has no such instant within thirty years.
    public func instant(after from: Instant, adding amount: Int64) -> Instant? {
        precondition(amount >= 0)
        if amount == 0 { return from }
        guard case .businessHours(let hours) = calendar else { return from + amount }
        guard hours.hasWorkingTime else { return nil }
        let limit = from.microseconds + Self.horizonSeconds * 1_000_000
        // A clock asks this for each of its levels from the same instant: the running sum there
        // is looked up once. A rebuild forgets it, as it moves the sums.
        let base: Int64
        if let memo = sumAt, memo.instant == from.microseconds {
            base = memo.sum
        } else {
            ensureCovers(from.microseconds, from.microseconds + 1)
            base = cumulative(from.microseconds)
            sumAt = (from.microseconds, base)
        }
        // Widening only ever adds later days here, so the running sum at `from` stays put.
        let target = base + amount
        while cumulative(coveredTo) < target {
            if coveredTo >= limit { return nil }
            ensureCovers(from.microseconds, min(limit, coveredTo + max(coveredTo - coveredFrom, 366 * 86_400_000_000)))
        }
        let t = spans.reaching(target)
        return t <= limit ? Instant(microseconds: t) : nil
    }

    /// The working intervals that intersect `[from, to)`, clipped to it.
    public func intervals(from: Instant, to: Instant) -> [(start: Instant, end: Instant)] {
        guard to > from else { return [] }
        guard case .businessHours = calendar else { return [(from, to)] }
        ensureCovers(from.microseconds, to.microseconds)
        var result: [(Instant, Instant)] = []
        let spans = self.spans
        var i = max(0, spans.lastIndex(startingAtOrBefore: from.microseconds))
        while i < spans.starts.count, spans.starts[i] < to.microseconds {
            let s = max(spans.starts[i], from.microseconds)
            let e = min(spans.ends[i], to.microseconds)
            if s < e { result.append((Instant(microseconds: s), Instant(microseconds: e))) }
            i += 1
        }
        return result
    }

    /// Holiday dates (local) that fall within `[from, to)`.
    public func holidays(from: Instant, to: Instant) -> [CivilDate] {
        guard case .businessHours(let hours) = calendar, let zone, to > from else { return [] }
        let firstLocal = localDay(from.seconds, zone)
        let lastLocal = localDay(to.seconds, zone)
        return hours.holidays.filter { $0.daysSinceEpoch >= firstLocal && $0.daysSinceEpoch <= lastLocal }.sorted()
    }

    private func localDay(_ second: Int64, _ zone: TimeZone) -> Int64 {
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second))))
        return floorDiv(second + offset, 86_400)
    }

    private func cumulative(_ t: Int64) -> Int64 { spans.cumulative(t) }

    private func ensureCovers(_ from: Int64, _ to: Int64) {
        if lastDay >= firstDay, from >= coveredFrom, to <= coveredTo { return }
        let dayMicros: Int64 = 86_400_000_000
        var newFirst = floorDiv(from, dayMicros) - 2
        var newLast = floorDiv(to, dayMicros) + 2
        if lastDay >= firstDay {
            newFirst = min(newFirst, firstDay)
            newLast = max(newLast, lastDay)
            // Widen generously so that a cycle over many tickets rebuilds only a few times.
            if newFirst < firstDay { newFirst = min(newFirst, firstDay - 366) }
            if newLast > lastDay { newLast = max(newLast, lastDay + 366) }
        } else {
            newFirst -= 31
            newLast += 366
        }
        rebuild(firstDay: newFirst, lastDay: newLast)
    }

    private func rebuild(firstDay dA: Int64, lastDay dB: Int64) {
        guard case .businessHours(let hours) = calendar, let zone else { return }
        // Local day D holds instants within a day and a half of UTC day D: zones lie within ±26 h.
        let margin: Int64 = 2 * 86_400
        let offsets = ZoneOffsets(zone: zone, fromSecond: dA * 86_400 - margin, toSecond: (dB + 1) * 86_400 + margin)
        var pieces: [(Int64, Int64)] = []
        pieces.reserveCapacity(Int(dB - dA + 1) * 2)
        for day in dA...dB {
            let date = CivilDate(daysSinceEpoch: day)
            if hours.holidays.contains(date) { continue }
            let ranges = hours.week[date.weekdayIndex]
            if ranges.isEmpty { continue }
            let midnight = day * 86_400
            let segments = offsets.segments(from: midnight - margin, to: midnight + 86_400 + margin)
            for range in ranges {
                let localStart = midnight + Int64(range.startMinute) * 60
                let localEnd = midnight + Int64(range.endMinute) * 60
                for segment in segments {
                    let s = max(segment.start, localStart - segment.offset)
                    let e = min(segment.end, localEnd - segment.offset)
                    if s < e { pieces.append((s * 1_000_000, e * 1_000_000)) }
                }
            }
        }
        // A fall-back change can make a later range's instants precede an earlier one's.
        pieces.sort { $0.0 < $1.0 }
        var newStarts: [Int64] = []
        var newEnds: [Int64] = []
        var newBefore: [Int64] = []
        newStarts.reserveCapacity(pieces.count)
        newEnds.reserveCapacity(pieces.count)
        newBefore.reserveCapacity(pieces.count)
        var sum: Int64 = 0
        for (s, e) in pieces {
            if let last = newEnds.last, s <= last {
                if e > last {
                    sum += e - last
                    newEnds[newEnds.count - 1] = e
                }
                continue
            }
            newStarts.append(s)
            newEnds.append(e)
            newBefore.append(sum)
            sum += e - s
        }
        spans = Spans(starts: newStarts, ends: newEnds, before: newBefore)
        sumAt = nil
        firstDay = dA
        lastDay = dB
        coveredFrom = (dA * 86_400 + margin) * 1_000_000
        coveredTo = ((dB + 1) * 86_400 - margin) * 1_000_000
    }
}

@available(*, unavailable)
extension WorkingTimeline: Sendable {}
