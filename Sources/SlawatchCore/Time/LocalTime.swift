import Foundation

/// Instants written in the wall-clock time of an IANA zone, with the offset in force at that
/// instant (so a time after a daylight-saving change carries the new offset).
///
/// Keeps the zones it has looked up; not `Sendable`, one per use.
public final class LocalTime {
    private var zones: [String: TimeZone] = [:]

    public init() {}

    /// `2026-03-24T10:00:00-05:00`; in UTC (`Z`) when `zoneIdentifier` is nil or unknown.
    public func iso8601(_ instant: Instant, zoneIdentifier: String?) -> String {
        guard let id = zoneIdentifier, let zone = zone(id) else { return instant.iso8601 }
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.seconds))))
        let utc = Instant(microseconds: instant.microseconds + offset * 1_000_000).iso8601
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset)
        return String(utc.dropLast()) + sign + pad2(a / 3600) + ":" + pad2(a / 60 % 60)
    }

    /// The zone a calendar's local time is read in: its own, or nil for a 24x7 calendar.
    public static func zoneIdentifier(of calendar: WorkCalendar) -> String? {
        if case .businessHours(let hours) = calendar { return hours.timeZoneIdentifier }
        return nil
    }

    private func zone(_ id: String) -> TimeZone? {
        if let z = zones[id] { return z }
        guard let z = TimeZone(identifier: id) else { return nil }
        zones[id] = z
        return z
    }
}

@available(*, unavailable)
extension LocalTime: Sendable {}
