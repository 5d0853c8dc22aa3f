import SlawatchCore
import Testing

// Whether a worker's cycle is a full pass or incremental (README, The worker): stored state,
// `--full`, `--dry-run`, `--now` before the last full pass, `--full-every` (auto: 100 times the
// last pass, at most an hour, every cycle below 0.2 s), a due report, and the overlap look-back.

private let second: Int64 = 1_000_000
private let minute: Int64 = 60 * second
private let hour: Int64 = 60 * minute

private struct Failure: Error {}

@Suite struct FullPassScheduleTests {
    static let lastFull = Instant(seconds: 1_774_340_000)
    static let auto = FullPassSchedule(fullEvery: nil, alwaysFull: false, dryRun: false)

    /// The kind at `lastFull + after`, with the last pass's duration and no report due.
    static func kind(
        _ schedule: FullPassSchedule = auto, after: Int64, lastDuration: Int64?, lastSeen: Instant? = nil,
        reportDue: Bool = false
    ) -> CycleKind {
        schedule.kind(now: lastFull + after, lastFull: lastFull, lastDuration: lastDuration, lastSeen: lastSeen) {
            reportDue
        }
    }

    @Test func autoIsAHundredTimesTheLastPassAtMostAnHourAndZeroBelowAFifthOfASecond() {
        #expect(Self.auto.interval(afterPassOf: 30 * second) == 50 * minute)
        #expect(Self.auto.interval(afterPassOf: 3 * second) == 5 * minute)
        #expect(Self.auto.interval(afterPassOf: 36 * second) == hour)
        #expect(Self.auto.interval(afterPassOf: 37 * second) == hour)
        #expect(Self.auto.interval(afterPassOf: 2 * hour) == hour)
        #expect(Self.auto.interval(afterPassOf: nil) == hour)
        #expect(Self.auto.interval(afterPassOf: 200_000) == 20 * second)
        #expect(Self.auto.interval(afterPassOf: 199_999) == 0)
        #expect(Self.auto.interval(afterPassOf: 0) == 0)
        #expect(Self.auto.interval(afterPassOf: -5 * second) == 0)
        let explicit = FullPassSchedule(fullEvery: 10 * minute, alwaysFull: false, dryRun: false)
        #expect(explicit.interval(afterPassOf: 199_999) == 10 * minute)
        #expect(explicit.interval(afterPassOf: 2 * hour) == 10 * minute)
    }

    @Test func aThirtySecondPassIsRepeatedAfterFiftyMinutes() {
        let lastSeen = Self.lastFull + 49 * minute
        #expect(
            Self.kind(after: 49 * minute + 59 * second, lastDuration: 30 * second, lastSeen: lastSeen)
                == .incremental(since: lastSeen + (-10 * minute)))
        #expect(Self.kind(after: 50 * minute - 1, lastDuration: 30 * second).isFull == false)
        #expect(Self.kind(after: 50 * minute, lastDuration: 30 * second) == .full(.interval))
        #expect(Self.kind(after: 50 * minute + second, lastDuration: 30 * second) == .full(.interval))
    }

    @Test func aPassOfAFifthOfASecondOrMoreAllowsIncrementalCycles() {
        #expect(
            Self.kind(after: 19 * second, lastDuration: 200_000) == .incremental(since: Self.lastFull + (-10 * minute)))
        #expect(Self.kind(after: 20 * second, lastDuration: 200_000) == .full(.interval))
        // Below it every cycle is full, even one at the very instant of the last pass.
        #expect(Self.kind(after: 0, lastDuration: 199_999) == .full(.interval))
        #expect(Self.kind(after: second, lastDuration: 199_999) == .full(.interval))
    }

    @Test func anUnrecordedDurationCountsAsAnHour() {
        #expect(Self.kind(after: hour - 1, lastDuration: nil).isFull == false)
        #expect(Self.kind(after: hour, lastDuration: nil) == .full(.interval))
    }

    @Test func noStoredStateMeansAFullPass() {
        let kind = Self.auto.kind(now: Self.lastFull, lastFull: nil, lastDuration: 30 * second, lastSeen: Self.lastFull)
        {
            true
        }
        #expect(kind == .full(.noStoredState))
    }

    @Test func nowBeforeTheLastFullPassMeansAFullPass() {
        #expect(Self.kind(after: -1, lastDuration: 30 * second) == .full(.beforeLastFullPass))
        #expect(Self.kind(after: -hour, lastDuration: nil) == .full(.beforeLastFullPass))
        #expect(Self.kind(after: 0, lastDuration: 30 * second) == .incremental(since: Self.lastFull + (-10 * minute)))
    }

    @Test func fullAndDryRunAreAlwaysFullPasses() {
        let full = FullPassSchedule(fullEvery: nil, alwaysFull: true, dryRun: false)
        #expect(Self.kind(full, after: second, lastDuration: 30 * second) == .full(.requested))
        let dry = FullPassSchedule(fullEvery: hour, alwaysFull: false, dryRun: true)
        #expect(Self.kind(dry, after: second, lastDuration: 30 * second) == .full(.dryRun))
        #expect(
            dry.kind(now: Self.lastFull, lastFull: nil, lastDuration: nil, lastSeen: nil) { false } == .full(.dryRun))
        let both = FullPassSchedule(fullEvery: nil, alwaysFull: true, dryRun: true)
        #expect(Self.kind(both, after: 0, lastDuration: nil) == .full(.dryRun))
    }

    @Test func anExplicitFullEveryReplacesAuto() {
        let hourly = FullPassSchedule(fullEvery: hour, alwaysFull: false, dryRun: false)
        #expect(Self.kind(hourly, after: 59 * minute, lastDuration: 1000).isFull == false)
        #expect(Self.kind(hourly, after: hour, lastDuration: 1000) == .full(.interval))
        let every = FullPassSchedule(fullEvery: 0, alwaysFull: false, dryRun: false)
        #expect(Self.kind(every, after: 0, lastDuration: 30 * second) == .full(.interval))
    }

    @Test func aDueReportForcesAFullPassAndIsAskedOnlyWhenItDecides() throws {
        #expect(Self.kind(after: minute, lastDuration: 30 * second, reportDue: true) == .full(.reportDue))
        var asked = 0
        let full = Self.auto.kind(
            now: Self.lastFull + hour, lastFull: Self.lastFull, lastDuration: 30 * second, lastSeen: nil
        ) {
            asked += 1
            return true
        }
        #expect(full == .full(.interval))
        #expect(asked == 0)
        _ = Self.auto.kind(
            now: Self.lastFull + minute, lastFull: Self.lastFull, lastDuration: 30 * second, lastSeen: nil
        ) {
            asked += 1
            return false
        }
        #expect(asked == 1)
        #expect(throws: Failure.self) {
            try Self.auto.kind(
                now: Self.lastFull + minute, lastFull: Self.lastFull, lastDuration: 30 * second, lastSeen: nil
            ) {
                throw Failure()
            }
        }
    }

    @Test func anIncrementalCycleLooksTenMinutesBeforeThePreviousCycle() {
        let lastSeen = Self.lastFull + 7 * minute
        let kind = Self.kind(after: 8 * minute, lastDuration: 30 * second, lastSeen: lastSeen)
        #expect(kind.since == lastSeen + (-FullPassSchedule.overlap))
        #expect(FullPassSchedule.overlap == 10 * minute)
        #expect(Self.kind(after: 8 * minute, lastDuration: 30 * second).since == Self.lastFull + (-10 * minute))
        #expect(CycleKind.full(.interval).since == nil)
    }
}
