import Glibc
import Synchronization

/// The only state shared between callers and a worker thread: a queue of jobs and a stop flag behind a
/// mutex, and the doorbell that tells the worker to look at them.
final class WorkerInbox<Job: Sendable>: Sendable {
    private struct State {
        var jobs: [Job] = []
        var stopping = false
    }

    let doorbell: Doorbell
    private let state = Mutex(State())

    init() throws(TransportError) {
        doorbell = try Doorbell()
    }

    /// False once the worker has been told to stop: the caller must answer the job itself.
    func submit(_ job: Job) -> Bool {
        let accepted = state.withLock { state in
            guard !state.stopping else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { doorbell.ring() }
        return accepted
    }

    func take() -> (jobs: [Job], stopping: Bool) {
        state.withLock { state in
            defer { state.jobs = [] }
            return (state.jobs, state.stopping)
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        doorbell.ring()
    }
}
