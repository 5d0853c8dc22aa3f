import Glibc
import Synchronization

/// A self-pipe another thread "rings" to wake a `poll` (or `curl_multi_poll`) on this one.
///
/// We use our own fd rather than `curl_multi_wakeup` so that the `CURLM` pointer never leaves the thread
/// that drives it: other threads only ever touch this pipe and a mutex.
final class Doorbell: Sendable {
    /// The end to poll for readability.
    let fd: Int32
    private let writeEnd: Int32

    init() throws(TransportError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw TransportError(
                kind: .other, operation: "start", endpoint: "-", url: "",
                message: "pipe failed: \(String(cString: strerror(errno)))")
        }
        for end in ends {
            // Non-blocking: a full pipe already means "rung", and draining must stop when it is empty.
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fd = ends[0]
        writeEnd = ends[1]
    }

    func ring() {
        var byte: UInt8 = 1
        // EAGAIN means the pipe is full, which is as good as ringing; EINTR is retried.
        while write(writeEnd, &byte, 1) < 0 && errno == EINTR {}
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 || (count < 0 && errno == EINTR) { continue }
            return
        }
    }

    deinit {
        close(fd)
        close(writeEnd)
    }
}

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

/// A joinable POSIX thread running one closure: the dedicated thread that owns a sender's C handles, so
/// that their blocking calls never occupy Swift's cooperative pool.
struct JoinableThread: Sendable {
    private let id: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// `body` is `sending`: the thread becomes the sole owner of whatever it captures (the C handles).
    static func start(_ body: sending @escaping () -> Void) throws(TransportError) -> JoinableThread {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var id = pthread_t()
        let created = pthread_create(
            &id, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, box)
        guard created == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw TransportError(
                kind: .other, operation: "start", endpoint: "-", url: "",
                message: "pthread_create failed: \(String(cString: strerror(created)))")
        }
        return JoinableThread(id: id)
    }

    func join() {
        _ = pthread_join(id, nil)
    }
}
