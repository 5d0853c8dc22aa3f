import SlawatchCore
import Testing

/// `Instant.iso8601` writes years 0 to 9999 as bytes: the same text as the date's and the time's parts
/// written one by one, and it reads back to the same instant.
@Suite struct InstantTextTests {
    static func reference(_ i: Instant) -> String {
        let secs = i.seconds
        let frac = i.microseconds - secs * 1_000_000
        let day = secs >= 0 ? secs / 86_400 : -((-secs + 86_399) / 86_400)
        let sod = secs - day * 86_400
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = CivilDate(daysSinceEpoch: day).description + "T" + pad(sod / 3600) + ":" + pad(sod / 60 % 60) + ":"
            + pad(sod % 60)
        if frac != 0 {
            var f = String(frac)
            f = String(repeating: "0", count: 6 - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            text += "." + f
        }
        return text + "Z"
    }

    @Test func theBytesAreTheText() {
        var generator = SystemRandomNumberGenerator()
        let first = Instant(iso8601: "0000-01-01T00:00:00Z")!.microseconds
        let last = Instant(iso8601: "9999-12-31T23:59:59.999999Z")!.microseconds
        var instants = [first, last, 0, -1, 1, 10, 500_000, 1_774_348_200_000_000, 1_774_348_200_000_010]
        for _ in 0..<20_000 {
            var micros = Int64.random(in: first...last, using: &generator)
            // Whole seconds and round fractions too, not only six digits.
            switch micros % 3 {
            case 0: micros -= micros % 1_000_000
            case 1: micros -= micros % 1_000
            default: break
            }
            instants.append(micros)
        }
        for micros in instants {
            let instant = Instant(microseconds: micros)
            #expect(instant.iso8601 == Self.reference(instant), "\(micros)")
            #expect(Instant(iso8601: instant.iso8601) == instant, "\(micros)")
        }
    }
}
