import Foundation
import SlawatchCore

/// The instants a worker's sends are stamped and timed with: the wall clock, shifted by the same
/// amount as the worker's first instant when `--now` fixed it (a test then sees every attempt at
/// `--now` plus the real time elapsed since the process started, so backoffs, `Retry-After` and
/// `webhook-timestamp` keep their real spacing around the instant it chose).
struct SendClock: Sendable {
    /// Added to the wall clock, in microseconds; 0 without `--now`.
    let offsetMicros: Int64

    /// A clock that reads `start` now.
    init(startingAt start: Instant) {
        offsetMicros = start.microseconds - Self.wallMicros(Date())
    }

    static let wall = SendClock(offsetMicros: 0)

    private init(offsetMicros: Int64) { self.offsetMicros = offsetMicros }

    func now() -> Instant { instant(Date()) }

    /// The instant of a moment of the wall clock.
    func instant(_ date: Date) -> Instant { Instant(microseconds: Self.wallMicros(date) + offsetMicros) }

    private static func wallMicros(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1_000_000) }
}
