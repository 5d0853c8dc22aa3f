/// One row of a ticket's status history: `status` holds from `at` until the next change.
public struct StatusChange: Sendable, Hashable {
    public var status: String
    public var at: Instant
    public init(status: String, at: Instant) {
        self.status = status
        self.at = at
    }
}

/// A span of a ticket's life in one status; `status` is nil before the first known status
/// (the clock runs then).
public struct StatusSpan: Sendable, Hashable {
    public var start: Instant
    public var end: Instant
    public var status: String?
}

/// What the clock needs to know about one ticket's life: when it was created and which status it
/// held when.
///
/// The history is taken as the source says: each change holds until the next; before the first
/// change the clock runs. A ticket without any change is taken to have held its current status
/// since `updatedAt`. When the latest change disagrees with the current status, the current status
/// is taken to hold from the later of that change and `updatedAt`. Changes are ordered by instant;
/// several at the same instant are ordered by status name, so the result never depends on the
/// order rows arrive in, and all but the last of them last no time at all.
public struct StatusHistory: Sendable, Hashable {
    public let createdAt: Instant
    public let updatedAt: Instant
    public let currentStatus: String
    public let changes: [StatusChange]

    public init(createdAt: Instant, updatedAt: Instant, currentStatus: String, changes: [StatusChange]) {
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.currentStatus = currentStatus
        var sorted = changes
        if !Self.isOrdered(sorted) {
            sorted.sort { ($0.at, $0.status) < ($1.at, $1.status) }
        }
        if let last = sorted.last, last.status != currentStatus {
            sorted.append(StatusChange(status: currentStatus, at: max(last.at, updatedAt)))
        } else if sorted.isEmpty {
            sorted.append(StatusChange(status: currentStatus, at: updatedAt))
        }
        self.changes = sorted
    }

    private static func isOrdered(_ changes: [StatusChange]) -> Bool {
        var i = 1
        while i < changes.count {
            if (changes[i].at, changes[i].status) < (changes[i - 1].at, changes[i - 1].status) { return false }
            i += 1
        }
        return true
    }

    /// The spans of the ticket's life, from the distant past to the distant future.
    public var spans: [StatusSpan] {
        var result: [StatusSpan] = []
        result.reserveCapacity(changes.count + 1)
        var start = Instant.distantPast
        var status: String? = nil
        // Spans that last no time are left out.
        for change in changes {
            if change.at > start { result.append(StatusSpan(start: start, end: change.at, status: status)) }
            start = max(start, change.at)
            status = change.status
        }
        if Instant.distantFuture > start {
            result.append(StatusSpan(start: start, end: .distantFuture, status: status))
        }
        return result
    }

    /// The status holding at `instant` (nil: before any known status).
    public func status(at instant: Instant) -> String? {
        var status: String? = nil
        for change in changes where change.at <= instant { status = change.status }
        return status
    }
}
