/// A point in time: whole microseconds since 1970-01-01T00:00:00Z (PostgreSQL's own precision).
///
/// All SLA arithmetic is done on these integers, so that sums of working time are exact and a
/// result never depends on floating-point rounding.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(seconds: Int64) { microseconds = seconds * 1_000_000 }

    public static func < (a: Instant, b: Instant) -> Bool { a.microseconds < b.microseconds }
    public static func + (a: Instant, micros: Int64) -> Instant { Instant(microseconds: a.microseconds + micros) }
    public static func - (a: Instant, b: Instant) -> Int64 { a.microseconds - b.microseconds }

    /// Whole seconds since the epoch, rounded down.
    public var seconds: Int64 { floorDiv(microseconds, 1_000_000) }

    public static let distantFuture = Instant(microseconds: Int64.max / 4)
    public static let distantPast = Instant(microseconds: Int64.min / 4)

    /// ISO 8601 in UTC with a `Z`: `2026-03-24T10:30:00Z`; a fraction only when there is one.
    public var iso8601: String {
        let secs = seconds
        let frac = microseconds - secs * 1_000_000
        let day = floorDiv(secs, 86_400)
        let sod = secs - day * 86_400
        let date = CivilDate(daysSinceEpoch: day)
        if (0...9999).contains(date.year) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(27)
            appendISO8601(to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        var text = date.description + "T" + pad2(sod / 3600) + ":" + pad2(sod / 60 % 60) + ":" + pad2(sod % 60)
        if frac != 0 {
            var f = String(frac)
            f = String(repeating: "0", count: 6 - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            text += "." + f
        }
        return text + "Z"
    }

    public var description: String { iso8601 }

    /// `iso8601`'s text appended as UTF-8: written byte by byte for years 0 to 9999 (every row of a
    /// dashboard has one, and small strings concatenated one by one cost more than the rest of the row).
    public func appendISO8601(to bytes: inout [UInt8]) {
        let secs = seconds
        let frac = microseconds - secs * 1_000_000
        let day = floorDiv(secs, 86_400)
        let sod = secs - day * 86_400
        let date = CivilDate(daysSinceEpoch: day)
        guard (0...9999).contains(date.year) else {
            bytes.append(contentsOf: iso8601.utf8)
            return
        }
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int64(date.year), 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int64(date.month), 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int64(date.day), 2)
        bytes.append(UInt8(ascii: "T"))
        digits(sod / 3600, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(sod / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":"))
        digits(sod % 60, 2)
        if frac != 0 {
            // Six digits without their trailing zeros.
            var places = 6
            var f = frac
            while f % 10 == 0 {
                f /= 10
                places -= 1
            }
            bytes.append(UInt8(ascii: "."))
            digits(f, places)
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Parses ISO 8601 / RFC 3339: `2026-03-24T10:30:00Z`, `2026-03-24T10:30:00.5-05:00`,
    /// `2026-03-24 10:30:00+00`, or a bare date (midnight UTC). Returns nil for anything else.
    public init?(iso8601 text: String) {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2),
            let date = CivilDate(year: Int(y), month: Int(mo), day: Int(d))
        else { return nil }
        var micros = date.daysSinceEpoch * 86_400_000_000
        if i == b.count {
            self.init(microseconds: micros)
            return
        }
        guard b[i] == 84 || b[i] == 116 || b[i] == 32 else { return nil }
        i += 1
        guard let h = digits(2), expect(58), let mi = digits(2), h < 24, mi < 60 else { return nil }
        var s: Int64 = 0
        if expect(58) {
            guard let sec = digits(2), sec < 61 else { return nil }
            s = sec
        }
        micros += ((h * 60 + mi) * 60 + s) * 1_000_000
        if expect(46) {
            var scale: Int64 = 100_000
            var any = false
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                micros += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
                any = true
            }
            guard any else { return nil }
        }
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign: Int64 = b[i] == 43 ? 1 : -1
            i += 1
            guard let oh = digits(2) else { return nil }
            var om: Int64 = 0
            if expect(58) {
                guard let m = digits(2) else { return nil }
                om = m
            } else if let m = digits(2) {
                om = m
            }
            micros -= sign * (oh * 60 + om) * 60_000_000
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        self.init(microseconds: micros)
    }
}

@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

func pad2(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
