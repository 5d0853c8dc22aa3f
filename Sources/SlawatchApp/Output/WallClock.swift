import Foundation
import SlawatchCore

extension Instant {
    /// A moment of the wall clock, to the microsecond (truncated, as PostgreSQL stores it).
    init(_ date: Date) { self.init(microseconds: Int64(date.timeIntervalSince1970 * 1_000_000)) }

    /// Now, by the wall clock.
    static func wallNow() -> Instant { Instant(Date()) }
}
