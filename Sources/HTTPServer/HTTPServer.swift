import CMicroHTTPD
import CMicroHTTPDShim
import Glibc
import Synchronization

/// An HTTP/1.1 server: one libmicrohttpd daemon serving an ``HTTPHandler``.
///
/// Promises:
/// - It listens on `host:port` from the moment `init` returns (port 0 picks a free one; ``port`` tells
///   which) until ``stop()``, which `deinit` also runs.
/// - Requests are served by libmicrohttpd's own pool of `threadPoolSize` threads, each polling its
///   connections with epoll or poll; the handler runs on those threads, never on Swift's cooperative pool.
///   Connections are kept alive between requests (HTTP/1.1).
/// - A request body longer than `maxRequestBodyBytes` never reaches the handler: the answer is a 413 made
///   by `rejectionResponse`. A body declared that long is refused before it is read when the client
///   waits for `100 Continue` or declares more than twice the limit (the connection is then closed after
///   the answer); otherwise it is read and dropped, so that the client can read the 413 on a healthy
///   connection. A chunked body that goes on past twice the limit gets the connection closed.
/// - A connection on which nothing arrives or leaves for `connectionTimeout` is closed (a client that
///   stalls halfway through a request, or an idle kept-alive connection).
/// - Malformed requests are answered by libmicrohttpd itself (400, 414, 431, ...) and never reach the
///   handler.
/// - ``stop()`` stops accepting connections, lets the requests in flight finish (answers to requests that
///   arrive meanwhile on open connections are 503 and close them), waits at most `stopTimeout` for them,
///   then closes every connection and joins the pool threads.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        /// A numeric IPv4 or IPv6 address.
        public var host: String
        /// 0 lets the system pick a free port.
        public var port: Int
        /// libmicrohttpd's threads; each serves its share of the connections.
        public var threadPoolSize: Int
        /// The longest request body the handler is given.
        public var maxRequestBodyBytes: Int
        /// How long a connection may be silent; whole seconds, rounded up, at least one.
        public var connectionTimeout: Duration
        /// How long ``HTTPServer/stop()`` waits for requests in flight.
        public var stopTimeout: Duration
        /// The body and headers of the answers the server gives itself (413, 503, 500); its status is
        /// always the rejection's.
        public var rejectionResponse: @Sendable (HTTPRejection) -> HTTPServerResponse
        /// libmicrohttpd's error messages (a failed `accept`, a refused response), one line each.
        public var log: (@Sendable (String) -> Void)?

        public init(
            host: String = "127.0.0.1", port: Int = 0, threadPoolSize: Int = 4, maxRequestBodyBytes: Int = 1 << 20,
            connectionTimeout: Duration = .seconds(30), stopTimeout: Duration = .seconds(10),
            rejectionResponse: @escaping @Sendable (HTTPRejection) -> HTTPServerResponse =
                HTTPRejection.plainTextResponse,
            log: (@Sendable (String) -> Void)? = nil
        ) {
            self.host = host
            self.port = port
            self.threadPoolSize = threadPoolSize
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.connectionTimeout = connectionTimeout
            self.stopTimeout = stopTimeout
            self.rejectionResponse = rejectionResponse
            self.log = log
        }
    }

    public let configuration: Configuration
    /// The port the server listens on (the one the system picked when the configuration said 0).
    public let port: Int
    private let context: ServerContext
    private let running: Mutex<RunningDaemon?>

    /// Starts listening and serving. Throws when the address is not numeric or cannot be bound, or
    /// libmicrohttpd refuses to start.
    public init(configuration: Configuration = Configuration(), handler: some HTTPHandler) throws(HTTPServerError) {
        var configuration = configuration
        configuration.threadPoolSize = max(1, min(configuration.threadPoolSize, 256))
        configuration.maxRequestBodyBytes = max(0, configuration.maxRequestBodyBytes)
        self.configuration = configuration
        guard (0...65535).contains(configuration.port) else {
            throw HTTPServerError("the port \(configuration.port) is not between 0 and 65535")
        }
        let context = ServerContext(handler: handler, configuration: configuration)
        self.context = context
        let daemon = try RunningDaemon(configuration: configuration, context: context)
        let port = Int(slawatch_mhd_bind_port(daemon.daemon))
        guard port != 0 else {
            daemon.stop()
            throw HTTPServerError("libmicrohttpd did not report the port it listens on")
        }
        self.port = port
        running = Mutex(daemon)
    }

    deinit {
        stop()
    }

    /// Stops accepting, waits (at most `stopTimeout`) for the requests in flight, then stops the daemon.
    /// Blocks the calling thread meanwhile; a second call waits for the first and then returns.
    public func stop() {
        running.withLock { running in
            guard var daemon = running.take() else { return }
            context.stopping.store(true, ordering: .sequentiallyConsistent)
            daemon.quiesce()
            let deadline = ContinuousClock.now + configuration.stopTimeout
            // Bounded by the deadline; requests finish on MHD's threads and count themselves out.
            while context.inFlight.load(ordering: .sequentiallyConsistent) > 0, ContinuousClock.now < deadline {
                usleep(5_000)
            }
            daemon.stop()
        }
    }

    /// True from the moment ``stop()`` begins: a readiness check can answer 503 meanwhile.
    public var isStopping: Bool { context.stopping.load(ordering: .acquiring) }

    /// Requests received whose answer has not been completely sent yet.
    public var requestsInFlight: Int { context.inFlight.load(ordering: .relaxed) }
}

/// The daemon and the logger structure lent to it. Both are freed by ``stop()``, once.
private struct RunningDaemon: ~Copyable {
    let daemon: OpaquePointer
    private let logger: UnsafeMutablePointer<slawatch_mhd_logger>
    /// The listening socket MHD_quiesce_daemon handed back; -1 before that.
    private var quiescedSocket: Int32 = -1

    init(configuration: HTTPServer.Configuration, context: ServerContext) throws(HTTPServerError) {
        var flags =
            MHD_USE_AUTO.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_ITC.rawValue
            | MHD_USE_ERROR_LOG.rawValue
        var storage = sockaddr_storage()
        let host = configuration.host
        let port = UInt16(configuration.port).bigEndian
        let parsed = withUnsafeMutableBytes(of: &storage) { raw -> Bool in
            var v4 = in_addr()
            if inet_pton(AF_INET, host, &v4) == 1 {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port
                address.sin_addr = v4
                withUnsafeBytes(of: &address) { raw.copyMemory(from: $0) }
                return true
            }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, host, &v6) == 1 {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = port
                address.sin6_addr = v6
                withUnsafeBytes(of: &address) { raw.copyMemory(from: $0) }
                return true
            }
            return false
        }
        guard parsed else {
            throw HTTPServerError("the host \"\(host)\" is not a numeric IPv4 or IPv6 address")
        }
        if Int32(storage.ss_family) == AF_INET6 { flags |= MHD_USE_IPv6.rawValue }

        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        let logger = UnsafeMutablePointer<slawatch_mhd_logger>.allocate(capacity: 1)
        logger.initialize(to: slawatch_mhd_logger(log: mhdLogLine, context: contextPointer))
        let timeoutSeconds = configuration.connectionTimeout.wholeSecondsRoundedUp
        let started = withUnsafePointer(to: &storage) { storagePointer in
            storagePointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                slawatch_mhd_start_daemon(
                    flags, address, UInt32(configuration.threadPoolSize), timeoutSeconds, mhdAccessHandler,
                    contextPointer, mhdRequestCompleted, contextPointer, logger)
            }
        }
        guard let started else {
            let reason = String(cString: strerror(errno))
            logger.deinitialize(count: 1)
            logger.deallocate()
            throw HTTPServerError(
                "libmicrohttpd could not listen on \(host) port \(configuration.port) (last error: \(reason))")
        }
        daemon = started
        self.logger = logger
    }

    /// Stops listening: no new connections, while open ones go on being served.
    mutating func quiesce() {
        // MHD hands the listening socket back to us, to be closed only after MHD_stop_daemon (a pool thread
        // may still hold it). Shutting it down now makes Linux stop listening at once: connection attempts
        // are refused instead of waiting in the backlog, and the descriptor stays ours until it is closed.
        quiescedSocket = MHD_quiesce_daemon(daemon)
        if quiescedSocket >= 0 {
            shutdown(quiescedSocket, Int32(SHUT_RDWR))
        }
    }

    /// Closes every connection, joins MHD's threads and frees the logger. The request-completed callback
    /// runs for requests still open before this returns.
    consuming func stop() {
        MHD_stop_daemon(daemon)
        if quiescedSocket >= 0 {
            close(quiescedSocket)
        }
        logger.deinitialize(count: 1)
        logger.deallocate()
    }
}

extension Duration {
    /// libmicrohttpd's timeouts are whole seconds; 0 would mean "never".
    var wholeSecondsRoundedUp: UInt32 {
        let (seconds, attoseconds) = components
        let rounded = seconds + (attoseconds > 0 ? 1 : 0)
        return UInt32(max(1, min(rounded, Int64(UInt32.max))))
    }
}
