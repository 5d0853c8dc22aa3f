/// When the SLA clock may run: around the clock, or on business hours in a time zone.
public enum WorkCalendar: Sendable, Hashable {
    /// 24x7: every instant is working time.
    case always
    case businessHours(BusinessHours)
}

/// Working ranges per weekday in local wall-clock time of an IANA zone, minus holiday dates.
///
/// An instant is working time when its local date is not a holiday and its local time of day
/// falls inside one of that weekday's ranges. Because the test is made on the local clock, a
/// range that a daylight-saving change shortens or lengthens counts exactly the real time that
/// passes while the wall clock shows a time inside it.
public struct BusinessHours: Sendable, Hashable {
    public let timeZoneIdentifier: String
    /// Index 0 = Monday … 6 = Sunday; each day's ranges sorted and not overlapping.
    public let week: [[WorkingRange]]
    public let holidays: Set<CivilDate>

    public init(timeZoneIdentifier: String, week: [[WorkingRange]], holidays: Set<CivilDate>) {
        precondition(week.count == 7, "a week has seven days")
        self.timeZoneIdentifier = timeZoneIdentifier
        self.week = week.map { $0.sorted { $0.startMinute < $1.startMinute } }
        self.holidays = holidays
    }

    /// Whether any weekday has a working range at all.
    public var hasWorkingTime: Bool { week.contains { !$0.isEmpty } }
}

/// A half-open range of local time of day, `[start, end)`, in minutes after midnight; `end` may be
/// 1440 (`24:00`).
public struct WorkingRange: Sendable, Hashable, CustomStringConvertible {
    public let startMinute: Int
    public let endMinute: Int

    public init?(startMinute: Int, endMinute: Int) {
        guard startMinute >= 0, endMinute <= 1440, startMinute < endMinute else { return nil }
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// Parses `"08:00-12:30"`; `24:00` is allowed as an end.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = WorkingRange.minutes(parts[0]), let b = WorkingRange.minutes(parts[1]) else {
            return nil
        }
        self.init(startMinute: a, endMinute: b)
    }

    static func minutes(_ text: Substring) -> Int? {
        let hm = text.trimmingSpaces.split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
            (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440
        else { return nil }
        return h * 60 + m
    }

    public var description: String {
        func f(_ m: Int) -> String { pad2(Int64(m / 60)) + ":" + pad2(Int64(m % 60)) }
        return f(startMinute) + "-" + f(endMinute)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
