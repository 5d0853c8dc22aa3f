import Synchronization

/// A one-way flag that asks the services of a group to stop gracefully, and lets them wait for
/// it: once requested it stays requested, and everything waiting on it wakes up.
public final class ShutdownRequest: Sendable {
    /// Requested once its count is above zero; a second request changes nothing.
    private let signal = CountedSignal()

    public init() {}

    public var isRequested: Bool { signal.count > 0 }

    /// Asks for a graceful stop. Calling it again changes nothing.
    public func request() {
        if !isRequested { signal.request() }
    }

    /// Returns once a stop is requested (at once if it already was), or when the calling task is
    /// cancelled.
    public func wait() async { await signal.wait(beyond: 0) }

    /// Sleeps for `microseconds` or until a stop is requested, whichever comes first; says
    /// whether a stop was requested.
    @discardableResult
    public func sleep(microseconds: Int64) async -> Bool {
        guard microseconds > 0, !isRequested else { return isRequested }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await wait() }
            group.addTask { try? await Task.sleep(nanoseconds: UInt64(microseconds) * 1000) }
            await group.next()
            group.cancelAll()
        }
        return isRequested
    }
}
