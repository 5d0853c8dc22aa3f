/// What an evaluating worker's cycle does: evaluate every ticket, or only those that changed or
/// are due (README, The worker).
public enum CycleKind: Sendable, Hashable {
    /// Every ticket is evaluated, for the reason given.
    case full(FullPassReason)
    /// The tickets updated after `since` (the previous cycle less the overlap) and those whose next
    /// crossing is due.
    case incremental(since: Instant)

    public var isFull: Bool {
        if case .full = self { return true }
        return false
    }

    /// Where an incremental cycle looks from; nil for a full pass.
    public var since: Instant? {
        if case .incremental(let since) = self { return since }
        return nil
    }
}

/// Why a cycle is a full pass.
public enum FullPassReason: Sendable, Hashable {
    /// No full pass was recorded yet: nothing is stored to be incremental from.
    case noStoredState
    /// `run --full`: every cycle is a full pass.
    case requested
    /// `run --dry-run`: a dry run writes nothing, so it has no stored state to rely on.
    case dryRun
    /// `--now` is earlier than the last full pass: what was stored since may be from its future.
    case beforeLastFullPass
    /// `--full-every` has passed since the last full pass (always, when that interval is 0).
    case interval
    /// A report is due: it counts every ticket.
    case reportDue
}
