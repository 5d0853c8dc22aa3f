import CCurl
import CCurlShim
import Glibc

/// Sends HTTP requests concurrently through one libcurl multi handle, reusing connections across calls.
///
/// Promises:
/// - One dedicated thread owns the multi handle and every easy handle and drives them with
///   `curl_multi_poll`; callers only touch a mutex-guarded queue. Blocking never happens on Swift's
///   cooperative pool, and no C handle is ever used by two threads.
/// - The multi handle, its connection cache and a pool of easy handles live as long as the sender, so a
///   later batch to the same host reuses the connections of an earlier one (HTTP/1.1 keep-alive, or
///   HTTP/2 multiplexing where the server offers it).
/// - At most `maxConnectionsPerHost` transfers per `scheme://host:port` and `maxConcurrentTransfers` in
///   total run at once; the rest wait in our queue, so that a request's timeout starts when its transfer
///   does (libcurl's own pending queue would count the waiting time against it).
/// - `send(_:)` returns one result per request, in the order given. A response with any
///   status is a success at this level; only a failure to get a response is a ``TransportError``.
///
/// It will not follow redirects, retry, or interpret statuses: that is the delivery policy's job.
/// Task cancellation does not abort a batch; every request is bounded by its own timeout instead.
public final class HTTPBatchSender: Sendable {
    public struct Configuration: Sendable {
        /// Simultaneous connections (and transfers) to one `scheme://host:port`.
        public var maxConnectionsPerHost: Int
        /// Simultaneous transfers overall; also the size of the idle-connection cache.
        public var maxConcurrentTransfers: Int
        /// Response bodies longer than this are truncated (and flagged as such).
        public var maxResponseBodyBytes: Int
        /// Sent unless a request sets its own `User-Agent`.
        public var userAgent: String

        public init(
            maxConnectionsPerHost: Int = 6, maxConcurrentTransfers: Int = 64, maxResponseBodyBytes: Int = 1 << 20,
            userAgent: String = "slawatch"
        ) {
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxConcurrentTransfers = maxConcurrentTransfers
            self.maxResponseBodyBytes = maxResponseBodyBytes
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let inbox: WorkerInbox<HTTPBatchJob>
    private let thread: JoinableThread

    /// Starts the worker thread. Throws if libcurl cannot be initialised or the thread cannot start.
    public init(configuration: Configuration = Configuration()) throws(TransportError) {
        var configuration = configuration
        configuration.maxConnectionsPerHost = max(1, configuration.maxConnectionsPerHost)
        configuration.maxConcurrentTransfers = max(1, configuration.maxConcurrentTransfers)
        configuration.maxResponseBodyBytes = max(0, configuration.maxResponseBodyBytes)
        self.configuration = configuration

        func startupError(_ message: String) -> TransportError {
            TransportError(kind: .other, operation: "start", endpoint: "-", url: "", message: message)
        }
        if let problem = ensureCurlGlobalInit() { throw startupError(problem) }
        guard let multi = curl_multi_init() else { throw startupError("curl_multi_init failed") }
        // Our own queue enforces these limits; libcurl's copies are a backstop and size its cache.
        let limits: [(CURLMoption, Int)] = [
            (CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost),
            (CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxConcurrentTransfers),
            (CURLMOPT_MAXCONNECTS, configuration.maxConcurrentTransfers),
        ]
        for (option, value) in limits where slawatch_curl_multi_setopt_long(multi, option, value) != CURLM_OK {
            curl_multi_cleanup(multi)
            throw startupError("curl_multi_setopt(\(option.rawValue)) failed")
        }
        let inbox: WorkerInbox<HTTPBatchJob>
        do {
            inbox = try WorkerInbox()
        } catch {
            curl_multi_cleanup(multi)
            throw error
        }
        self.inbox = inbox
        let driver = MultiDriver(multi: multi, inbox: inbox, configuration: configuration)
        thread = try JoinableThread.start { driver.run() }
    }

    deinit {
        // No send can be in flight here (each holds a reference to self), so this only waits for the
        // worker to close its connections.
        inbox.stop()
        thread.join()
    }

    /// Sends all requests concurrently and returns their results in the same order.
    public func send(_ requests: [HTTPRequest]) async -> [Result<HTTPResponse, TransportError>] {
        await send(requests, each: nil)
    }

    /// Sends all requests concurrently and returns their results in the same order; `each` is told
    /// every result (with its index) as soon as it is in, on the sender's thread, so it must be quick.
    public func send(
        _ requests: [HTTPRequest], each: (@Sendable (Int, Result<HTTPResponse, TransportError>) -> Void)?
    ) async -> [Result<HTTPResponse, TransportError>] {
        guard !requests.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            if !inbox.submit(HTTPBatchJob(requests: requests, each: each, continuation: continuation)) {
                continuation.resume(returning: requests.map { .failure(.cancelled(for: $0)) })
            }
        }
    }

    /// Sends one request.
    public func send(_ request: HTTPRequest) async -> Result<HTTPResponse, TransportError> {
        await send([request]).first ?? .failure(.cancelled(for: request))
    }
}

struct HTTPBatchJob: Sendable {
    let requests: [HTTPRequest]
    let each: (@Sendable (Int, Result<HTTPResponse, TransportError>) -> Void)?
    let continuation: CheckedContinuation<[Result<HTTPResponse, TransportError>], Never>
}

extension TransportError {
    static func cancelled(for request: HTTPRequest) -> TransportError {
        TransportError(
            kind: .cancelled, operation: request.method.rawValue,
            endpoint: Endpoint(url: request.url)?.description ?? "(invalid URL)", url: request.url,
            message: "the sender was shut down before the request was sent")
    }
}

/// The worker thread's state: the multi handle, the easy handles and the queue. Created by the sender,
/// then handed whole to the thread (`sending`), which is the only code that touches it afterwards.
private final class MultiDriver {
    private struct Batch {
        var results: [Result<HTTPResponse, TransportError>?]
        var remaining: Int
        let each: (@Sendable (Int, Result<HTTPResponse, TransportError>) -> Void)?
        let continuation: CheckedContinuation<[Result<HTTPResponse, TransportError>], Never>
    }

    private struct Transfer {
        let batch: Int
        let index: Int
        var request: HTTPRequest
        let endpoint: Endpoint

        func error(_ kind: TransportError.Kind, _ message: String, code: CURLcode? = nil) -> TransportError {
            TransportError(
                kind: kind, operation: request.method.rawValue, endpoint: endpoint.description, url: request.url,
                curlCode: code.map { Int($0.rawValue) }, message: message)
        }
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox: WorkerInbox<HTTPBatchJob>
    private let configuration: HTTPBatchSender.Configuration

    private var batches: [Int: Batch] = [:]
    private var nextBatchID = 0
    /// Transfers not started yet, first in first out per endpoint. Kept per endpoint so that starting
    /// one costs the same with ten thousand waiting behind a busy host as with none.
    private var waiting: [Endpoint: FIFO<Transfer>] = [:]
    /// The endpoints with waiting transfers, in the order their oldest one arrived.
    private var waitingOrder: [Endpoint] = []
    private var running: [UnsafeMutableRawPointer: (easy: EasyHandle, transfer: Transfer)] = [:]
    private var runningPerHost: [Endpoint: Int] = [:]
    private var idle: [EasyHandle] = []

    init(multi: UnsafeMutableRawPointer, inbox: WorkerInbox<HTTPBatchJob>, configuration: HTTPBatchSender.Configuration)
    {
        self.multi = multi
        self.inbox = inbox
        self.configuration = configuration
    }

    deinit {
        // Runs on the worker thread when run() returns (or on the creating thread if it never started).
        for (handle, entry) in running {
            curl_multi_remove_handle(multi, handle)
            finish(entry.transfer, .failure(.cancelled(for: entry.transfer.request)))
        }
        for endpoint in waitingOrder {
            for transfer in waiting[endpoint]?.elements ?? [] {
                finish(transfer, .failure(.cancelled(for: transfer.request)))
            }
        }
        // Easy handles are cleaned up before the multi handle, as curl_multi_cleanup(3) asks.
        running = [:]
        idle = []
        curl_multi_cleanup(multi)
    }

    func run() {
        while true {
            let (jobs, stopping) = inbox.take()
            for job in jobs { accept(job) }
            if stopping { return }
            startWaitingTransfers()

            var stillRunning: Int32 = 0
            let performed = curl_multi_perform(multi, &stillRunning)
            if performed != CURLM_OK {
                failAllRunning(because: "curl_multi_perform: \(multiErrorText(performed))")
            }
            collectFinished()
            startWaitingTransfers()

            // Newly added transfers make curl_multi_poll return at once (their timers are already due);
            // otherwise it sleeps until a socket is ready, a curl timer expires, or the doorbell rings.
            var doorbell = curl_waitfd(fd: inbox.doorbell.fd, events: Int16(CURL_WAIT_POLLIN), revents: 0)
            let polled = curl_multi_poll(multi, &doorbell, 1, running.isEmpty ? 60_000 : 1_000, nil)
            if polled != CURLM_OK {
                failAllRunning(because: "curl_multi_poll: \(multiErrorText(polled))")
                // Wait on the doorbell alone, so that a poll failing again and again cannot spin a core.
                var fallback = pollfd(fd: inbox.doorbell.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&fallback, 1, 100)
                doorbell.revents = fallback.revents
            }
            if doorbell.revents != 0 { inbox.doorbell.drain() }
        }
    }

    private func accept(_ job: HTTPBatchJob) {
        let id = nextBatchID
        nextBatchID += 1
        batches[id] = Batch(
            results: Array(repeating: nil, count: job.requests.count), remaining: job.requests.count,
            each: job.each, continuation: job.continuation)
        // A batch usually sends every request to one URL: parsed once, not once per request.
        var endpoints: [String: Endpoint] = [:]
        for (index, request) in job.requests.enumerated() {
            guard let endpoint = endpoints[request.url] ?? Endpoint(url: request.url) else {
                let error = TransportError(
                    kind: .invalidRequest, operation: request.method.rawValue, endpoint: "(invalid URL)",
                    url: request.url, message: "the URL cannot be parsed")
                complete(batch: id, index: index, .failure(error))
                continue
            }
            endpoints[request.url] = endpoint
            let transfer = Transfer(batch: id, index: index, request: request, endpoint: endpoint)
            if let problem = request.problem {
                finish(transfer, .failure(transfer.error(.invalidRequest, problem)))
            } else {
                if waiting[endpoint] == nil { waitingOrder.append(endpoint) }
                waiting[endpoint, default: FIFO()].append(transfer)
            }
        }
    }

    /// Starts queued transfers, oldest first per endpoint, as far as the per-host and total limits allow.
    private func startWaitingTransfers() {
        guard !waitingOrder.isEmpty, running.count < configuration.maxConcurrentTransfers else { return }
        var stillWaiting: [Endpoint] = []
        for endpoint in waitingOrder {
            // A busy host, the usual case while a batch is on the wire, costs one lookup.
            guard running.count < configuration.maxConcurrentTransfers,
                runningPerHost[endpoint, default: 0] < configuration.maxConnectionsPerHost
            else {
                stillWaiting.append(endpoint)
                continue
            }
            // Taken out of the dictionary while it changes, so that popping does not copy the queue.
            guard var queue = waiting.removeValue(forKey: endpoint) else { continue }
            while running.count < configuration.maxConcurrentTransfers,
                runningPerHost[endpoint, default: 0] < configuration.maxConnectionsPerHost,
                let transfer = queue.popFirst()
            {
                start(transfer)
            }
            if !queue.isEmpty {
                waiting[endpoint] = queue
                stillWaiting.append(endpoint)
            }
        }
        waitingOrder = stillWaiting
    }

    private func start(_ transfer: Transfer) {
        var transfer = transfer
        if let stamp = transfer.request.headersAtStart {
            guard let extra = stamp() else {
                finish(transfer, .failure(transfer.error(.withdrawn, "withdrawn by the caller before it was sent")))
                return
            }
            transfer.request.headers += extra
            if let problem = transfer.request.problem {
                finish(transfer, .failure(transfer.error(.invalidRequest, problem)))
                return
            }
        }
        guard let easy = idle.popLast() ?? EasyHandle() else {
            finish(transfer, .failure(transfer.error(.other, "curl_easy_init failed")))
            return
        }
        do {
            try easy.prepare(transfer.request, configuration: configuration)
        } catch {
            idle.append(easy)
            let message = "could not set \(error.what): \(String(cString: curl_easy_strerror(error.code)))"
            finish(
                transfer, .failure(transfer.error(TransportError.Kind(curlCode: error.code), message, code: error.code))
            )
            return
        }
        let added = curl_multi_add_handle(multi, easy.raw)
        guard added == CURLM_OK else {
            idle.append(easy)
            finish(transfer, .failure(transfer.error(.other, "curl_multi_add_handle: \(multiErrorText(added))")))
            return
        }
        running[easy.raw] = (easy, transfer)
        runningPerHost[transfer.endpoint, default: 0] += 1
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            // Read the message before removing its handle: removal invalidates it.
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let (easy, transfer) = removeRunning(handle) else { continue }
            let result: Result<HTTPResponse, TransportError>
            if code == CURLE_OK {
                result = .success(
                    HTTPResponse(
                        statusCode: easy.responseCode, headers: easy.responseHeaders, body: easy.responseBody,
                        bodyWasTruncated: easy.responseBodyTruncated))
            } else {
                var error = transfer.error(TransportError.Kind(curlCode: code), easy.errorText(for: code), code: code)
                let status = easy.responseCode
                error.responseCode = status == 0 ? nil : status
                result = .failure(error)
            }
            recycle(easy)
            finish(transfer, result)
        }
    }

    private func removeRunning(_ handle: UnsafeMutableRawPointer) -> (EasyHandle, Transfer)? {
        guard let entry = running.removeValue(forKey: handle) else { return nil }
        curl_multi_remove_handle(multi, handle)
        runningPerHost[entry.transfer.endpoint, default: 1] -= 1
        if runningPerHost[entry.transfer.endpoint] == 0 { runningPerHost[entry.transfer.endpoint] = nil }
        return (entry.easy, entry.transfer)
    }

    /// Returns a handle to the pool, dropping the previous request's body and lists now rather than at
    /// its next use.
    private func recycle(_ easy: EasyHandle) {
        if (try? easy.reset()) != nil {
            idle.append(easy)
        }
    }

    private func failAllRunning(because message: String) {
        for handle in Array(running.keys) {
            guard let (easy, transfer) = removeRunning(handle) else { continue }
            recycle(easy)
            finish(transfer, .failure(transfer.error(.other, message)))
        }
    }

    private func finish(_ transfer: Transfer, _ result: Result<HTTPResponse, TransportError>) {
        complete(batch: transfer.batch, index: transfer.index, result)
    }

    private func complete(batch id: Int, index: Int, _ result: Result<HTTPResponse, TransportError>) {
        // Changed in place: a copy of the batch would copy its results array once per transfer.
        guard batches[id] != nil else { return }
        batches[id]!.each?(index, result)
        batches[id]!.results[index] = result
        batches[id]!.remaining -= 1
        if batches[id]!.remaining == 0, let batch = batches.removeValue(forKey: id) {
            batch.continuation.resume(
                returning: batch.results.map {
                    $0
                        ?? .failure(
                            TransportError(
                                kind: .other, operation: "send", endpoint: "-", url: "", message: "lost result"))
                })
        }
    }

    private func multiErrorText(_ code: CURLMcode) -> String {
        curl_multi_strerror(code).map { String(cString: $0) } ?? "CURLM error \(code.rawValue)"
    }
}

/// A first-in-first-out queue whose `popFirst` is O(1): popped slots are reclaimed in bulk.
private struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var elements: ArraySlice<Element> { items[head...] }

    mutating func append(_ element: Element) { items.append(element) }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }
}

extension HTTPRequest {
    /// Why libcurl must not be given this request, if it must not.
    var problem: String? {
        if !isHTTPToken(method.rawValue) { return "the method \"\(method)\" is not an HTTP token" }
        if !isSafeProtocolText(url) { return "the URL contains CR, LF or NUL" }
        for (name, value) in headers {
            if !isHTTPToken(name) { return "the header name \"\(name)\" is not an HTTP token" }
            if !isSafeProtocolText(value) { return "the value of header \(name) contains CR, LF or NUL" }
        }
        return nil
    }
}

extension EasyHandle {
    /// Sets every option of one HTTP exchange; the handle must not be inside the multi handle.
    func prepare(_ request: HTTPRequest, configuration: HTTPBatchSender.Configuration) throws(SetupFailure) {
        try reset(maxResponseBodyBytes: configuration.maxResponseBodyBytes)
        try set(CURLOPT_URL, request.url, "CURLOPT_URL")
        try set(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR")
        try set(CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds, "CURLOPT_TIMEOUT_MS")
        try set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds, "CURLOPT_CONNECTTIMEOUT_MS")
        // Wait for an HTTP/2 connection in progress to the same host rather than opening a parallel one.
        try set(CURLOPT_PIPEWAIT, 1, "CURLOPT_PIPEWAIT")
        try set(CURLOPT_USERAGENT, configuration.userAgent, "CURLOPT_USERAGENT")

        switch request.method {
        case .head:
            try set(CURLOPT_NOBODY, 1, "CURLOPT_NOBODY")
        case .get where request.body.isEmpty:
            try set(CURLOPT_HTTPGET, 1, "CURLOPT_HTTPGET")
        default:
            try set(CURLOPT_POST, 1, "CURLOPT_POST")
            try setPostBody(request.body)
            if request.method != .post {
                try set(CURLOPT_CUSTOMREQUEST, request.method.rawValue, "CURLOPT_CUSTOMREQUEST")
            }
        }

        var lines = request.headers.map { name, value in
            // "Name:" would tell libcurl to remove the header; "Name;" is its syntax for an empty value.
            value.isEmpty ? "\(name);" : "\(name): \(value)"
        }
        // libcurl otherwise sends "Expect: 100-continue" for larger bodies and then waits up to a second
        // for a reply that many webhook receivers never send.
        if !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            lines.append("Expect:")
        }
        try setHeaderLines(lines)
    }
}
