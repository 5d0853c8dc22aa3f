/// An HTTP method token (`POST`, `PUT`, ...). Any token is accepted; one that is not a valid RFC 9110 token
/// makes the request fail as `TransportError.Kind.invalidRequest` without being sent.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")

}

/// Whether `text` is an RFC 9110 token, the syntax of methods and header names.
func isHTTPToken(_ text: String) -> Bool {
    !text.isEmpty
        && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
}

/// One HTTP request, complete in memory.
///
/// Both timeouts are always handed to libcurl (`CURLOPT_TIMEOUT_MS`, `CURLOPT_CONNECTTIMEOUT_MS`; at least
/// 1 ms each), so no request can hang. `timeout` bounds the whole exchange, measured from the moment the
/// sender starts the transfer (not from when it was queued behind a per-host connection limit).
/// Redirects are not followed: a 3xx is returned as a response.
public struct HTTPRequest: Sendable {
    public var url: String
    public var method: HTTPMethod
    /// Sent in order, names as given. A name or value with CR, LF or NUL makes the request invalid rather
    /// than letting it inject headers. `Expect: 100-continue` is suppressed unless set here.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeout: Duration
    public var connectTimeout: Duration
    /// Called on the sender's thread right before the transfer starts (not when the request is queued):
    /// the headers it gives are appended to ``headers``, so that a timestamp or signature in them is
    /// made at the moment of sending. Nil from it withdraws the request: it fails as
    /// ``TransportError/Kind/withdrawn`` without a byte sent.
    public var headersAtStart: (@Sendable () -> [(name: String, value: String)]?)?

    public init(
        url: String, method: HTTPMethod = .post, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5)
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
    }
}
