import Foundation
import SlawatchCore

/// The instants a worker's sends are stamped and timed with: the wall clock, or, when `--now` fixed
/// the worker's instant, the wall clock shifted so that it read `--now` when sending began (a test
/// then sees every attempt at `--now` plus the real time the sends took so far, so backoffs,
/// `Retry-After` and `webhook-timestamp` keep their real spacing around the instant it chose).
struct SendClock: Sendable {
    /// Added to the wall clock, in microseconds; 0 without `--now`.
    let offsetMicros: Int64

    /// A clock that reads `start` now.
    init(startingAt start: Instant) {
        offsetMicros = start.microseconds - Instant.wallNow().microseconds
    }

    static let wall = SendClock(offsetMicros: 0)

    private init(offsetMicros: Int64) { self.offsetMicros = offsetMicros }

    func now() -> Instant { instant(Date()) }

    /// The instant of a moment of the wall clock.
    func instant(_ date: Date) -> Instant { Instant(microseconds: Instant(date).microseconds + offsetMicros) }
}
