/// What a policy says about the clock of the tickets it applies to, once its calendar is chosen.
public struct ClockPolicy: Sendable, Hashable {
    public let pauseStatuses: Set<String>
    public let stopStatuses: Set<String>
    /// Percentages of the target, ascending.
    public let warnAt: [Double]
    /// Microseconds past the deadline, ascending.
    public let escalateAfter: [Int64]
    // The same statuses as lists: a policy names a few, and comparing a few short strings is
    // cheaper than hashing one, several times per ticket.
    private let pauseList: [String]
    private let stopList: [String]

    public init(pauseStatuses: Set<String>, stopStatuses: Set<String>, warnAt: [Double], escalateAfter: [Int64]) {
        self.pauseStatuses = pauseStatuses
        self.stopStatuses = stopStatuses
        self.warnAt = warnAt.sorted()
        self.escalateAfter = escalateAfter.sorted()
        pauseList = pauseStatuses.sorted()
        stopList = stopStatuses.sorted()
    }

    /// Whether the clock pauses in `status`.
    public func pauses(_ status: String) -> Bool { pauseList.contains(status) }
    /// Whether the clock stops in `status`.
    public func stops(_ status: String) -> Bool { stopList.contains(status) }
}

/// The state of a ticket's clock at an instant.
public enum ClockState: String, Sendable, Hashable {
    case running, paused, stopped
}

/// `sla_status`, as the README's SLA semantics orders it.
public enum SLAStatus: String, Sendable, Hashable, CaseIterable {
    case paused, met, breached, at_risk, on_track
}

/// A level on the ticket's own clock: a warning percentage, the deadline, or an escalation step.
public struct Threshold: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case warning, breach, escalation }
    public let kind: Kind
    /// The percentage for a warning, 100 for the breach, the seconds past the deadline for an
    /// escalation step.
    public let level: Double
    /// The elapsed working time, in microseconds, at which the level is reached.
    public let elapsedMicros: Int64
    /// Whether the level has been crossed (`>=` for warnings and escalations; `>` for the breach).
    public let crossed: Bool
    /// When elapsed reached the level (past), or will if the clock runs from now on (future); nil
    /// when the calendar never reaches it.
    public let at: Instant?
}

/// One ticket's clock at an instant: the figures of the README's SLA semantics and the thresholds events are
/// emitted from.
public struct ClockReading: Sendable, Hashable {
    public let slaHours: Double
    public let targetMicros: Int64
    public let elapsedMicros: Int64
    public let state: ClockState
    public let dueAt: Instant?
    public let status: SLAStatus
    public let thresholds: [Threshold]
    /// When the ticket entered the stop status it is in now.
    public let stoppedSince: Instant?

    /// The next level this clock will cross if it keeps running: the instant a worker should look
    /// at the ticket again. Nil when it is not running or has crossed every level.
    public var nextCrossing: Instant? {
        guard state == .running else { return nil }
        return thresholds.filter { !$0.crossed }.compactMap(\.at).min()
    }

    /// When the ticket is (or will be, if it keeps running) at risk or worse: the highest warning
    /// level, or the deadline when the policy has no warning. Nil when stopped, or paused before it.
    public var riskFrom: Instant? {
        guard state != .stopped else { return nil }
        let level = thresholds.filter { $0.kind == .warning }.last ?? thresholds.first { $0.kind == .breach }
        guard let level else { return nil }
        if level.crossed { return level.at }
        return state == .running ? level.at : nil
    }

    /// `sla_horas − elapsed`, in hours; negative when overdue.
    public var hoursRemaining: Double { Double(targetMicros - elapsedMicros) / 3_600_000_000 }
    public var elapsedHours: Double { Double(elapsedMicros) / 3_600_000_000 }
    /// `vencido`.
    public var isOverdue: Bool { elapsedMicros > targetMicros }
}

/// Computes a ticket's SLA clock from its own history only.
///
/// The clock counts the calendar's working time from `createdAt` up to `now`, leaving out the time
/// spent in pause and stop statuses; a ticket that leaves a stop status resumes where it stopped.
/// A ticket created after `now` has counted nothing yet.
public enum SLAClock {
    public static func evaluate(
        history: StatusHistory, targetHours: Double, policy: ClockPolicy, timeline: WorkingTimeline, now: Instant
    ) -> ClockReading {
        let target = microseconds(hours: targetHours)
        // The running spans within [createdAt, now).
        var running: [(start: Instant, end: Instant)] = []
        var elapsed: Int64 = 0
        var currentStatus: String? = nil
        var stoppedSince: Instant? = nil
        // The start of the latest unbroken run of stop statuses: a ticket moved from RESUELTO to
        // CERRADO, or written CERRADO twice, has been stopped since the first of them.
        var stopRunStart: Instant? = nil
        for span in history.spans {
            if let s = span.status, policy.stops(s) {
                if stopRunStart == nil { stopRunStart = span.start }
            } else {
                stopRunStart = nil
            }
            if span.start <= now && now < span.end {
                currentStatus = span.status
                stoppedSince = stopRunStart
            }
            if let s = span.status, policy.pauses(s) || policy.stops(s) { continue }
            let start = max(span.start, history.createdAt)
            let end = min(span.end, now)
            guard start < end else { continue }
            running.append((start, end))
            elapsed += timeline.workingTime(from: start, to: end)
        }
        let state: ClockState
        if let s = currentStatus, policy.pauses(s) {
            state = .paused
        } else if let s = currentStatus, policy.stops(s) {
            state = .stopped
        } else {
            state = .running
        }
        if state != .stopped { stoppedSince = nil }
        let resumeFrom = max(now, history.createdAt)

        /// The instant the elapsed time reaches `level`: in the past along the running spans, or
        /// ahead as if the clock ran from now on.
        func instant(reaching level: Int64) -> Instant? {
            if level > elapsed || (level == elapsed && running.isEmpty) {
                return timeline.instant(after: resumeFrom, adding: level - elapsed)
            }
            var counted: Int64 = 0
            for span in running {
                let w = timeline.workingTime(from: span.start, to: span.end)
                if counted + w >= level { return timeline.instant(after: span.start, adding: level - counted) }
                counted += w
            }
            return timeline.instant(after: resumeFrom, adding: level - elapsed)
        }

        var thresholds: [Threshold] = []
        thresholds.reserveCapacity(policy.warnAt.count + 1 + policy.escalateAfter.count)
        for percent in policy.warnAt {
            let level = Int64((Double(target) * percent / 100).rounded(.up))
            thresholds.append(
                Threshold(
                    kind: .warning, level: percent, elapsedMicros: level, crossed: elapsed >= level,
                    at: instant(reaching: level)))
        }
        let dueAt = instant(reaching: target)
        thresholds.append(
            Threshold(kind: .breach, level: 100, elapsedMicros: target, crossed: elapsed > target, at: dueAt))
        for step in policy.escalateAfter {
            let level = target + step
            thresholds.append(
                Threshold(
                    kind: .escalation, level: Double(step) / 1_000_000, elapsedMicros: level, crossed: elapsed >= level,
                    at: instant(reaching: level)))
        }

        let status: SLAStatus
        if state == .paused {
            status = .paused
        } else if state == .stopped && elapsed <= target {
            status = .met
        } else if elapsed > target {
            status = .breached
        } else if let highest = policy.warnAt.last, elapsed >= Int64((Double(target) * highest / 100).rounded(.up)) {
            status = .at_risk
        } else {
            status = .on_track
        }
        return ClockReading(
            slaHours: targetHours, targetMicros: target, elapsedMicros: elapsed, state: state, dueAt: dueAt,
            status: status, thresholds: thresholds, stoppedSince: stoppedSince)
    }

    /// Hours as whole microseconds, rounded to the nearest.
    public static func microseconds(hours: Double) -> Int64 { Int64((hours * 3_600_000_000).rounded()) }
}
