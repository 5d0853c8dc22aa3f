import Synchronization

/// A count of requests that tasks can wait on: `request()` adds one and wakes every waiter;
/// `wait(beyond:)` returns once the count passes what the caller has seen, or when its task is
/// cancelled. The shared mechanism of `ShutdownRequest` and `ReloadRequest`.
final class CountedSignal: Sendable {
    private struct State {
        var count = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose task was cancelled before they registered.
        var cancelled: Set<Int> = []
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.count } }

    func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait(beyond seen: Int) async {
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
                if state.count <= seen { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}
