/// A standard 5-field cron expression: minute, hour, day of month, month, day of week, with
/// lists, ranges, steps, `*`, and English names of months and days (`JAN`, `MON`).
///
/// As in Vixie cron, when both day of month and day of week are restricted, a day matches when
/// either does.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    public let daysOfWeek: Set<Int>
    let domRestricted: Bool
    let dowRestricted: Bool
    public let description: String

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(ParseError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(
                description:
                    "expected 5 cron fields (minute hour day-of-month month day-of-week), found \(fields.count) in "
                    + ErrorText.quoted(text))
        }
        let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        minutes = try Self.field(fields[0], "minute", 0...59, names: [:])
        hours = try Self.field(fields[1], "hour", 0...23, names: [:])
        daysOfMonth = try Self.field(fields[2], "day of month", 1...31, names: [:])
        months = try Self.field(
            fields[3], "month", 1...12,
            names: Dictionary(uniqueKeysWithValues: monthNames.enumerated().map { ($1, $0 + 1) }))
        let dow = try Self.field(
            fields[4], "day of week", 0...7,
            names: Dictionary(uniqueKeysWithValues: dayNames.enumerated().map { ($1, $0) }))
        daysOfWeek = Set(dow.map { $0 % 7 })
        domRestricted = !fields[2].hasPrefix("*")
        dowRestricted = !fields[4].hasPrefix("*")
        description = fields.joined(separator: " ")
    }

    /// Whether a local date and time of day matches.
    public func matches(date: CivilDate, hour: Int, minute: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(date.month) else { return false }
        let sundayBased = (date.weekdayIndex + 1) % 7
        let domOK = daysOfMonth.contains(date.day)
        let dowOK = daysOfWeek.contains(sundayBased)
        if domRestricted && dowRestricted { return domOK || dowOK }
        return domOK && dowOK
    }

    /// Whether a local date has any matching time.
    public func matchesDay(_ date: CivilDate) -> Bool {
        guard months.contains(date.month) else { return false }
        let sundayBased = (date.weekdayIndex + 1) % 7
        let domOK = daysOfMonth.contains(date.day)
        let dowOK = daysOfWeek.contains(sundayBased)
        if domRestricted && dowRestricted { return domOK || dowOK }
        return domOK && dowOK
    }

    private static func field(_ text: String, _ name: String, _ bounds: ClosedRange<Int>, names: [String: Int])
        throws(ParseError) -> Set<Int>
    {
        func value(_ s: Substring) throws(ParseError) -> Int {
            if let n = Int(s), bounds.contains(n) { return n }
            if let n = names[s.uppercased()] { return n }
            throw ParseError(
                description: "\(name) field \(ErrorText.quoted(text)): \(ErrorText.quoted(String(s))) "
                    + "is not a valid \(name) (\(bounds.lowerBound)-\(bounds.upperBound)\(names.isEmpty ? "" : " or a name"))"
            )
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else {
                throw ParseError(description: "\(name) field \(ErrorText.quoted(text)) is not valid")
            }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else {
                    throw ParseError(
                        description:
                            "\(name) field \(ErrorText.quoted(text)): step \(ErrorText.quoted(String(pieces[1]))) "
                            + "must be a positive number")
                }
                step = s
            }
            var low = bounds.lowerBound
            var high = bounds.upperBound
            if pieces[0] != "*" {
                let range = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard range.count <= 2 else {
                    throw ParseError(description: "\(name) field \(ErrorText.quoted(text)) is not valid")
                }
                low = try value(range[0])
                high = range.count == 2 ? try value(range[1]) : (pieces.count == 2 ? bounds.upperBound : low)
                guard low <= high else {
                    throw ParseError(
                        description: "\(name) field \(ErrorText.quoted(text)): range \(low)-\(high) is inverted")
                }
            }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }
}
