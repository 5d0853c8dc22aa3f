import Glibc
import Synchronization

/// A failed system call while setting up a sink: names the call and errno.
public struct SinkError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(call: String, errno code: Int32) {
        description = "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// What a protocol sends in answer to a connection's bytes.
struct Outgoing {
    var bytes: [UInt8]
    /// Held back this long after the request was read, to provoke client timeouts.
    var delay: Duration = .zero
    /// Close the connection once these bytes are written.
    var closeAfter = false
}

/// One connection's protocol state; lives on the server thread only.
protocol ConnectionHandler: AnyObject {
    /// Sent as soon as the connection is accepted (an SMTP greeting); empty for none.
    func greeting() -> [UInt8]
    /// Consumes every complete request at the start of `input` and returns the answers, in order.
    func consume(_ input: inout [UInt8]) -> [Outgoing]
}

/// A TCP server on 127.0.0.1 with an ephemeral port, served by one background thread with `poll`.
///
/// Bounded: at most `maxConnections` open connections (more are accepted and closed at once) and
/// `maxInputBytes` buffered per connection (beyond it the connection is closed). ``stop()`` (also run by
/// `deinit`) wakes the thread, waits for it, and closes every socket; delayed answers are dropped.
final class LoopbackServer: Sendable {
    let port: UInt16
    private let wake: SelfPipe
    private let stopping = SharedState(false)
    private let thread: Mutex<pthread_t?>

    static let maxConnections = 256
    static let maxInputBytes = 16 << 20

    init(makeHandler: @escaping @Sendable (_ connectionID: Int) -> any ConnectionHandler) throws(SinkError) {
        let listener = try Self.listen()
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            close(listener)
            throw SinkError(call: "getsockname", errno: code)
        }
        port = UInt16(bigEndian: address.sin_port)
        do {
            wake = try SelfPipe()
        } catch {
            close(listener)
            throw error
        }
        let wake = self.wake
        let stopping = self.stopping
        let loop = EventLoop(listener: listener, wake: wake, makeHandler: makeHandler) {
            stopping.mutex.withLock { $0 }
        }
        let box = Unmanaged.passRetained(ThreadBody { loop.run() }).toOpaque()
        var id = pthread_t()
        let created = pthread_create(
            &id, nil,
            { argument in
                guard let argument else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, box)
        guard created == 0 else {
            // The loop never ran; releasing the box releases the loop, whose deinit closes the listener.
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw SinkError(call: "pthread_create", errno: created)
        }
        thread = Mutex(id)
    }

    deinit { stop() }

    /// Idempotent; returns once every socket is closed.
    func stop() {
        stopping.mutex.withLock { $0 = true }
        wake.ring()
        if let id = thread.withLock({ id in
            defer { id = nil }
            return id
        }) {
            _ = pthread_join(id, nil)
        }
    }

    private static func listen() throws(SinkError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SinkError(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0, setNonBlocking(fd) else {
            let code = errno
            close(fd)
            throw SinkError(call: bound == 0 ? "listen" : "bind", errno: code)
        }
        return fd
    }
}

/// A `Mutex` in a class, so that the server thread's closures and the sink can share it.
final class SharedState<Value: Sendable>: Sendable {
    let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

@discardableResult
func setNonBlocking(_ fd: Int32) -> Bool {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0
}

/// A pipe one thread writes to wake another thread's `poll`.
final class SelfPipe: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws(SinkError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SinkError(call: "pipe", errno: errno) }
        for end in ends {
            setNonBlocking(end)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    func ring() {
        var byte: UInt8 = 1
        while write(writeEnd, &byte, 1) < 0 && errno == EINTR {}
    }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }
}

/// The server thread's state. Only that thread touches it (it is created before the thread starts and
/// handed over whole).
private final class EventLoop {
    private final class Connection {
        let fd: Int32
        let handler: any ConnectionHandler
        var input: [UInt8] = []
        var scheduled: [(due: ContinuousClock.Instant, bytes: [UInt8], closeAfter: Bool)] = []
        var output: [UInt8] = []
        var closeAfterOutput = false
        var peerClosed = false

        init(fd: Int32, handler: any ConnectionHandler) {
            self.fd = fd
            self.handler = handler
        }

        deinit { close(fd) }
    }

    private let listener: Int32
    private let wake: SelfPipe
    private let makeHandler: @Sendable (Int) -> any ConnectionHandler
    private let shouldStop: @Sendable () -> Bool
    private var connections: [Connection] = []
    private var nextConnectionID = 1
    private let clock = ContinuousClock()

    init(
        listener: Int32, wake: SelfPipe, makeHandler: @escaping @Sendable (Int) -> any ConnectionHandler,
        shouldStop: @escaping @Sendable () -> Bool
    ) {
        self.listener = listener
        self.wake = wake
        self.makeHandler = makeHandler
        self.shouldStop = shouldStop
    }

    deinit {
        connections = []
        close(listener)
    }

    func run() {
        while !shouldStop() {
            let now = clock.now
            for connection in connections { release(due: now, on: connection) }
            for connection in connections { flush(connection) }
            connections.removeAll { isFinished($0) }

            var fds = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            let acceptsMore = connections.count < LoopbackServer.maxConnections
            fds.append(pollfd(fd: acceptsMore ? listener : -1, events: Int16(POLLIN), revents: 0))
            for connection in connections {
                var events = connection.peerClosed ? 0 : Int16(POLLIN)
                if !connection.output.isEmpty { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: connection.fd, events: events, revents: 0))
            }
            let nextDue = connections.compactMap { $0.scheduled.first?.due }.min()
            let timeout: Int32 =
                nextDue.map { due in
                    let wait = now.duration(to: due)
                    let millis =
                        wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1
                    return Int32(clamping: max(0, millis))
                } ?? -1

            if poll(&fds, nfds_t(fds.count), timeout) < 0 {
                // Only EINTR is worth retrying; any other poll failure would repeat forever, so stop serving.
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { wake.drain() }
            if fds[1].revents != 0 { acceptAll() }
            // Connections accepted just now are not in fds; they are polled on the next round.
            for (index, connection) in zip(fds.indices.dropFirst(2), connections) {
                let revents = fds[index].revents
                if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { receive(connection) }
                if revents & Int16(POLLOUT) != 0 { flush(connection) }
            }
        }
    }

    private func acceptAll() {
        while connections.count < LoopbackServer.maxConnections {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }  // EAGAIN: no more pending
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            setNonBlocking(fd)
            let id = nextConnectionID
            nextConnectionID += 1
            let connection = Connection(fd: fd, handler: makeHandler(id))
            connection.output = connection.handler.greeting()
            connections.append(connection)
        }
    }

    private func receive(_ connection: Connection) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = recv(connection.fd, &buffer, buffer.count, 0)
            if count > 0 {
                connection.input.append(contentsOf: buffer.prefix(count))
                if connection.input.count > LoopbackServer.maxInputBytes {
                    connection.peerClosed = true
                    connection.scheduled = []
                    connection.output = []
                    return
                }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                connection.peerClosed = true
                if count < 0 {
                    // A reset connection: nothing we still owe it can arrive.
                    connection.scheduled = []
                    connection.output = []
                }
            }
            break
        }
        let now = clock.now
        for answer in connection.handler.consume(&connection.input) {
            // Answers leave in order even when an earlier one is delayed longer.
            let due = max(now.advanced(by: answer.delay), connection.scheduled.last?.due ?? now)
            connection.scheduled.append((due, answer.bytes, answer.closeAfter))
        }
    }

    private func release(due now: ContinuousClock.Instant, on connection: Connection) {
        while let first = connection.scheduled.first, first.due <= now, !connection.closeAfterOutput {
            connection.scheduled.removeFirst()
            connection.output.append(contentsOf: first.bytes)
            if first.closeAfter { connection.closeAfterOutput = true }
        }
    }

    private func flush(_ connection: Connection) {
        while !connection.output.isEmpty {
            // MSG_NOSIGNAL: a client that gave up must cost an EPIPE, not a SIGPIPE for the test process.
            let sent = connection.output.withUnsafeBytes {
                send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                connection.output.removeFirst(sent)
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                    connection.peerClosed = true
                    connection.output = []
                    connection.scheduled = []
                }
                return
            }
        }
    }

    private func isFinished(_ connection: Connection) -> Bool {
        if connection.closeAfterOutput && connection.output.isEmpty { return true }
        return connection.peerClosed && connection.output.isEmpty && connection.scheduled.isEmpty
    }
}
