/// A request the server answered itself, without calling the handler.
public struct HTTPRejection: Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The body is longer than the server's limit (413).
        case bodyTooLarge
        /// The request arrived on a kept-alive connection after ``HTTPServer/stop()`` began (503).
        case shuttingDown
        /// The handler's response could not be sent as given, e.g. a header libmicrohttpd refuses (500).
        case invalidResponse
    }

    public var reason: Reason
    /// The status the answer is sent with.
    public var status: Int
    /// One line for a person: what was wrong.
    public var message: String
    /// The request's method and path, as far as they were read: an API answers in the shape of the
    /// endpoint they name.
    public var method: String
    public var path: String

    public init(reason: Reason, status: Int, message: String, method: String = "", path: String = "") {
        self.reason = reason
        self.status = status
        self.message = message
        self.method = method
        self.path = path
    }

    public var description: String { "\(status): \(message)" }

    /// The answer used unless the configuration gives another: the message as plain text.
    public static func plainTextResponse(_ rejection: HTTPRejection) -> HTTPServerResponse {
        HTTPServerResponse(
            status: rejection.status, contentType: "text/plain; charset=utf-8",
            body: Array((rejection.message + "\n").utf8))
    }
}
