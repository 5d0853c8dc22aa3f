import Synchronization

/// A real HTTP/1.1 server on 127.0.0.1 that records every request and answers from a script.
///
/// Promises: keep-alive connections (each gets an id, so tests can count reuse), `Content-Length` and
/// chunked request bodies, `Expect: 100-continue`, and answers in request order per connection. Answers
/// come first from the queue filled by ``enqueue(_:times:)``, then from the ``respond(with:)`` handler,
/// else `200` with `{}`. A request is recorded before it is answered, so once a client has its response
/// the request is visible in ``requests``. Accessors are thread-safe. Not a general server: no TLS, no
/// HTTP/2, no pipelining guarantees beyond "answers in order".
public final class HTTPSink: Sendable {
    /// One scripted answer.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// Wait this long after reading the request before answering.
        public var delay: Duration
        /// Answer with `Connection: close` and close.
        public var closeConnection: Bool

        public init(
            status: Int = 200, headers: [(name: String, value: String)] = [("Content-Type", "application/json")],
            body: [UInt8] = Array("{}".utf8), delay: Duration = .zero, closeConnection: Bool = false
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.closeConnection = closeConnection
        }

        public init(
            status: Int, headers: [(name: String, value: String)] = [], text: String, delay: Duration = .zero,
            closeConnection: Bool = false
        ) {
            self.init(
                status: status, headers: headers, body: Array(text.utf8), delay: delay, closeConnection: closeConnection
            )
        }
    }

    /// One request as it arrived.
    public struct Request: Sendable {
        public var method: String
        /// The request target, usually the path and query.
        public var target: String
        public var version: String
        /// Names as sent, in order.
        public var headers: [(name: String, value: String)]
        /// The body, de-chunked when it was chunked.
        public var body: [UInt8]
        /// Which accepted connection carried it (1, 2, ...).
        public var connectionID: Int

        /// The first value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? {
            let wanted = name.lowercased()
            return headers.first { $0.name.lowercased() == wanted }?.value
        }

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    private struct State {
        var requests: [Request] = []
        var queue: [Response] = []
        var handler: (@Sendable (Request) -> Response)?
        var connections = 0
    }

    private let state: SharedState<State>
    private let server: LoopbackServer

    /// `http://127.0.0.1:PORT`
    public var url: String { "http://127.0.0.1:\(port)" }
    public var port: UInt16 { server.port }

    public init() throws(SinkError) {
        let state = SharedState(State())
        self.state = state
        server = try LoopbackServer { id in
            state.mutex.withLock { $0.connections += 1 }
            return HTTPConnection(id: id) { request in
                state.mutex.withLock { state in
                    // Old records are dropped past this bound so a long-running test cannot grow without limit.
                    if state.requests.count >= 100_000 { state.requests.removeFirst() }
                    state.requests.append(request)
                    if !state.queue.isEmpty { return state.queue.removeFirst() }
                    return state.handler?(request) ?? Response()
                }
            }
        }
    }

    deinit { server.stop() }

    /// Queues an answer for the next request(s), whichever connection they come on.
    public func enqueue(_ response: Response, times: Int = 1) {
        state.mutex.withLock { $0.queue += Array(repeating: response, count: max(0, times)) }
    }

    /// Answers requests the queue does not cover. Called with the sink's lock held: keep it quick and do not
    /// call back into the sink.
    public func respond(with handler: @escaping @Sendable (Request) -> Response) {
        state.mutex.withLock { $0.handler = handler }
    }

    /// Every request so far, in arrival order.
    public var requests: [Request] { state.mutex.withLock { $0.requests } }

    /// How many TCP connections were accepted so far.
    public var connectionCount: Int { state.mutex.withLock { $0.connections } }

    /// Closes the listener and every connection; idempotent.
    public func stop() { server.stop() }
}

private final class HTTPConnection: ConnectionHandler {
    private let id: Int
    private let answer: @Sendable (HTTPSink.Request) -> HTTPSink.Response
    private var continueSent = false

    private static let maxHeadBytes = 64 * 1024

    init(id: Int, answer: @escaping @Sendable (HTTPSink.Request) -> HTTPSink.Response) {
        self.id = id
        self.answer = answer
    }

    func greeting() -> [UInt8] { [] }

    func consume(_ input: inout [UInt8]) -> [Outgoing] {
        var out: [Outgoing] = []
        while let headEnd = input.firstRange(of: [13, 10, 13, 10]) {
            guard headEnd.lowerBound <= Self.maxHeadBytes else { return out + [Self.error(431)] }
            let headLines = String(decoding: input[..<headEnd.lowerBound], as: UTF8.self)
                .split(separator: "\r\n", omittingEmptySubsequences: false)
            let requestLine = headLines.first?.split(separator: " ", omittingEmptySubsequences: true) ?? []
            guard requestLine.count == 3 else { return out + [Self.error(400)] }
            var headers: [(name: String, value: String)] = []
            for line in headLines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { return out + [Self.error(400)] }
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmed))
            }
            func header(_ name: String) -> String? {
                headers.first { $0.name.lowercased() == name }?.value
            }

            let bodyStart = headEnd.upperBound
            let body: [UInt8]
            let end: Int
            if header("transfer-encoding")?.lowercased().contains("chunked") == true {
                switch Self.dechunk(input, from: bodyStart) {
                case .incomplete: return out + continueIfExpected(header("expect"))
                case .invalid: return out + [Self.error(400)]
                case .complete(let bytes, let next): (body, end) = (bytes, next)
                }
            } else {
                let length = header("content-length").flatMap { Int($0) } ?? 0
                guard length >= 0 else { return out + [Self.error(400)] }
                guard input.count - bodyStart >= length else { return out + continueIfExpected(header("expect")) }
                body = Array(input[bodyStart..<(bodyStart + length)])
                end = bodyStart + length
            }
            input.removeFirst(end)
            continueSent = false

            let method = String(requestLine[0])
            let version = String(requestLine[2])
            let request = HTTPSink.Request(
                method: method, target: String(requestLine[1]), version: version, headers: headers, body: body,
                connectionID: id)
            let response = answer(request)
            let close =
                response.closeConnection || header("connection")?.lowercased() == "close"
                || version == "HTTP/1.0"
            out.append(Self.render(response, headOnly: method == "HEAD", close: close))
            if close { break }
        }
        return out
    }

    private func continueIfExpected(_ expect: String?) -> [Outgoing] {
        guard !continueSent, expect?.lowercased() == "100-continue" else { return [] }
        continueSent = true
        return [Outgoing(bytes: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))]
    }

    private enum Dechunked {
        case incomplete
        case invalid
        /// The body and the index just past the chunked encoding.
        case complete([UInt8], Int)
    }

    private static func dechunk(_ input: [UInt8], from start: Int) -> Dechunked {
        var body: [UInt8] = []
        var position = start
        while true {
            guard let lineEnd = input[position...].firstRange(of: [13, 10]) else { return .incomplete }
            let sizeText =
                String(decoding: input[position..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";").first.map { $0.trimmed } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0, size <= LoopbackServer.maxInputBytes else {
                return .invalid
            }
            position = lineEnd.upperBound
            if size == 0 {
                // Trailers, if any, end with an empty line.
                guard let trailerEnd = input[position...].firstRange(of: [13, 10]) else { return .incomplete }
                if trailerEnd.lowerBound == position { return .complete(body, trailerEnd.upperBound) }
                guard let end = input[position...].firstRange(of: [13, 10, 13, 10]) else { return .incomplete }
                return .complete(body, end.upperBound)
            }
            guard input.count >= position + size + 2 else { return .incomplete }
            body.append(contentsOf: input[position..<(position + size)])
            position += size + 2
        }
    }

    private static func render(_ response: HTTPSink.Response, headOnly: Bool, close: Bool) -> Outgoing {
        var head = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        head += "Content-Length: \(response.body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        for (name, value) in response.headers where name.lowercased() != "content-length" {
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        return Outgoing(
            bytes: Array(head.utf8) + (headOnly ? [] : response.body), delay: response.delay, closeAfter: close)
    }

    private static func error(_ status: Int) -> Outgoing {
        render(HTTPSink.Response(status: status, headers: [], body: []), headOnly: false, close: true)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 410: "Gone"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}

extension StringProtocol {
    var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
