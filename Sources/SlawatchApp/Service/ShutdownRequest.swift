import Synchronization

/// A one-way flag that asks the services of a group to stop gracefully, and lets them wait for
/// it: once requested it stays requested, and everything waiting on it wakes up.
public final class ShutdownRequest: Sendable {
    private struct State {
        var requested = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose task was cancelled before they registered.
        var cancelled: Set<Int> = []
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var isRequested: Bool { state.withLock { $0.requested } }

    /// Asks for a graceful stop. Calling it again changes nothing.
    public func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once a stop is requested (at once if it already was), or when the calling task is
    /// cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int? in
            guard !state.requested else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.requested || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if !state.requested { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }

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
