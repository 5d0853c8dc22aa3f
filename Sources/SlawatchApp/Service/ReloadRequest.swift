import Synchronization

/// Asks the services of a group to read their configuration again (SIGHUP), and lets them wait
/// for it. Requests are counted: a service remembers the count it last acted on and sees every
/// later request, however many arrived meanwhile, as one; a request made while it was busy is
/// not lost.
public final class ReloadRequest: Sendable {
    private let signal = CountedSignal()

    public init() {}

    /// How many reloads have been requested so far.
    public var count: Int { signal.count }

    /// Asks for a reload and wakes everything waiting for one.
    public func request() { signal.request() }

    /// Returns once more than `seen` reloads have been requested (at once if they already were),
    /// or when the calling task is cancelled.
    public func wait(beyond seen: Int) async { await signal.wait(beyond: seen) }
}
