/// Durations as written in rules: `30s`, `90m`, `4h`, `1d`, `1h30m`, `250ms`.
public enum DurationText {
    /// The longest duration accepted: a hundred years, far beyond any SLA, far below Int64 overflow.
    public static let maximumMicros: Int64 = 100 * 366 * 86_400_000_000

    /// Microseconds, or nil when the text is not a duration (or is longer than a hundred years).
    public static func microseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000), ("d", 86_400_000_000), ("w", 604_800_000_000)]
        var rest = Substring(text.trimmingSpaces)
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number), value >= 0 else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isLetter }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            let part = (value * Double(unit.1)).rounded()
            guard part <= Double(maximumMicros) else { return nil }
            total += Int64(part)
            guard total <= maximumMicros else { return nil }
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
