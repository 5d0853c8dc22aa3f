import Dispatch
import Foundation
import Synchronization

/// A thread of the store's own that runs jobs one at a time, in the order they came, each with
/// the connection that lives on this thread.
///
/// The connection is a local variable of the thread's loop: no other thread can reach it, so it
/// is used by one thread at a time by construction, and libpq's blocking calls never occupy
/// Swift's cooperative pool. Callers only touch the queue (behind a mutex) and a semaphore.
final class StoreThread: Sendable {
    /// A job gets the thread's connection (nil until one is opened) and may open, replace or
    /// close it.
    typealias Job = @Sendable (inout StoreConnection?) -> Void

    private struct Queue {
        var jobs: [Job] = []
        var next = 0
        var stopping = false
    }

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)

    /// A full pass evaluates on this thread: give it the stack a main thread has.
    private static let stackSize = 8 << 20

    init() {
        let thread = Thread { [self] in
            Thread.current.name = "slawatch-db"
            self.loop()
        }
        thread.stackSize = Self.stackSize
        thread.start()
    }

    /// Queues `job`; false once the thread was told to stop (the caller answers the job itself).
    func submit(_ job: @escaping Job) -> Bool {
        let accepted = queue.withLock { queue in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    /// Lets the queued jobs finish, then closes the connection and ends the thread.
    func stop() {
        queue.withLock { $0.stopping = true }
        wake.signal()
    }

    private func loop() {
        var connection: StoreConnection?
        while true {
            wake.wait()
            let (job, stopping) = queue.withLock { queue -> (Job?, Bool) in
                guard queue.next < queue.jobs.count else { return (nil, queue.stopping) }
                let job = queue.jobs[queue.next]
                queue.next += 1
                if queue.next == queue.jobs.count {
                    queue.jobs.removeAll(keepingCapacity: true)
                    queue.next = 0
                }
                return (job, false)
            }
            if let job {
                job(&connection)
            } else if stopping {
                break
            }
        }
        // Closed here, on the thread that used it.
        connection = nil
    }
}
