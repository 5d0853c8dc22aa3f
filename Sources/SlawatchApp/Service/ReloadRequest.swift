import Synchronization

/// Asks the services of a group to read their configuration again (SIGHUP), and lets them wait
/// for it. Requests are counted: a service remembers the count it last acted on and sees every
/// later request, however many arrived meanwhile, as one; a request made while it was busy is
/// not lost.
public final class ReloadRequest: Sendable {
    private struct State {
        var count = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose task was cancelled before they registered.
        var cancelled: Set<Int> = []
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// How many reloads have been requested so far.
    public var count: Int { state.withLock { $0.count } }

    /// Asks for a reload and wakes everything waiting for one.
    public func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once more than `seen` reloads have been requested (at once if they already were),
    /// or when the calling task is cancelled.
    public func wait(beyond seen: Int) async {
        let id = state.withLock { state -> Int? in
            guard state.count <= seen else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count > seen || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
