/// What a handler answers: a status, headers, and a body that is either complete in memory or streamed.
///
/// libmicrohttpd writes `Content-Length` (for bytes), `Transfer-Encoding: chunked` (for a stream to an
/// HTTP/1.1 client), `Date` and `Connection` itself; a handler must not set them (a response whose headers
/// libmicrohttpd refuses, for example one with CR or LF in a value, is replaced by a 500).
///
/// Not `Sendable`: a stream's producer may hold state that belongs to the request's thread (a database
/// cursor, say). The server calls it only on the thread that serves the connection.
public struct HTTPServerResponse {
    public enum Body {
        /// The whole body, copied to libmicrohttpd when the response is queued.
        case bytes([UInt8])
        /// A producer called again and again for the next piece until it returns nil (the end). Each piece
        /// is sent as soon as the connection can take it, so memory does not grow with the body's length;
        /// the producer may block while it waits for data. An empty piece is skipped. A thrown error
        /// closes the connection without the final chunk, so the client sees an incomplete body. The
        /// producer is released when the response ends, whether it finished or the client went away.
        case stream(() throws -> [UInt8]?)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A complete body with its `Content-Type`.
    public init(status: Int, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: .bytes(body))
    }
}
