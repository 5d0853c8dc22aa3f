/// When an evaluating worker's cycle is a full pass, and otherwise how far back an incremental
/// cycle looks (README, The worker).
///
/// A cycle is a full pass when there is no stored state, always with `--full` or `--dry-run`, when
/// `--now` is earlier than the last full pass, once `--full-every` has passed since the last one,
/// and when a report is due; otherwise it is incremental. `--full-every auto` is
/// ``fullPassCost`` times as long as the last full pass took, at most ``fullEveryAtMost``, and 0
/// (every cycle) when that pass took less than ``alwaysFullBelow``.
public struct FullPassSchedule: Sendable, Hashable {
    /// `--full-every` in microseconds; nil for `auto`.
    public var fullEvery: Int64?
    /// `--full`: every cycle is a full pass.
    public var alwaysFull: Bool
    /// `--dry-run`: every cycle is a full pass.
    public var dryRun: Bool

    /// `auto` repeats a full pass at least once an hour.
    public static let fullEveryAtMost: Int64 = 3_600_000_000
    /// A full pass is repeated once this many times its own duration has passed, so that full
    /// passes take about 1 % of an evaluating worker's time: a million tickets are evaluated in
    /// full every few minutes.
    public static let fullPassCost = 100.0
    /// A help desk whose full pass takes less than this (microseconds) is evaluated in full every
    /// cycle: there is nothing worth saving, and every cycle then sees every change.
    public static let alwaysFullBelow: Int64 = 200_000
    /// How far back an incremental cycle looks before its previous one (microseconds), for
    /// transactions that commit after a cycle but carry an earlier `updated_at`.
    public static let overlap: Int64 = 600_000_000

    public init(fullEvery: Int64?, alwaysFull: Bool, dryRun: Bool) {
        self.fullEvery = fullEvery
        self.alwaysFull = alwaysFull
        self.dryRun = dryRun
    }

    /// How long after a full pass the next one is due, given how long that pass took (nil when it
    /// was not recorded: counted as ``fullEveryAtMost``; a negative one as 0).
    public func interval(afterPassOf lastDuration: Int64?) -> Int64 {
        if let fullEvery { return fullEvery }
        let duration = min(max(lastDuration ?? Self.fullEveryAtMost, 0), Self.fullEveryAtMost)
        if duration < Self.alwaysFullBelow { return 0 }
        return min(Self.fullEveryAtMost, Int64(Double(duration) * Self.fullPassCost))
    }

    /// The kind of the cycle at `now`, from the worker's stored state: when the last full pass
    /// ran (`lastFull`), how long it took (`lastDuration`), and when the last cycle ran (`lastSeen`,
    /// the last full pass when nil). `reportDue` is asked only when the cycle would otherwise be
    /// incremental.
    public func kind(
        now: Instant, lastFull: Instant?, lastDuration: Int64?, lastSeen: Instant?, reportDue: () throws -> Bool
    ) rethrows -> CycleKind {
        if dryRun { return .full(.dryRun) }
        if alwaysFull { return .full(.requested) }
        guard let lastFull else { return .full(.noStoredState) }
        if now < lastFull { return .full(.beforeLastFullPass) }
        if now - lastFull >= interval(afterPassOf: lastDuration) { return .full(.interval) }
        if try reportDue() { return .full(.reportDue) }
        return .incremental(since: (lastSeen ?? lastFull) + (-Self.overlap))
    }
}
