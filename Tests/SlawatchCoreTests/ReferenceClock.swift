import Foundation

// An independent, brute-force reference for the SLA clock of the README's SLA semantics.
//
// It shares no code with the engine (WorkingTimeline, ZoneOffsets, StatusHistory, SLAClock,
// CivilDate): it takes plain numbers and strings, walks time one UTC minute at a time, and for each
// minute asks two questions written straight from the semantics:
//   - is this minute working time? (24x7: always; business hours: convert the minute to local wall
//     time with Foundation's `TimeZone.secondsFromGMT(for:)`, then: the local date is not a holiday
//     and the local time of day lies in one of that local weekday's half-open ranges);
//   - does the clock run in this minute? (the ticket's status at the minute is neither a pause nor
//     a stop status; before the first known status the clock runs).
// Every ticket timestamp and `now` are whole minutes, so a minute is entirely working or not and
// entirely in one status; counting minutes is then exact.
//
// The semantics it implements (the README's SLA semantics and the choices it states):
//   - history: changes ordered by (instant, status name); a status holds from its change's instant
//     until the next change (several changes at one instant: the last in that order holds);
//     no changes at all: `currentStatus` holds from `updatedAt` (the clock runs before);
//     the last change's status differs from `currentStatus`: `currentStatus` holds from
//     max(last change, updatedAt).
//   - elapsed: working minutes in [createdAt, now) in which the clock runs.
//   - a level L (microseconds of elapsed time) is reached at: if elapsed >= L, the earliest instant
//     along the actual history at which the counted time equals L; otherwise the earliest instant
//     at which the count would equal L if the clock ran from max(now, createdAt) on, whatever the
//     status (nil when that does not happen within `futureBoundMinutes`).
//   - warning p crossed when elapsed >= p% T (level = ceil(p% T) microseconds); breach crossed when
//     elapsed > T (its instant is dueAt, where elapsed reaches T); escalation d crossed when
//     elapsed >= T + d.
//   - sla_status: paused (status at now is a pause status) / met (status at now is a stop status and
//     elapsed <= T) / breached (elapsed > T) / at_risk (elapsed >= the highest warning level) /
//     on_track.
//   - stoppedSince (when stopped now): the start of the uninterrupted stretch of time, ending at
//     now, throughout which the ticket has been in stop statuses (the instant the clock stopped).

/// A half-open range of local minutes of the day, `[start, end)`; `end` may be 1440.
struct ReferenceRange: CustomStringConvertible {
    var start: Int
    var end: Int
    var description: String {
        func f(_ m: Int) -> String { String(format: "%02d:%02d", m / 60, m % 60) }
        return f(start) + "-" + f(end)
    }
}

/// A calendar in plain terms: `zoneIdentifier == nil` means 24x7.
struct ReferenceCalendar: CustomStringConvertible {
    var zoneIdentifier: String?
    /// Index 0 = Monday … 6 = Sunday.
    var week: [[ReferenceRange]]
    /// Local dates (year, month, day).
    var holidays: [(year: Int, month: Int, day: Int)]

    static let always = ReferenceCalendar(zoneIdentifier: nil, week: [], holidays: [])

    var description: String {
        guard let zone = zoneIdentifier else { return "always (24x7)" }
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        let days = (0..<7).map { "\(names[$0]): [\(week[$0].map { "\"\($0)\"" }.joined(separator: ", "))]" }
        let hol = holidays.map { String(format: "\"%04d-%02d-%02d\"", $0.year, $0.month, $0.day) }
        return "zone \(zone), week {\(days.joined(separator: ", "))}, holidays [\(hol.joined(separator: ", "))]"
    }
}

/// A ticket as the source gives it: minutes since 1970-01-01T00:00Z, changes in any order.
struct ReferenceTicket {
    var createdMinute: Int64
    var updatedMinute: Int64
    var currentStatus: String
    var changes: [(status: String, minute: Int64)]
}

struct ReferencePolicy {
    var pauseStatuses: Set<String>
    var stopStatuses: Set<String>
    /// Warning percentages in tenths of a percent (`125` = 12.5 %), so that levels are exact.
    var warnTenths: [Int]
    /// Escalation steps in microseconds past the deadline.
    var escalateMicros: [Int64]
}

struct ReferenceThreshold: Equatable {
    var kind: String  // "warning", "breach", "escalation"
    var level: Double
    var levelMicros: Int64
    var crossed: Bool
    var at: Int64?  // microseconds since the epoch
}

struct ReferenceReading {
    var targetMicros: Int64
    var elapsedMicros: Int64
    var state: String  // "running", "paused", "stopped"
    var status: String  // "paused", "met", "breached", "at_risk", "on_track"
    var dueAt: Int64?
    var thresholds: [ReferenceThreshold]
    var stoppedSince: Int64?
    var hoursRemaining: Double { Double(targetMicros - elapsedMicros) / 3_600_000_000 }
    var isOverdue: Bool { elapsedMicros > targetMicros }
}

/// The brute-force reference. Holds a memo of zone offsets per 15-minute UTC block; not shared
/// between threads (each test makes its own).
final class ReferenceClock {
    static let minuteMicros: Int64 = 60_000_000
    /// How far past max(now, createdAt) a level is searched for, in minutes (400 days).
    let futureBoundMinutes: Int64

    init(futureBoundDays: Int64 = 400) {
        futureBoundMinutes = futureBoundDays * 1440
    }

    // MARK: Zone offsets, memoized per 15-minute UTC block.

    /// One zone's offsets, asked of Foundation once per 15-minute UTC block.
    final class ZoneMemo {
        let zone: TimeZone
        private var offsets: [Int64: Int64] = [:]

        init(_ id: String) {
            guard let z = TimeZone(identifier: id) else { fatalError("unknown zone \(id)") }
            zone = z
        }

        /// The offset, in seconds, at a second, straight from Foundation.
        func exactOffset(second: Int64) -> Int64 {
            let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second))))
            precondition(offset % 60 == 0, "zone \(zone.identifier) has an offset of \(offset) s, not whole minutes")
            return offset
        }

        /// The offset throughout the 15-minute UTC block `block` (seconds `block * 900 ..< block * 900 + 900`);
        /// nil when it changes inside the block (real zones change on quarter hours of UTC, but
        /// should one not, the caller asks minute by minute).
        func blockOffset(_ block: Int64) -> Int64? {
            if let known = offsets[block] { return known }
            let first = exactOffset(second: block * 900)
            guard first == exactOffset(second: block * 900 + 899) else { return nil }
            offsets[block] = first
            return first
        }
    }

    private var zoneMemos: [String: ZoneMemo] = [:]

    func zoneMemo(_ id: String) -> ZoneMemo {
        if let memo = zoneMemos[id] { return memo }
        let memo = ZoneMemo(id)
        zoneMemos[id] = memo
        return memo
    }

    // MARK: Dates, with plain arithmetic (and Foundation for holidays).

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

    /// Days since 1970-01-01 of a Gregorian date, through Foundation's calendar in UTC.
    static func dayNumber(year: Int, month: Int, day: Int) -> Int64 {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let date = utc.date(from: DateComponents(year: year, month: month, day: day, hour: 12))!
        return floorDiv(Int64(date.timeIntervalSince1970), 86_400)
    }

    /// 0 = Monday … 6 = Sunday; 1970-01-01 (day 0) was a Thursday.
    static func weekdayIndex(dayNumber: Int64) -> Int { Int(floorMod(dayNumber + 3, 7)) }

    // MARK: Working minutes.

    /// A calendar prepared for a walk: for each weekday, whether each local minute of the day lies
    /// in one of its ranges; the holidays as day numbers; a memo of the answers per UTC block.
    final class Prepared {
        let calendar: ReferenceCalendar
        let zone: ZoneMemo?
        /// `minuteMask[weekday * 1440 + minuteOfDay]`.
        let minuteMask: [Bool]
        let holidayDays: Set<Int64>
        let hasAnyRange: Bool
        /// Memo of `isWorking(_:offsetSeconds:)` per 15-minute UTC block: bit i is minute `block * 15 + i`.
        private var blockMasks: [Int64: UInt16] = [:]
        private var lastBlock: Int64 = .min
        private var lastMask: UInt16 = 0

        init(_ calendar: ReferenceCalendar, owner: ReferenceClock) {
            self.calendar = calendar
            zone = calendar.zoneIdentifier.map { owner.zoneMemo($0) }
            var mask = [Bool](repeating: false, count: 7 * 1440)
            for (weekday, ranges) in calendar.week.enumerated() {
                for range in ranges {
                    for minute in range.start..<range.end { mask[weekday * 1440 + minute] = true }
                }
            }
            minuteMask = mask
            holidayDays = Set(
                calendar.holidays.map { ReferenceClock.dayNumber(year: $0.year, month: $0.month, day: $0.day) })
            hasAnyRange = calendar.zoneIdentifier == nil || mask.contains(true)
        }

        /// Whether the UTC minute `[minute, minute + 1)` is working time, for a zone whose offset is
        /// `offsetSeconds` then. This is the definition; the rest is bookkeeping.
        func isWorking(_ minute: Int64, offsetSeconds: Int64) -> Bool {
            let local = minute * 60 + offsetSeconds  // seconds since 1970-01-01T00:00 of the local wall clock
            let day = ReferenceClock.floorDiv(local, 86_400)
            if holidayDays.contains(day) { return false }
            let minuteOfDay = Int(local - day * 86_400) / 60
            return minuteMask[ReferenceClock.weekdayIndex(dayNumber: day) * 1440 + minuteOfDay]
        }

        /// Whether the UTC minute `[minute, minute + 1)` is working time.
        func isWorking(_ minute: Int64) -> Bool {
            guard let zone else { return true }  // 24x7
            let block = ReferenceClock.floorDiv(minute, 15)
            if block != lastBlock {
                lastBlock = block
                if let known = blockMasks[block] {
                    lastMask = known
                } else {
                    let offset = zone.blockOffset(block)
                    var mask: UInt16 = 0
                    var i: Int64 = 0
                    while i < 15 {
                        let m = block * 15 + i
                        if isWorking(m, offsetSeconds: offset ?? zone.exactOffset(second: m * 60)) {
                            mask |= 1 << UInt16(i)
                        }
                        i += 1
                    }
                    blockMasks[block] = mask
                    lastMask = mask
                }
            }
            return lastMask & (1 << UInt16(minute - block * 15)) != 0
        }
    }

    func prepare(_ calendar: ReferenceCalendar) -> Prepared { Prepared(calendar, owner: self) }

    /// Working time in `[from, to)` (minutes), in microseconds.
    func workingMicros(_ calendar: ReferenceCalendar, fromMinute: Int64, toMinute: Int64) -> Int64 {
        let p = prepare(calendar)
        var count: Int64 = 0
        var m = fromMinute
        while m < toMinute {
            if p.isWorking(m) { count += Self.minuteMicros }
            m += 1
        }
        return count
    }

    /// The earliest instant (µs) t >= from with working time in [from, t) equal to `amount` µs;
    /// nil when not within the bound.
    func instantAfter(_ calendar: ReferenceCalendar, fromMinute: Int64, addingMicros amount: Int64) -> Int64? {
        precondition(amount >= 0)
        if amount == 0 { return fromMinute * Self.minuteMicros }
        let p = prepare(calendar)
        if !p.hasAnyRange { return nil }
        var counted: Int64 = 0
        var m = fromMinute
        while m < fromMinute + futureBoundMinutes {
            if p.isWorking(m) {
                if amount <= counted + Self.minuteMicros { return m * Self.minuteMicros + (amount - counted) }
                counted += Self.minuteMicros
            }
            m += 1
        }
        return nil
    }

    // MARK: The ticket's status.

    /// The history as the semantics read it: ordered changes, plus the current status where it
    /// disagrees with them. Array order decides among changes at one instant (the later wins).
    static func normalizedHistory(_ t: ReferenceTicket) -> [(status: String, minute: Int64)] {
        var list = t.changes.sorted { a, b in a.minute != b.minute ? a.minute < b.minute : a.status < b.status }
        if let last = list.last {
            if last.status != t.currentStatus {
                list.append((t.currentStatus, max(last.minute, t.updatedMinute)))
            }
        } else {
            list.append((t.currentStatus, t.updatedMinute))
        }
        return list
    }

    /// The status holding during minute `minute` (nil: before any known status).
    static func status(at minute: Int64, in history: [(status: String, minute: Int64)]) -> String? {
        var status: String? = nil
        for change in history where change.minute <= minute { status = change.status }
        return status
    }

    // MARK: The clock.

    /// Minutes looked at by `evaluate`, for the curious.
    var minutesWalked: Int64 = 0

    func evaluate(
        calendar: ReferenceCalendar, ticket: ReferenceTicket, policy: ReferencePolicy, targetMicros target: Int64,
        nowMinute now: Int64
    ) -> ReferenceReading {
        evaluate(prepared: prepare(calendar), ticket: ticket, policy: policy, targetMicros: target, nowMinute: now)
    }

    /// The same, with the calendar prepared once for many tickets.
    func evaluate(
        prepared p: Prepared, ticket: ReferenceTicket, policy: ReferencePolicy, targetMicros target: Int64,
        nowMinute now: Int64
    ) -> ReferenceReading {
        let history = Self.normalizedHistory(ticket)
        // The same history as "does the clock run from this change on"; before any change it runs.
        let changeMinutes = history.map(\.minute)
        let changeRuns = history.map {
            !policy.pauseStatuses.contains($0.status) && !policy.stopStatuses.contains($0.status)
        }
        func runs(at minute: Int64) -> Bool {
            var result = true
            var i = 0
            while i < changeMinutes.count {
                if changeMinutes[i] <= minute { result = changeRuns[i] }
                i += 1
            }
            return result
        }

        // Every level, with what reaching it means.
        let warnTenths = policy.warnTenths.sorted()
        let escalations = policy.escalateMicros.sorted()
        var thresholds: [ReferenceThreshold] = []
        for tenths in warnTenths {
            let product = target * Int64(tenths)  // level = ceil(target * tenths / 1000)
            let level = product / 1000 + (product % 1000 == 0 ? 0 : 1)
            thresholds.append(
                ReferenceThreshold(
                    kind: "warning", level: Double(tenths) / 10, levelMicros: level, crossed: false, at: nil))
        }
        thresholds.append(ReferenceThreshold(kind: "breach", level: 100, levelMicros: target, crossed: false, at: nil))
        for step in escalations {
            thresholds.append(
                ReferenceThreshold(
                    kind: "escalation", level: Double(step) / 1_000_000, levelMicros: target + step, crossed: false,
                    at: nil))
        }
        precondition(thresholds.allSatisfy { $0.levelMicros > 0 }, "the reference handles positive levels only")
        // Levels in increasing order, to be handed their instants as the count passes them.
        let order = thresholds.indices.sorted { thresholds[$0].levelMicros < thresholds[$1].levelMicros }
        var next = 0

        // The past: [createdAt, now), along the actual history.
        var counted: Int64 = 0
        var m = ticket.createdMinute
        while m < now {
            if p.isWorking(m) && runs(at: m) {
                let before = counted
                counted += Self.minuteMicros
                while next < order.count, thresholds[order[next]].levelMicros <= counted {
                    thresholds[order[next]].at = m * Self.minuteMicros + (thresholds[order[next]].levelMicros - before)
                    next += 1
                }
            }
            m += 1
        }
        let elapsed = counted
        minutesWalked += max(0, now - ticket.createdMinute)

        // The future: from max(now, createdAt), as if the clock ran, whatever the status.
        if p.hasAnyRange {
            var future = elapsed
            let from = max(now, ticket.createdMinute)
            m = from
            while next < order.count && m < from + futureBoundMinutes {
                if p.isWorking(m) {
                    let before = future
                    future += Self.minuteMicros
                    while next < order.count, thresholds[order[next]].levelMicros <= future {
                        thresholds[order[next]].at =
                            m * Self.minuteMicros + (thresholds[order[next]].levelMicros - before)
                        next += 1
                    }
                }
                m += 1
            }
            minutesWalked += m - from
        }

        for i in thresholds.indices {
            switch thresholds[i].kind {
            case "breach": thresholds[i].crossed = elapsed > target
            default: thresholds[i].crossed = elapsed >= thresholds[i].levelMicros
            }
        }

        let nowStatus = Self.status(at: now, in: history)
        let state: String
        if let s = nowStatus, policy.pauseStatuses.contains(s) {
            state = "paused"
        } else if let s = nowStatus, policy.stopStatuses.contains(s) {
            state = "stopped"
        } else {
            state = "running"
        }

        var stoppedSince: Int64? = nil
        if state == "stopped" {
            var start = now
            while let s = Self.status(at: start - 1, in: history), policy.stopStatuses.contains(s) { start -= 1 }
            stoppedSince = start * Self.minuteMicros
        }

        let status: String
        if state == "paused" {
            status = "paused"
        } else if state == "stopped" && elapsed <= target {
            status = "met"
        } else if elapsed > target {
            status = "breached"
        } else if let highest = warnTenths.last, elapsed * 1000 >= target * Int64(highest) {
            status = "at_risk"
        } else {
            status = "on_track"
        }

        let due = thresholds.first { $0.kind == "breach" }!.at
        return ReferenceReading(
            targetMicros: target, elapsedMicros: elapsed, state: state, status: status, dueAt: due,
            thresholds: thresholds, stoppedSince: stoppedSince)
    }

    // MARK: Printing.

    /// `2026-03-29T01:30:00Z (local 2026-03-29 03:30 +02:00)`.
    func describe(micros: Int64?, zoneIdentifier: String?) -> String {
        guard let micros else { return "nil" }
        let seconds = Self.floorDiv(micros, 1_000_000)
        let frac = micros - seconds * 1_000_000
        func civil(_ s: Int64) -> String {
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let c = utc.dateComponents(
                [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(s)))
            return String(
                format: "%04d-%02d-%02d %02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
        }
        var text = civil(seconds).replacingOccurrences(of: " ", with: "T")
        if frac != 0 { text += String(format: ".%06d", Int(frac)) }
        text += "Z"
        if let id = zoneIdentifier {
            let off = zoneMemo(id).exactOffset(second: seconds)
            let sign = off < 0 ? "-" : "+"
            let weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][
                Self.weekdayIndex(dayNumber: Self.floorDiv(seconds + off, 86_400))]
            text +=
                " (local \(weekday) \(civil(seconds + off).dropLast(3)) \(sign)\(String(format: "%02d:%02d", abs(off) / 3600, abs(off) / 60 % 60)))"
        }
        return text
    }
}

/// SplitMix64: a tiny, fully deterministic generator, so that a seed reproduces a run.
struct ReferenceRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (modulo bias is irrelevant here).
    mutating func int(_ range: ClosedRange<Int64>) -> Int64 {
        let width = UInt64(range.upperBound - range.lowerBound) &+ 1
        if width == 0 { return Int64(bitPattern: next()) }
        return range.lowerBound + Int64(next() % width)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int(int(Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(0...i))
        }
    }
}
