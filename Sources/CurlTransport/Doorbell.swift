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
