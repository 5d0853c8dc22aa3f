/// Durations as written in rules: `30s`, `90m`, `4h`, `1d`, `1h30m`, `250ms`.
public enum DurationText {
    /// The longest duration accepted: a hundred years, far beyond any SLA, far below Int64 overflow.
    public static let maximumMicros: Int64 = 100 * 366 * 86_400_000_000

    /// Why a text is not a duration, and where.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// 1-based position of the character where the text goes wrong (one past its end when it ends too soon).
        public let position: Int
        public let reason: String
        /// The whole text, as given.
        public let text: String
        public var description: String { "\(ErrorText.quoted(text)): at character \(position): \(reason)" }
    }

    /// The units a duration may use, in the order messages list them.
    static let units: [(name: String, micros: Int64)] = [
        ("ms", 1_000), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000), ("d", 86_400_000_000),
        ("w", 604_800_000_000),
    ]

    /// Microseconds, or nil when the text is not a duration (or is longer than a hundred years).
    public static func microseconds(_ text: String) -> Int64? { try? parse(text) }

    /// Microseconds; a text that is not a duration (or is longer than a hundred years) is an error
    /// saying at which character it goes wrong.
    public static func parse(_ text: String) throws(ParseError) -> Int64 {
        // Spaces around the duration are fine; positions count from the start of the text as given.
        let leading = text.prefix { $0 == " " }.count
        var rest = Substring(text.trimmingSpaces)
        var position = leading + 1
        func fail(_ reason: String, at: Int? = nil) -> ParseError {
            ParseError(position: at ?? position, reason: reason, text: text)
        }
        let unitNames = units.map(\.name).joined(separator: ", ")
        guard !rest.isEmpty else { throw fail("expected a number and a unit (\(unitNames)), found nothing") }
        var total: Int64 = 0
        while !rest.isEmpty {
            let start = position
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty else {
                throw fail("expected a number, found \(ErrorText.quoted(String(rest.prefix(1))))")
            }
            guard let value = Double(number), value >= 0 else {
                throw fail("\(ErrorText.quoted(String(number))) is not a number")
            }
            position += number.count
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isLetter }
            guard let unit = units.first(where: { $0.name == unitText }) else {
                let found =
                    unitText.isEmpty
                    ? (rest.first.map { ErrorText.quoted(String($0)) } ?? "the end")
                    : ErrorText.quoted(String(unitText))
                throw fail("expected a unit (\(unitNames)) after \(number), found \(found)")
            }
            let part = (value * Double(unit.micros)).rounded()
            guard part <= Double(maximumMicros) else {
                throw fail("\(number)\(unit.name) is longer than a hundred years", at: start)
            }
            total += Int64(part)
            guard total <= maximumMicros else { throw fail("the duration is longer than a hundred years", at: start) }
            position += unitText.count
            rest = rest.dropFirst(unitText.count)
        }
        return total
    }

    /// `1h30m`, `45s`, `2d4h`: the shortest text for a duration.
    public static func format(_ micros: Int64) -> String {
        if micros == 0 { return "0s" }
        var rest = micros / 1_000_000
        var text = micros < 0 ? "-" : ""
        rest = abs(rest)
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text.isEmpty || text == "-" ? "\(micros / 1000)ms" : text
    }
}

extension String {
    var trimmingSpaces: String {
        String(Substring(self).trimmingSpaces)
    }
}
