/// How a ticket's clock came to its figures, for people checking it by hand: the working
/// intervals that were counted, the spans left out because of a pause or stop status, and the
/// holidays that fell inside the ticket's life.
public struct ClockExplanation: Sendable {
    public struct Span: Sendable, Hashable {
        public let start: Instant
        public let end: Instant
        public let status: String?
    }
    public let counted: [(start: Instant, end: Instant)]
    public let halted: [Span]
    public let holidays: [CivilDate]

    public init(history: StatusHistory, policy: ClockPolicy, timeline: WorkingTimeline, now: Instant) {
        var counted: [(Instant, Instant)] = []
        var halted: [Span] = []
        for span in history.spans {
            let start = max(span.start, history.createdAt)
            let end = min(span.end, now)
            guard start < end else { continue }
            if let s = span.status, policy.pauseStatuses.contains(s) || policy.stopStatuses.contains(s) {
                halted.append(Span(start: start, end: end, status: s))
            } else {
                counted.append(contentsOf: timeline.intervals(from: start, to: end))
            }
        }
        self.counted = counted
        self.halted = halted
        holidays = timeline.holidays(from: history.createdAt, to: max(now, history.createdAt))
    }
}
