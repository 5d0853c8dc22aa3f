import Foundation

/// The UTC offsets of an IANA time zone over a span of time, as a sorted list of transitions.
///
/// Built once per calendar from Foundation's `TimeZone` (the system's tz database) so that the
/// SLA arithmetic itself never asks the zone again.
struct ZoneOffsets: Sendable {
    /// Seconds since the epoch at which `offsets[i]` takes effect; `starts[0]` is the beginning of
    /// the span and stands for everything before it.
    let starts: [Int64]
    let offsets: [Int64]

    init(zone: TimeZone, fromSecond: Int64, toSecond: Int64) {
        func offset(_ s: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(s)))) }
        var starts = [fromSecond]
        var offsets = [offset(fromSecond)]
        // Zones change offset at most a few times a year, never twice within six hours; probing
        // every six hours and bisecting to the second finds every change exactly.
        let step: Int64 = 6 * 3600
        var t = fromSecond
        var current = offsets[0]
        while t < toSecond {
            let next = min(t + step, toSecond)
            let o = offset(next)
            if o != current {
                var lo = t
                var hi = next  // offset(lo) == current, offset(hi) != current
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2
                    if offset(mid) == current { lo = mid } else { hi = mid }
                }
                starts.append(hi)
                offsets.append(o)
                current = o
            }
            t = next
        }
        self.starts = starts
        self.offsets = offsets
    }

    /// Offset segments `(start, end, offset)` that intersect `[from, to)`.
    func segments(from: Int64, to: Int64) -> [(start: Int64, end: Int64, offset: Int64)] {
        var result: [(Int64, Int64, Int64)] = []
        for i in starts.indices {
            let start = i == 0 ? Int64.min / 4 : starts[i]
            let end = i + 1 < starts.count ? starts[i + 1] : Int64.max / 4
            if end <= from || start >= to { continue }
            result.append((max(start, from), min(end, to), offsets[i]))
        }
        return result
    }
}
